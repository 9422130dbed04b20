// Monitor: live CPU / memory / disk / load charts from GET /api/monitor/history
// (drawn as SVG here, no chart library), per-core CPU, filesystems and services.
import { h, pageHeader, alertBox, loadCss, modal, toast, isAdmin, unitStateBadge, sizeText, formatLoad } from '../ui.js';

const LIVE_MS = 5000; // cpu + memory figures
const HISTORY_MS = 10000; // the sampler records a point every 10 s
const SLOW_MS = 30000; // disks and services change rarely
const MAX_POINTS = 720; // more than a chart's width in pixels is wasted bytes
const SVG_NS = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 160;
// left: room for "100%" at the 13 px axis font (it was cut to ".00%")
const PAD = { left: 48, right: 8, top: 8, bottom: 20 };

const RANGES = [
  { minutes: 15, label: '15 min' },
  { minutes: 60, label: '1 hour' },
  { minutes: 360, label: '6 hours' },
  { minutes: 1440, label: '24 hours' },
];

const CHARTS = [
  { key: 'cpu', title: 'CPU in use', unit: '%', max: 100 },
  { key: 'mem', title: 'Memory', unit: '%', max: 100 },
  { key: 'disk', title: 'Disk (/)', unit: '%', max: 100 },
  { key: 'load', title: 'Load average (1 min)', unit: '', max: null },
];

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function text(value) {
  return value === undefined || value === null || value === '' ? '—' : String(value);
}

function num(v, digits = 1) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}

