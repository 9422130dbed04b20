// Hosting page: providers (configure, test, delete) and, for the chosen
// provider, one tab per capability: DNS zone editor, domains (availability
// with prices, purchase after a confirmation showing the price, lock,
// privacy, nameservers), VPS (details, power actions, a metrics chart), SSH
// keys and billing. Viewers see everything read-only.
import { h, pageHeader, badge, alertBox, toast, modal, confirmDialog, formatDate, formatBytes, isAdmin, loadCss } from '../ui.js';

const P = '/api/hosting/providers';
const TYPES = ['A', 'AAAA', 'CNAME', 'ALIAS', 'MX', 'TXT', 'NS', 'SRV', 'CAA'];
const SVG_NS = 'http://www.w3.org/2000/svg';

export function money(cents, currency) {
  if (cents === null || cents === undefined) return '—';
  return `${(cents / 100).toFixed(2)} ${currency || ''}`.trim();
}

// Mirrors the server's record checks for quick feedback at the field; the
// server checks again and its answer names the field too.
export function checkRecord(r) {
  const errs = {};
  if (!r.name || !/^(@|(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|\*)$/.test(r.name)) errs.name = 'a name relative to the zone ("@" for the apex)';
  if (!TYPES.includes(r.type)) errs.type = 'choose a type';
  if (!r.content) errs.content = 'required';
  else if (r.type === 'A' && !(/^(\d{1,3})(\.\d{1,3}){3}$/.test(r.content) && r.content.split('.').every((o) => Number(o) <= 255))) errs.content = 'not an IPv4 address';
  else if (r.type === 'AAAA' && !/^[0-9a-fA-F:.]+$/.test(r.content)) errs.content = 'not an IPv6 address';
  else if (r.type === 'TXT' && (r.content.length > 4096 || /[^\x20-\x7e]/.test(r.content))) errs.content = 'printable ASCII, at most 4096 bytes';
  if (!(r.ttl >= 60 && r.ttl <= 604800)) errs.ttl = 'between 60 and 604800';
  if (r.type === 'MX' || r.type === 'SRV') {
    if (!(Number.isInteger(r.priority) && r.priority >= 0 && r.priority <= 65535)) errs.priority = 'required for MX and SRV: 0-65535';
  }
  return errs;
}

function fieldOf(label, input, id) {
  const err = h('div', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const node = h('label', { class: 'field' }, label, input, err);
  return { node, input, err };
}

function showFieldErrors(fields, errs) {
  for (const [k, f] of Object.entries(fields)) {
    f.err.textContent = errs[k] || '';
    f.input.classList.toggle('invalid', Boolean(errs[k]));
  }
}

// The server's 400 names the field ("records[0].content: ...", or `field`).
function serverFieldErrors(err) {
  const body = err.body || {};
  const errs = {};
  const name = body.field || '';
  const m = /([a-z_]+)$/.exec(name);
  if (m) errs[m[1]] = err.message.replace(/^[^:]+:\s*/, '');
  return errs;
}

function table(headers, rows, empty = 'Nothing here') {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data-table' },
      h('thead', null, h('tr', null, headers.map((t) => h('th', null, t)))),
      h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: headers.length, class: 'empty' }, empty)))));
}

function svg(tag, attrs, ...children) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  for (const c of children) n.append(c);
  return n;
}

