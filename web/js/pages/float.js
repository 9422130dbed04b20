// Float Mode page: the live sessions (GET /float/sessions) with Disconnect,
// and a console that registers a session, opens its WebSocket, lists the
// server's USB devices and runs a control transfer (GET_DESCRIPTOR), showing
// the bytes: a way to check the bridge without writing a client.
import { h, pageHeader, badge, alertBox, toast, confirmDialog, formatDate, isAdmin, loadCss } from '../ui.js';

const T = { ENUM: 0x01, ENUM_RESULT: 0x02, OPEN: 0x03, OPEN_RESULT: 0x04, CONTROL: 0x07, CONTROL_RESULT: 0x08, ERROR: 0xe0, PING: 0xfe, PONG: 0xff };
const STATUS = ['ok', 'stall', 'timeout', 'no device', 'I/O error', 'overflow', 'access denied', 'closed', 'busy'];

// One protocol frame: [type u8][len u32 BE][payload].
export function frame(type, payload = new Uint8Array(0)) {
  const out = new Uint8Array(5 + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = type;
  dv.setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

export function parseDevices(p) {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const dec = new TextDecoder();
  const n = dv.getUint16(0);
  let off = 2;
  const devs = [];
  for (let i = 0; i < n; i++) {
    const d = { vendor: dv.getUint16(off), product: dv.getUint16(off + 2), id: dv.getUint16(off + 4), cls: p[off + 6], sub: p[off + 7] };
    off += 8;
    for (const k of ['manufacturer', 'product_name', 'serial']) {
      const l = dv.getUint16(off);
      d[k] = dec.decode(p.subarray(off + 2, off + 2 + l));
      off += 2 + l;
    }
    devs.push(d);
  }
  return devs;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

const hex4 = (n) => n.toString(16).padStart(4, '0');

export function render(container, { api, user }) {
  loadCss('/css/pages/float.css');
  const admin = isAdmin(user);
  const error = h('div', { id: 'float-error' });
  const tbody = h('tbody', { id: 'float-sessions' });

  async function load() {
    let list;
    try {
      list = await api.get('/float/sessions');
      error.replaceChildren();
    } catch (err) {
      error.replaceChildren(alertBox('error', err.message));
      return;
    }
    const cols = admin ? 8 : 7;
    tbody.replaceChildren(...(list.length ? list.map(row)
      : [h('tr', null, h('td', { colspan: cols, class: 'empty' }, 'No sessions'))]));
  }

  function row(s) {
    const cells = [
      h('td', { class: 'mono', title: s.id }, s.id.slice(0, 8)),
      h('td', { dataset: { field: 'username' } }, s.username || String(s.user_id)),
      h('td', { class: 'mono', dataset: { field: 'client_ip' } }, s.client_ip),
      h('td', { dataset: { field: 'client_agent' }, class: 'float-agent' }, s.client_agent || ''),
      h('td', { dataset: { field: 'usb_bridge' } }, s.usb_bridge ? badge('bridged', 'ok') : badge('idle', 'plain')),
      h('td', { dataset: { field: 'last_ping' } }, s.last_ping ? formatDate(s.last_ping) : '—'),
      h('td', { dataset: { field: 'expires_at' } }, formatDate(s.expires_at)),
    ];
    if (admin) {
      const del = h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'disconnect' } }, 'Disconnect');
      del.addEventListener('click', async () => {
        if (!(await confirmDialog('Disconnect session', `Disconnect session ${s.id.slice(0, 8)} of ${s.username}?`, 'Disconnect'))) return;
        try {
          await api.del(`/float/sessions/${s.id}`);
          toast('Session disconnected');
        } catch (err) {
          toast(err.message, 'error');
        }
        await load();
      });
      cells.push(h('td', { class: 'float-actions' }, del));
    }
    return h('tr', { dataset: { id: s.id } }, cells);
  }

  const headers = ['Session', 'User', 'Address', 'Agent', 'Bridge', 'Last ping', 'Expires'];
  if (admin) headers.push('');
  const refresh = h('button', { class: 'btn', type: 'button', id: 'float-refresh' }, 'Refresh');
  refresh.addEventListener('click', load);
  container.append(
    pageHeader('Float Mode', 'USB devices of this server over a WebSocket', refresh),
    error,
    h('section', { class: 'card' },
      h('div', { class: 'card-header' }, h('h2', null, 'Sessions')),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'data-table', id: 'float-table' },
          h('thead', null, h('tr', null, headers.map((t) => h('th', null, t)))), tbody))),
    admin ? consoleCard(api, load) : null);
  return load();
}