function hhmm(date, withSeconds) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}${withSeconds ? `:${pad(date.getSeconds())}` : ''}`;
}

// A "nice" upper bound for the load axis: 1, 2, 5, 10, 20, ...
function niceMax(v) {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// Draws one series into a fresh <svg>. Points further apart than three
// intervals (the panel was stopped) break the line instead of bridging it.
export function drawChart(def, samples, minutes, intervalS) {
  const now = Date.now();
  const t0 = now - minutes * 60000;
  const values = samples.map((s) => ({ t: Date.parse(s.t), v: Number(s[def.key]) }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
  const top = def.max ?? niceMax(Math.max(0, ...values.map((p) => p.v)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + Math.max(0, Math.min(1, (t - t0) / (now - t0))) * iw;
  const y = (v) => PAD.top + ih - Math.max(0, Math.min(1, v / top)) * ih;

  const grid = [];
  for (const f of [0, 0.5, 1]) {
    const gy = y(top * f);
    grid.push(svg('line', { class: 'grid-line', x1: PAD.left, x2: W - PAD.right, y1: gy, y2: gy }));
    const label = def.max ? `${top * f}${def.unit}` : String(Math.round(top * f * 100) / 100);
    grid.push(svg('text', { class: 'axis-label', x: PAD.left - 4, y: gy + 4, 'text-anchor': 'end' }, label));
  }
  grid.push(svg('text', { class: 'axis-label', x: PAD.left, y: H - 4 }, hhmm(new Date(t0))));
  grid.push(svg('text', { class: 'axis-label', x: W - PAD.right, y: H - 4, 'text-anchor': 'end' }, hhmm(new Date(now))));

  const segments = [];
  let cur = [];
  const gap = Math.max(3 * intervalS * 1000, 30000);
  for (const p of values) {
    if (cur.length && p.t - cur[cur.length - 1].t > gap) {
      segments.push(cur);
      cur = [];
    }
    cur.push(p);
  }
  if (cur.length) segments.push(cur);

  const shapes = [];
  for (const seg of segments) {
    const pts = seg.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    if (seg.length === 1) {
      shapes.push(svg('circle', { class: 'point', cx: x(seg[0].t), cy: y(seg[0].v), r: 2 }));
      continue;
    }
    const base = y(0).toFixed(1);
    const area = `M${x(seg[0].t).toFixed(1)},${base} L${pts.join(' L')} L${x(seg[seg.length - 1].t).toFixed(1)},${base} Z`;
    shapes.push(svg('path', { class: 'area', d: area }));
    shapes.push(svg('polyline', { class: 'line', points: pts.join(' ') }));
  }

  const last = values[values.length - 1];
  const title = svg('title', null, last
    ? `${def.title}: ${num(last.v, def.max ? 1 : 2)}${def.unit} at ${hhmm(new Date(last.t), true)}`
    : `${def.title}: no samples yet`);
  const root = svg('svg', {
    class: `chart chart-${def.key}`,
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': `${def.title} over the last ${minutes} minutes`,
    'data-points': values.length,
  }, title, ...grid, ...shapes);
  if (!values.length) {
    root.append(svg('text', { class: 'empty-label', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'Collecting samples…'));
  }
  return root;
}

function activeBadge(svc) {
  return unitStateBadge(svc.active, svc.running);
}

// top's "%Cpu(s): 12.3 us, 2.1 sy, 85.6 id" with each share named.
function cpuShares(line) {
  const m = /([\d.]+) us, ([\d.]+) sy, ([\d.]+) id/.exec(String(line || ''));
  return m ? `user ${m[1]}% · system ${m[2]}% · idle ${m[3]}%` : text(line);
}

function meter(pct, field) {
  const bar = h('div', { class: 'progress-bar' });
  const p = Math.max(0, Math.min(100, Number(pct) || 0));
  bar.style.width = `${p}%`;
  bar.classList.toggle('warn', p >= 75 && p < 90);
  bar.classList.toggle('err', p >= 90);
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': String(p), 'aria-valuemin': '0', 'aria-valuemax': '100', dataset: { field } }, bar);
}

function table(id, headers, body) {
  return h('div', { class: 'table-wrap' },
    h('table', { id }, h('thead', null, h('tr', null, headers.map((t) => h('th', null, t)))), body));
}

function emptyRow(cols, message) {
  return h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, message));
}

export function render(container, { api, user }) {
  const admin = isAdmin(user);
  loadCss('/css/pages/monitor.css');
  let minutes = 60;

  const stat = (field) => h('div', { class: 'stat-value', dataset: { field } }, '—');
  const sub = (field) => h('div', { class: 'stat-sub', dataset: { field } }, '—');
  const cpuValue = stat('cpu_overall');
  const cpuLine = sub('cpu_line');
  const memValue = stat('mem_used');
  const memSub = sub('mem_detail');
  const swapValue = stat('swap_used');
  const swapSub = sub('swap_detail');
  const loadValue = stat('load_1');
  const loadSub = sub('load_avg');

  const summary = h('div', { class: 'grid', id: 'monitor-summary' },
    h('section', { class: 'card card-body' }, h('h2', { class: 'card-title' }, 'CPU in use now (all cores)'), cpuValue, cpuLine),
    h('section', { class: 'card card-body' }, h('h2', { class: 'card-title' }, 'Load average (1 min)'), loadValue, loadSub),
    h('section', { class: 'card card-body' }, h('h2', { class: 'card-title' }, 'Memory'), memValue, memSub),
    h('section', { class: 'card card-body' }, h('h2', { class: 'card-title' }, 'Swap'), swapValue, swapSub));

  const chartSlots = {};
  const chartValues = {};
  const chartCards = CHARTS.map((def) => {
    chartSlots[def.key] = h('div', { class: 'chart-slot', id: `chart-${def.key}` });
    chartValues[def.key] = h('span', { class: 'chart-value', dataset: { field: `last_${def.key}` } }, '—');
    return h('section', { class: 'card card-body chart-card' },
      h('div', { class: 'chart-head' }, h('h2', { class: 'card-title' }, def.title), chartValues[def.key]),
      chartSlots[def.key]);
  });
  const rangeSelect = h('select', { id: 'history-range', 'aria-label': 'History range' },
    RANGES.map((r) => h('option', { value: String(r.minutes), selected: r.minutes === minutes }, r.label)));

  const coresBody = h('tbody', { dataset: { field: 'cores' } }, emptyRow(5, 'Loading…'));
  const disksBody = h('tbody', { dataset: { field: 'disks' } }, emptyRow(6, 'Loading…'));
  const servicesBody = h('tbody', { dataset: { field: 'services' } }, emptyRow(4, 'Loading…'));
  const updated = h('span', { class: 'updated-at', dataset: { field: 'updated' } }, '');
  const errorSlot = h('div', { id: 'monitor-errors' });

  container.replaceChildren(
    pageHeader('Monitor', 'Live resource usage of this server', rangeSelect, updated),
    errorSlot,
    summary,
    h('div', { class: 'chart-grid', id: 'monitor-charts' }, chartCards),
    h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'CPU cores')),
      table('cores-table', ['Core', 'User', 'System', 'Idle', 'Busy'], coresBody)),
    h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Filesystems')),
      table('disk-table', ['Filesystem', 'Mounted on', 'Size', 'Used', 'Available', 'Use%'], disksBody)),
    h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Services')),
      table('services-table', ['Service', 'State', 'Memory', admin ? 'Actions' : null].filter(Boolean), servicesBody)));

  const errors = new Map();
  function setError(key, err) {
    if (err) errors.set(key, `${key}: ${err.message || err}`);
    else errors.delete(key);
    errorSlot.replaceChildren(...[...errors.values()].map((m) => alertBox('error', m)));
  }

  function fillCpu(cpu) {
    cpuValue.textContent = `${num(cpu.overall)}%`;
    cpuLine.textContent = cpuShares(cpu.cpu);
    const cores = Array.isArray(cpu.cores) ? cpu.cores : [];
    coresBody.replaceChildren(...(cores.length ? cores.map((c) => h('tr', { dataset: { core: String(c.core) } },
      h('td', null, `cpu${c.core}`),
      h('td', null, `${num(c.user)}%`),
      h('td', null, `${num(c.system)}%`),
      h('td', null, `${num(c.idle)}%`),
      h('td', { class: 'meter-cell' }, meter(c.percent, `core_${c.core}`), h('span', { class: 'meter-label' }, `${num(c.percent)}%`))))
      : [emptyRow(5, 'No CPU figures yet.')]));
  }

  function fillMemory(m) {
    memValue.textContent = sizeText(m.used);
    memSub.textContent = `of ${sizeText(m.total)} · ${sizeText(m.available)} available · ${sizeText(m.free)} free`;
    swapValue.textContent = sizeText(m.swap_used);
    swapSub.textContent = `of ${sizeText(m.swap_total)} · ${sizeText(m.swap_free)} free`;
  }

  function fillLoad(value) {
    const first = String(value ?? '').trim().split(/\s+/)[0];
    loadValue.textContent = first ? text(first) : '—';
    loadSub.textContent = formatLoad(value);
  }

  function fillDisks(list) {
    disksBody.replaceChildren(...(list.length ? list.map((d) => h('tr', { dataset: { mount: d.mount_point } },
      h('td', { class: 'mono' }, text(d.filesystem)),
      h('td', { class: 'mono' }, text(d.mount_point)),
      h('td', null, sizeText(d.size)),
      h('td', null, sizeText(d.used)),
      h('td', null, sizeText(d.available)),
      h('td', { class: 'meter-cell' }, meter(parseFloat(d.use_percent), 'disk_use'), h('span', { class: 'meter-label' }, text(d.use_percent)))))
      : [emptyRow(6, 'No filesystems found.')]));
  }

  // start/stop/restart (admins, confirmed): the state comes back from systemd
  async function controlService(name, action) {
    const ok = await modal({
      title: `${action[0].toUpperCase()}${action.slice(1)} ${name}?`,
      text: action === 'start' ? `systemd starts ${name}.`
        : `What ${name} serves is unavailable while it ${action === 'stop' ? 'is stopped' : 'restarts'}.`,
      confirmLabel: `${action[0].toUpperCase()}${action.slice(1)}`,
      danger: action !== 'start',
    });
    if (!ok) return;
    try {
      const r = await api.post(`/api/monitor/services/${encodeURIComponent(name)}/${action}`);
      toast(`${name} ${r.status}: now ${r.active}`);
    } catch (err) {
      if (err.status !== 401) toast(`Could not ${action} ${name}: ${err.message}`, 'error');
    }
    fillServices(await api.get('/api/monitor/services'));
  }

  function fillServices(list) {
    const cols = admin ? 4 : 3;
    servicesBody.replaceChildren(...(list.length ? list.map((s) => h('tr', { dataset: { service: s.name } },
      h('td', null, text(s.name)),
      h('td', null, activeBadge(s)),
      h('td', null, sizeText(s.memory)),
      admin ? h('td', { class: 'actions' }, ['start', 'stop', 'restart'].map((a) => h('button', {
        class: `btn btn-sm${a === 'stop' ? ' btn-danger' : ''}`, type: 'button', dataset: { action: a },
        'aria-label': `${a} ${s.name}`, onclick: () => controlService(s.name, a),
      }, a[0].toUpperCase() + a.slice(1)))) : null))
      : [emptyRow(cols, 'No services are monitored.')]));
  }

  function fillHistory(hist) {
    const samples = Array.isArray(hist.samples) ? hist.samples : [];
    const step = hist.step_s || hist.interval_s || 10;
    for (const def of CHARTS) {
      chartSlots[def.key].replaceChildren(drawChart(def, samples, minutes, step));
      const last = samples[samples.length - 1];
      // the chart's last point: CPU is its share busy over the last step,
      // the others the figure then (averaged over the step when downsampled)
      const what = def.key === 'cpu' ? `last ${step} s average` : 'latest';
      chartValues[def.key].textContent = last ? `${what}: ${num(last[def.key], def.max ? 1 : 2)}${def.unit}` : '—';
    }
  }

  const loops = [];
  let stopped = false;
  // One polling loop per data source, each with its own period; paused while
  // the tab is hidden. fn returns true to be asked again soon (the sampler
  // has no figures yet: it needs a second after the panel starts).
  function loop(name, period, fn) {
    const state = { timer: null, inflight: false };
    const run = async () => {
      state.timer = null;
      state.inflight = true;
      let soon = false;
      try {
        soon = (await fn()) === true;
        setError(name, null);
      } catch (err) {
        if (err.status === 401) return;
        setError(name, err);
      } finally {
        state.inflight = false;
      }
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (!stopped && !document.hidden && container.isConnected) state.timer = setTimeout(run, soon ? 1000 : period);
    };
    state.run = run;
    loops.push(state);
    run();
    return state;
  }

  loop('CPU', LIVE_MS, async () => {
    const cpu = await api.get('/api/monitor/cpu');
    fillCpu(cpu);
    return cpu.idle === 0 && cpu.overall === 0;
  });
  loop('Memory', LIVE_MS, async () => fillMemory(await api.get('/api/monitor/memory')));
  loop('Load', HISTORY_MS, async () => fillLoad((await api.get('/api/system/info')).load_avg));
  const histLoop = loop('History', HISTORY_MS, async () => {
    const hist = await api.get(`/api/monitor/history?minutes=${minutes}&max_points=${MAX_POINTS}`);
    fillHistory(hist);
    return !(Array.isArray(hist.samples) && hist.samples.length);
  });
  loop('Filesystems', SLOW_MS, async () => fillDisks(await api.get('/api/monitor/disk')));
  loop('Services', SLOW_MS, async () => fillServices(await api.get('/api/monitor/services')));

  rangeSelect.addEventListener('change', () => {
    minutes = Number(rangeSelect.value) || 60;
    clearTimeout(histLoop.timer);
    histLoop.timer = null;
    if (!histLoop.inflight) histLoop.run();
  });

  const onVisibility = () => {
    for (const l of loops) {
      if (document.hidden) {
        clearTimeout(l.timer);
        l.timer = null;
      } else if (!l.timer && !stopped && !l.inflight) {
        l.run();
      }
    }
  };
  document.addEventListener('visibilitychange', onVisibility);

  return () => {
    stopped = true;
    for (const l of loops) clearTimeout(l.timer);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