// [[t, v], ...] as a small line chart
export function lineChart(points, label) {
  const W = 560; const H = 160; const pad = 30;
  const root = svg('svg', { class: 'hosting-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label });
  if (!points || !points.length) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis-label' }, 'No data'));
    return root;
  }
  const ts = points.map((p) => p[0]); const vs = points.map((p) => p[1]);
  const t0 = Math.min(...ts); const t1 = Math.max(...ts) || t0 + 1;
  const vmax = Math.max(...vs, 1e-9);
  const x = (t) => pad + ((t - t0) / ((t1 - t0) || 1)) * (W - 2 * pad);
  const y = (v) => H - pad - (v / vmax) * (H - 2 * pad);
  root.append(svg('line', { x1: pad, x2: W - pad, y1: H - pad, y2: H - pad, class: 'grid-line' }));
  root.append(svg('text', { x: 2, y: pad, class: 'axis-label' }, String(Math.round(vmax * 100) / 100)));
  root.append(svg('polyline', { class: 'line', points: points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ') }));
  return root;
}

export function render(container, { api, user }) {
  loadCss('/css/pages/hosting.css');
  const admin = isAdmin(user);
  const error = h('div', { id: 'hosting-error' });
  const provBody = h('div', { id: 'hosting-providers' });
  const picker = h('select', { id: 'hosting-provider' });
  const tabs = h('div', { class: 'hosting-tabs', id: 'hosting-tabs', role: 'tablist' });
  const panel = h('div', { id: 'hosting-panel' });
  let providers = [];
  let current = null;

  const enc = encodeURIComponent;
  const base = () => `${P}/${enc(current.name)}`;

  async function loadProviders() {
    try {
      providers = await api.get(P);
      error.replaceChildren();
    } catch (err) {
      error.replaceChildren(alertBox('error', err.message));
      return;
    }
    provBody.replaceChildren(table(['Provider', 'Status', 'Capabilities', ''], providers.map(providerRow)));
    const chosen = current && providers.find((p) => p.name === current.name && p.configured);
    const configured = providers.filter((p) => p.configured);
    picker.replaceChildren(...configured.map((p) => h('option', { value: p.name }, p.display_name)));
    if (!configured.length) {
      current = null;
      tabs.replaceChildren();
      panel.replaceChildren(alertBox('info', admin ? 'Configure a provider to manage its DNS, domains and servers.' : 'No provider is configured.'));
      return;
    }
    current = chosen || configured[0];
    picker.value = current.name;
    showTabs();
  }

  function providerRow(p) {
    const st = !p.configured ? badge('not configured', 'plain') : p.connected ? badge('connected', 'ok') : badge('configured', 'warn');
    const actions = [];
    if (admin) {
      const cfg = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'configure' } }, 'Configure');
      cfg.addEventListener('click', () => configure(p));
      actions.push(cfg);
      if (p.configured) {
        const test = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'test' } }, 'Test');
        test.addEventListener('click', async () => {
          test.disabled = true;
          try {
            const r = await api.post(`${P}/${enc(p.name)}/test`);
            toast(r.message || 'Connection works');
          } catch (err) {
            toast(err.message, 'error');
          }
          test.disabled = false;
          await loadProviders();
        });
        const del = h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' } }, 'Delete');
        del.addEventListener('click', async () => {
          if (!(await confirmDialog('Remove credentials', `Remove the saved credentials of ${p.display_name}?`, 'Remove'))) return;
          try {
            await api.del(`${P}/${enc(p.name)}`);
            toast('Credentials removed');
          } catch (err) {
            toast(err.message, 'error');
          }
          await loadProviders();
        });
        actions.push(test, del);
      }
    }
    return h('tr', { dataset: { provider: p.name } },
      h('td', null, p.display_name),
      h('td', { dataset: { field: 'status' } }, st),
      h('td', null, p.capabilities.join(', ')),
      h('td', { class: 'hosting-actions' }, actions));
  }

  async function configure(p) {
    const key = h('input', { id: 'cfg-api-key', type: 'password', autocomplete: 'off', required: true });
    const url = h('input', { id: 'cfg-base-url', placeholder: 'default', value: p.base_url || '', autocomplete: 'off' });
    const server = h('input', { id: 'cfg-server-id', placeholder: 'localhost', autocomplete: 'off' });
    const body = [h('label', { class: 'field' }, 'API key', key), h('label', { class: 'field' }, 'Base URL (optional)', url)];
    if (p.name === 'powerdns') body.push(h('label', { class: 'field' }, 'Server id (optional)', server));
    const ok = await modal({
      title: `Configure ${p.display_name}`,
      text: 'The key is stored on this server (readable by the panel only) and never shown again.',
      body,
      confirmLabel: 'Save',
      onConfirm: async () => {
        const req = { api_key: key.value.trim() };
        if (url.value.trim()) req.base_url = url.value.trim();
        if (server.value.trim()) req.extra = { server_id: server.value.trim() };
        await api.post(`${P}/${enc(p.name)}/configure`, req);
      },
    });
    if (ok) toast(`${p.display_name} configured`);
    await loadProviders();
  }

  const TABS = [['dns', 'DNS', dnsTab], ['domains', 'Domains', domainsTab], ['vps', 'VPS', vpsTab],
    ['ssh_keys', 'SSH keys', keysTab], ['billing', 'Billing', billingTab]];

  function showTabs(active) {
    const avail = TABS.filter(([cap]) => current.capabilities.includes(cap));
    const pick = active && avail.find(([c]) => c === active) ? active : avail[0][0];
    tabs.replaceChildren(...avail.map(([cap, label, fn]) => {
      const b = h('button', { class: `btn btn-sm${cap === pick ? ' btn-primary' : ''}`, type: 'button', role: 'tab', 'aria-selected': String(cap === pick), dataset: { tab: cap } }, label);
      b.addEventListener('click', () => showTabs(cap));
      if (cap === pick) {
        panel.replaceChildren();
        fn(panel);
      }
      return b;
    }));
  }
  picker.addEventListener('change', () => {
    current = providers.find((p) => p.name === picker.value);
    showTabs();
  });

  // ---- DNS ----
  function dnsTab(root) {
    const zone = h('input', { id: 'dns-zone', placeholder: 'example.com', autocomplete: 'off' });
    const load = h('button', { class: 'btn btn-primary', type: 'submit', id: 'dns-load' }, 'Load zone');
    const msg = h('div', { id: 'dns-msg' });
    const list = h('div', { id: 'dns-records' });
    let records = [];
    let editing = null;
    const f = {
      type: fieldOf('Type', h('select', { id: 'rec-type' }, TYPES.map((t) => h('option', { value: t }, t))), 'rec-type'),
      name: fieldOf('Name', h('input', { id: 'rec-name', value: '@', autocomplete: 'off' }), 'rec-name'),
      content: fieldOf('Content', h('input', { id: 'rec-content', autocomplete: 'off' }), 'rec-content'),
      ttl: fieldOf('TTL', h('input', { id: 'rec-ttl', type: 'number', value: '3600' }), 'rec-ttl'),
      priority: fieldOf('Priority', h('input', { id: 'rec-priority', type: 'number', placeholder: 'MX/SRV' }), 'rec-priority'),
    };
    const record = () => {
      const r = { type: f.type.input.value, name: f.name.input.value.trim(), content: f.content.input.value.trim(), ttl: Number(f.ttl.input.value) };
      if (f.priority.input.value !== '') r.priority = Number(f.priority.input.value);
      return r;
    };
    const save = h('button', { class: 'btn btn-primary', type: 'submit', id: 'rec-save' }, 'Add record');
    const validate = h('button', { class: 'btn', type: 'button', id: 'rec-validate' }, 'Validate');
    const cancel = h('button', { class: 'btn', type: 'button', id: 'rec-cancel', hidden: true }, 'Cancel edit');
    const reset = h('button', { class: 'btn btn-danger', type: 'button', id: 'dns-reset' }, 'Reset zone');
    const formMsg = h('div', { id: 'rec-msg' });
    const z = () => zone.value.trim().toLowerCase();

    async function refresh() {
      if (!z()) return;
      try {
        records = await api.get(`${base()}/dns/${enc(z())}`);
        msg.replaceChildren();
      } catch (err) {
        msg.replaceChildren(alertBox('error', err.message));
        list.replaceChildren();
        return;
      }
      list.replaceChildren(table(['Name', 'Type', 'Content', 'Priority', 'TTL', ''], records.map((r) => {
        const acts = [];
        if (admin) {
          const ed = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'edit' } }, 'Edit');
          ed.addEventListener('click', () => startEdit(r));
          const del = h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' } }, 'Delete');
          del.addEventListener('click', () => removeSet(r));
          acts.push(ed, del);
        }
        return h('tr', { dataset: { id: r.id } },
          h('td', { class: 'mono' }, r.name), h('td', null, r.type), h('td', { class: 'mono hosting-content' }, r.content),
          h('td', null, r.priority === null ? '' : String(r.priority)), h('td', null, String(r.ttl)), h('td', { class: 'hosting-actions' }, acts));
      }), 'No records'));
    }

    function startEdit(r) {
      editing = r;
      f.type.input.value = r.type;
      f.name.input.value = r.name;
      f.content.input.value = r.content;
      f.ttl.input.value = String(r.ttl);
      f.priority.input.value = r.priority === null ? '' : String(r.priority);
      save.textContent = 'Save record';
      cancel.hidden = false;
    }
    function endEdit() {
      editing = null;
      save.textContent = 'Add record';
      cancel.hidden = true;
      f.content.input.value = '';
    }
    cancel.addEventListener('click', endEdit);

    async function removeSet(r) {
      const others = records.filter((x) => x.name === r.name && x.type === r.type && x.id !== r.id);
      const text = others.length
        ? `${r.name} ${r.type} has ${others.length + 1} records; the others are written back.`
        : `Delete ${r.name} ${r.type} ${r.content}?`;
      if (!(await confirmDialog('Delete record', text))) return;
      try {
        if (others.length) {
          await api.put(`${base()}/dns/${enc(z())}`, { overwrite: true, records: others.map(strip) });
        } else {
          await api.del(`${base()}/dns/${enc(z())}?name=${enc(r.name)}&type=${enc(r.type)}`);
        }
        toast('Record deleted');
      } catch (err) {
        toast(err.message, 'error');
      }
      await refresh();
    }
    const strip = (r) => ({ type: r.type, name: r.name, content: r.content, ttl: r.ttl, ...(r.priority === null ? {} : { priority: r.priority }) });

    function checkForm() {
      const r = record();
      const errs = checkRecord(r);
      showFieldErrors(f, errs);
      return Object.keys(errs).length ? null : r;
    }

    async function submit(dry) {
      formMsg.replaceChildren();
      const r = checkForm();
      if (!r || !z()) return;
      save.disabled = validate.disabled = true;
      try {
        if (dry) {
          await api.post(`${base()}/dns/${enc(z())}/validate`, { records: [r] });
          formMsg.replaceChildren(alertBox('success', 'The record is valid (nothing was changed).'));
        } else if (editing) {
          const set = records.filter((x) => x.name === editing.name && x.type === editing.type && x.id !== editing.id).map(strip);
          if (r.name === editing.name && r.type === editing.type) {
            await api.put(`${base()}/dns/${enc(z())}`, { overwrite: true, records: [...set, r] });
          } else {
            await api.post(`${base()}/dns/${enc(z())}`, r);
            if (set.length) await api.put(`${base()}/dns/${enc(z())}`, { overwrite: true, records: set });
            else await api.del(`${base()}/dns/${enc(z())}?name=${enc(editing.name)}&type=${enc(editing.type)}`);
          }
          toast('Record saved');
          endEdit();
        } else {
          await api.post(`${base()}/dns/${enc(z())}`, r);
          toast('Record added');
          f.content.input.value = '';
        }
        if (!dry) await refresh();
      } catch (err) {
        const errs = serverFieldErrors(err);
        if (Object.keys(errs).length) showFieldErrors(f, errs);
        formMsg.replaceChildren(alertBox('error', err.message));
      } finally {
        save.disabled = validate.disabled = false;
      }
    }
    validate.addEventListener('click', () => submit(true));
    reset.addEventListener('click', async () => {
      if (!z()) return;
      const ok = await modal({
        title: 'Reset zone', text: `Every record of ${z()} is replaced by the provider's defaults. This cannot be undone.`,
        confirmLabel: 'Reset', danger: true, onConfirm: () => api.post(`${base()}/dns/${enc(z())}/reset`),
      });
      if (ok) toast('Zone reset');
      await refresh();
    });

    const loadForm = h('form', { class: 'form-row', id: 'dns-load-form' }, h('label', { class: 'field' }, 'Zone', zone), h('div', { class: 'field field-narrow' }, load));
    loadForm.addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
    const recForm = h('form', { class: 'card card-body', id: 'rec-form', novalidate: true },
      h('h2', { class: 'card-title' }, 'Record'), formMsg,
      h('div', { class: 'form-row' }, f.type.node, f.name.node, f.content.node, f.ttl.node, f.priority.node),
      h('div', { class: 'form-actions' }, cancel, validate, save));
    recForm.addEventListener('submit', (e) => { e.preventDefault(); submit(false); });
    root.append(h('section', { class: 'card card-body' }, loadForm, msg, list,
      admin && current.name !== 'powerdns' ? h('div', { class: 'form-actions' }, reset) : null),
    admin ? recForm : null);
  }

  // ---- domains ----
  function domainsTab(root) {
    const msg = h('div', { id: 'dom-msg' });
    const list = h('div', { id: 'dom-list' });
    const detail = h('div', { id: 'dom-detail' });
    async function refresh() {
      try {
        const doms = await api.get(`${base()}/domains`);
        list.replaceChildren(table(['Domain', 'Status', 'Expires', ''], doms.map((d) => {
          const open = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'open' } }, 'Details');
          open.addEventListener('click', () => showDomain(d.name));
          return h('tr', { dataset: { domain: d.name } }, h('td', null, d.name), h('td', null, badge(d.status || '—', d.status === 'active' ? 'ok' : 'plain')),
            h('td', null, formatDate(d.expires_at)), h('td', { class: 'hosting-actions' }, open));
        }), 'No domains'));
        msg.replaceChildren();
      } catch (err) {
        msg.replaceChildren(alertBox('error', err.message));
      }
    }
    async function showDomain(name) {
      let d;
      try {
        d = await api.get(`${base()}/domains/${enc(name)}`);
      } catch (err) {
        detail.replaceChildren(alertBox('error', err.message));
        return;
      }
      const flag = (label, on, path, onText, offText) => {
        const b = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: path } }, on ? `Disable ${label}` : `Enable ${label}`);
        b.hidden = !admin;
        b.addEventListener('click', async () => {
          try {
            await (on ? api.del(`${base()}/domains/${enc(name)}/${path}`) : api.post(`${base()}/domains/${enc(name)}/${path}`));
            toast(on ? offText : onText);
          } catch (err) {
            toast(err.message, 'error');
          }
          await showDomain(name);
        });
        return h('div', null, `${label}: `, badge(on === null ? '—' : on ? 'on' : 'off', on ? 'ok' : 'plain'), ' ', b);
      };
      const ns = fieldOf('Nameservers (one per line, 2 to 4)', h('textarea', { id: 'dom-ns', rows: 4 }, (d.nameservers || []).join('\n')), 'dom-ns');
      const nsSave = h('button', { class: 'btn btn-primary', type: 'submit', id: 'dom-ns-save' }, 'Save nameservers');
      const nsForm = h('form', { id: 'dom-ns-form' }, ns.node, admin ? h('div', { class: 'form-actions' }, nsSave) : null);
      nsForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        const list2 = ns.input.value.split(/\s+/).filter(Boolean);
        if (list2.length < 2 || list2.length > 4) {
          showFieldErrors({ nameservers: ns }, { nameservers: '2 to 4 host names' });
          return;
        }
        try {
          await api.put(`${base()}/domains/${enc(name)}/nameservers`, { nameservers: list2 });
          showFieldErrors({ nameservers: ns }, {});
          toast('Nameservers saved');
        } catch (err) {
          showFieldErrors({ nameservers: ns }, { nameservers: err.message });
        }
      });
      detail.replaceChildren(h('section', { class: 'card card-body', dataset: { domain: name } },
        h('h2', { class: 'card-title' }, name),
        h('p', null, `Registered ${formatDate(d.created_at)}, expires ${formatDate(d.expires_at)}`),
        flag('lock', d.locked, 'lock', 'Domain locked', 'Domain unlocked'),
        flag('privacy', d.privacy_protection, 'privacy', 'Privacy enabled', 'Privacy disabled'),
        nsForm));
    }
    const names = h('textarea', { id: 'dom-check-names', rows: 2, placeholder: 'example.com example.io' });
    const checkBtn = h('button', { class: 'btn btn-primary', type: 'submit', id: 'dom-check' }, 'Check availability');
    const results = h('div', { id: 'dom-results' });
    const checkForm = h('form', { class: 'card card-body', id: 'dom-check-form' }, h('h2', { class: 'card-title' }, 'Find a domain'),
      h('label', { class: 'field' }, 'Domain names (1 to 20)', names), h('div', { class: 'form-actions' }, checkBtn), results);
    checkForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const list2 = names.value.split(/[\s,]+/).filter(Boolean).map((s) => s.toLowerCase());
      if (!list2.length) return;
      checkBtn.disabled = true;
      try {
        const res = await api.post(`${base()}/domains/check`, { domains: list2 });
        results.replaceChildren(table(['Domain', 'Available', 'Price (1 year)', ''], res.map((r) => {
          const buy = h('button', { class: 'btn btn-sm btn-primary', type: 'button', dataset: { action: 'buy' } }, 'Buy');
          buy.hidden = !admin || !r.available;
          buy.addEventListener('click', () => purchase(r));
          return h('tr', { dataset: { domain: r.domain } }, h('td', null, r.domain), h('td', null, r.available ? badge('available', 'ok') : badge('taken', 'err')),
            h('td', { dataset: { field: 'price' } }, money(r.price_cents, r.currency)), h('td', { class: 'hosting-actions' }, buy));
        })));
      } catch (err) {
        results.replaceChildren(alertBox('error', err.message));
      } finally {
        checkBtn.disabled = false;
      }
    });
    async function purchase(r) {
      const privacy = h('input', { type: 'checkbox', id: 'buy-privacy', checked: true });
      const ok = await modal({
        title: 'Buy domain',
        text: `Buy ${r.domain} for ${money(r.price_cents, r.currency)} (first year)? The order is charged to your account's default payment method.`,
        body: [h('label', { class: 'field field-check' }, privacy, ' Enable WHOIS privacy')],
        confirmLabel: `Buy for ${money(r.price_cents, r.currency)}`,
        onConfirm: () => api.post(`${base()}/domains/purchase`, { domain: r.domain, period_years: 1, privacy_protection: privacy.checked }),
      });
      if (ok) {
        toast(`${r.domain} ordered`);
        await refresh();
      }
    }
    root.append(h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Your domains')), msg, list), detail, checkForm);
    refresh();
  }

  // ---- VPS ----
  function vpsTab(root) {
    const list = h('div', { id: 'vps-list' });
    const detail = h('div', { id: 'vps-detail' });
    async function refresh() {
      try {
        const vms = await api.get(`${base()}/vms`);
        list.replaceChildren(table(['Name', 'Status', 'Plan', 'IPv4', ''], vms.map((v) => {
          const open = h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'open' } }, 'Details');
          open.addEventListener('click', () => showVm(v.id));
          return h('tr', { dataset: { vm: String(v.id) } }, h('td', null, v.name || String(v.id)),
            h('td', { dataset: { field: 'status' } }, badge(v.status || '—', v.status === 'running' ? 'ok' : 'warn')),
            h('td', null, v.plan || ''), h('td', { class: 'mono' }, (v.ipv4 || []).join(', ')), h('td', { class: 'hosting-actions' }, open));
        }), 'No servers'));
      } catch (err) {
        list.replaceChildren(alertBox('error', err.message));
      }
    }
    async function showVm(id) {
      let v;
      try {
        v = await api.get(`${base()}/vms/${enc(String(id))}`);
      } catch (err) {
        detail.replaceChildren(alertBox('error', err.message));
        return;
      }
      const acts = admin ? ['start', 'stop', 'restart'].map((a) => {
        const b = h('button', { class: `btn btn-sm${a === 'stop' ? ' btn-danger' : ''}`, type: 'button', dataset: { action: a } }, a[0].toUpperCase() + a.slice(1));
        b.addEventListener('click', async () => {
          const ok = await modal({ title: `${a[0].toUpperCase() + a.slice(1)} server`, text: `${a} ${v.name}?`, confirmLabel: a[0].toUpperCase() + a.slice(1), danger: a !== 'start',
            onConfirm: () => api.post(`${base()}/vms/${enc(String(id))}/${a}`) });
          if (ok) toast(`${a} requested`);
          await refresh();
          await showVm(id);
        });
        return b;
      }) : [];
      const chart = h('div', { id: 'vps-chart' }, 'Loading metrics…');
      detail.replaceChildren(h('section', { class: 'card card-body', dataset: { vm: String(id) } },
        h('h2', { class: 'card-title' }, v.name || String(id)),
        h('dl', { class: 'hosting-dl' },
          h('dt', null, 'Status'), h('dd', { id: 'vps-status' }, v.status || '—'),
          h('dt', null, 'OS'), h('dd', null, v.os || '—'),
          h('dt', null, 'CPUs / memory / disk'), h('dd', null, `${v.cpus} / ${formatBytes((v.memory_mb || 0) * 1048576)} / ${formatBytes((v.disk_mb || 0) * 1048576)}`),
          h('dt', null, 'Addresses'), h('dd', { class: 'mono' }, [...(v.ipv4 || []), ...(v.ipv6 || [])].join(', '))),
        h('div', { class: 'form-actions' }, acts),
        h('h3', null, 'CPU (%)'), chart));
      try {
        const m = await api.get(`${base()}/vms/${enc(String(id))}/metrics`);
        chart.replaceChildren(lineChart(m.cpu_percent, 'CPU usage'));
      } catch (err) {
        chart.replaceChildren(alertBox('error', err.message));
      }
    }
    root.append(h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Servers')), list), detail);
    refresh();
  }

  // ---- SSH keys ----
  function keysTab(root) {
    const list = h('div', { id: 'keys-list' });
    async function refresh() {
      try {
        const keys = await api.get(`${base()}/ssh-keys`);
        list.replaceChildren(table(['Name', 'Fingerprint', ''], keys.map((k) => {
          const del = h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' }, hidden: !admin }, 'Delete');
          del.addEventListener('click', async () => {
            if (!(await confirmDialog('Delete key', `Delete SSH key ${k.name}?`))) return;
            try {
              await api.del(`${base()}/ssh-keys/${enc(String(k.id))}`);
              toast('Key deleted');
            } catch (err) {
              toast(err.message, 'error');
            }
            await refresh();
          });
          return h('tr', { dataset: { key: String(k.id) } }, h('td', null, k.name), h('td', { class: 'mono' }, k.fingerprint || '—'), h('td', { class: 'hosting-actions' }, del));
        }), 'No keys'));
      } catch (err) {
        list.replaceChildren(alertBox('error', err.message));
      }
    }
    const f = {
      name: fieldOf('Name', h('input', { id: 'key-name', autocomplete: 'off' }), 'key-name'),
      public_key: fieldOf('Public key', h('textarea', { id: 'key-public', rows: 3, placeholder: 'ssh-ed25519 AAAA… user@host' }), 'key-public'),
    };
    const add = h('button', { class: 'btn btn-primary', type: 'submit', id: 'key-add' }, 'Add key');
    const form = h('form', { class: 'card card-body', id: 'key-form', novalidate: true }, h('h2', { class: 'card-title' }, 'Add SSH key'),
      f.name.node, f.public_key.node, h('div', { class: 'form-actions' }, add));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { name: f.name.input.value.trim(), public_key: f.public_key.input.value.trim() };
      const errs = {};
      if (!body.name) errs.name = 'required';
      if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+/.test(body.public_key)) errs.public_key = 'an OpenSSH public key (ssh-ed25519, ecdsa or ssh-rsa)';
      showFieldErrors(f, errs);
      if (Object.keys(errs).length) return;
      try {
        const k = await api.post(`${base()}/ssh-keys`, body);
        toast(`Key added (${k.fingerprint})`);
        f.name.input.value = '';
        f.public_key.input.value = '';
        await refresh();
      } catch (err) {
        const se = serverFieldErrors(err);
        showFieldErrors(f, Object.keys(se).length ? se : { public_key: err.message });
      }
    });
    root.append(h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'SSH keys')), list), admin ? form : null);
    refresh();
  }

  // ---- billing ----
  function billingTab(root) {
    const subs = h('div', { id: 'bill-subs' });
    const pms = h('div', { id: 'bill-pms' });
    const cat = h('div', { id: 'bill-catalog' });
    root.append(h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Subscriptions')), subs),
      h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Payment methods')), pms),
      h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Catalog')), cat));
    api.get(`${base()}/subscriptions`).then((l) => subs.replaceChildren(table(['Name', 'Status', 'Price', 'Renewal', 'Next billing'], l.map((s) =>
      h('tr', null, h('td', null, s.name), h('td', null, s.status), h('td', null, money(s.price_cents, s.currency)),
        h('td', null, money(s.renewal_price_cents, s.currency)), h('td', null, formatDate(s.next_billing_at))))))).catch((err) => subs.replaceChildren(alertBox('error', err.message)));
    api.get(`${base()}/payment-methods`).then((l) => pms.replaceChildren(table(['Name', 'Identifier', 'Default'], l.map((p) =>
      h('tr', null, h('td', null, p.name), h('td', null, p.identifier), h('td', null, p.is_default ? 'yes' : '')))))).catch((err) => pms.replaceChildren(alertBox('error', err.message)));
    api.get(`${base()}/catalog`).then((l) => cat.replaceChildren(table(['Item', 'Category', 'Price', 'First period', 'Period'], l.map((c) =>
      h('tr', { dataset: { item: c.id } }, h('td', null, c.name), h('td', null, c.category), h('td', null, money(c.price_cents, c.currency)),
        h('td', null, money(c.first_period_price_cents, c.currency)), h('td', null, `${c.period} ${c.period_unit}`)))))).catch((err) => cat.replaceChildren(alertBox('error', err.message)));
  }

  container.append(
    pageHeader('Hosting', 'DNS, domains, servers and billing at your providers'),
    error,
    h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', null, 'Providers')), provBody),
    h('section', { class: 'card card-body' },
      h('div', { class: 'form-row' }, h('label', { class: 'field field-narrow' }, 'Provider', picker), tabs)),
    panel);
  return loadProviders();
}