function consoleCard(api, reload) {
  const out = h('pre', { class: 'float-log', id: 'float-log', 'aria-live': 'polite' });
  const state = h('span', { id: 'float-state' }, badge('not connected', 'plain'));
  const devices = h('tbody', { id: 'float-devices' });
  const connect = h('button', { class: 'btn btn-primary', type: 'button', id: 'float-connect' }, 'New session and connect');
  const list = h('button', { class: 'btn', type: 'button', id: 'float-enumerate', disabled: true }, 'List devices');
  let ws = null;

  const log = (line) => {
    out.textContent += `${line}\n`;
    out.scrollTop = out.scrollHeight;
  };

  function send(type, payload) {
    ws.send(frame(type, payload));
  }

  function onFrame(data) {
    const b = new Uint8Array(data);
    if (b.length < 5) return;
    const type = b[0];
    const p = b.subarray(5, 5 + new DataView(b.buffer).getUint32(1));
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    switch (type) {
      case T.PING:
        send(T.PONG);
        break;
      case T.ENUM_RESULT: {
        const devs = parseDevices(p);
        log(`Enumerate: ${devs.length} device(s)`);
        devices.replaceChildren(...(devs.length ? devs.map(deviceRow)
          : [h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No USB devices'))]));
        break;
      }
      case T.OPEN_RESULT:
        log(`Open ${hex4(dv.getUint16(0))}: ${STATUS[p[2]] || p[2]}`);
        break;
      case T.CONTROL_RESULT:
        log(`GET_DESCRIPTOR ${hex4(dv.getUint16(0))}: ${STATUS[p[2]] || p[2]}, ${p.length - 3} bytes`);
        log(hex(p.subarray(3)));
        break;
      case T.ERROR:
        log(`Error 0x${hex4(dv.getUint16(0))}: ${new TextDecoder().decode(p.subarray(2))}`);
        break;
      default:
        log(`frame 0x${type.toString(16)}: ${hex(p)}`);
    }
  }

  function deviceRow(d) {
    const get = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'descriptor' } }, 'GET_DESCRIPTOR');
    get.addEventListener('click', () => {
      const id = new Uint8Array([d.id >> 8, d.id & 0xff]);
      send(T.OPEN, id);
      // bmRequestType 0x80, GET_DESCRIPTOR, wValue 0x0100 (device), wIndex 0, wLength 18, timeout 1000 ms
      const c = new Uint8Array(14);
      const v = new DataView(c.buffer);
      v.setUint16(0, d.id);
      c[2] = 0x80;
      c[3] = 6;
      v.setUint16(4, 0x0100);
      v.setUint16(8, 18);
      v.setUint32(10, 1000);
      send(T.CONTROL, c);
    });
    return h('tr', { dataset: { id: String(d.id) } },
      h('td', { class: 'mono' }, `${hex4(d.vendor)}:${hex4(d.product)}`),
      h('td', null, d.manufacturer),
      h('td', null, d.product_name),
      h('td', { class: 'mono' }, d.serial),
      h('td', { class: 'float-actions' }, get));
  }

  connect.addEventListener('click', async () => {
    if (ws) ws.close(1000);
    connect.disabled = true;
    try {
      const reg = await api.post('/float/register', { user_agent: navigator.userAgent.slice(0, 200) });
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      ws = new WebSocket(`${scheme}://${location.host}/float/ws?session=${encodeURIComponent(reg.session_id)}`);
      ws.binaryType = 'arraybuffer';
      ws.addEventListener('open', () => {
        state.replaceChildren(badge('connected', 'ok'));
        list.disabled = false;
        log(`Session ${reg.session_id}: connected`);
        reload();
      });
      ws.addEventListener('message', (e) => onFrame(e.data));
      ws.addEventListener('close', (e) => {
        state.replaceChildren(badge('closed', 'plain'));
        list.disabled = true;
        log(`WebSocket closed (${e.code})`);
        reload();
      });
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      connect.disabled = false;
    }
  });
  list.addEventListener('click', () => send(T.ENUM));

  return h('section', { class: 'card', id: 'float-console' },
    h('div', { class: 'card-header' }, h('h2', null, 'Console'), h('div', null, state)),
    h('div', { class: 'card-body' },
      h('div', { class: 'float-buttons' }, connect, list),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'data-table' },
          h('thead', null, h('tr', null, ['Device', 'Manufacturer', 'Product', 'Serial', ''].map((t) => h('th', null, t)))),
          devices)),
      out));
}
