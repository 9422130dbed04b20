// Site detail (GET /sites/{id} -> {"Site", "Deployments"}): info and SSL
// cards, deploy/start/stop/restart, edit (a PUT of the changed fields only),
// delete (files kept), the deployments with their output, and a live tail of
// the app's journal over Server-Sent Events.
import { h, pageHeader, badge, alertBox, toast, modal, formatDate, isAdmin, loadCss } from '../ui.js';
import { statusBadge, runningBadge, sslBadge, sslState, typeLabel } from './sites.js';
import { APP_TYPES, HEADER_MODES, checkField, fieldOfError, postPrefer, followDeployment, isSuccess } from './site-new.js';

const REFRESH_MS = 5000;
const LIVE_MAX_LINES = 5000;
const EDIT_FIELDS = ['domain', 'aliases', 'app_type', 'app_root', 'app_entry', 'app_port', 'git_repo', 'git_branch',
  'ssl_cert_path', 'ssl_key_path', 'max_body_size', 'security_headers'];
const EDIT_FLAGS = ['enabled', 'ssl_enabled', 'ssl_auto'];

function siteIdFromPath() {
  const m = /^\/sites\/([^/]+)\/?$/.exec(location.pathname);
  return m ? decodeURIComponent(m[1]) : '';
}

function duration(a, b) {
  if (!a || !b) return '—';
  const ms = new Date(b).getTime() - new Date(a).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return '< 1 s'; // the times have whole seconds
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function deploymentKind(status) {
  if (isSuccess(status)) return 'ok';
  if (['failed', 'error'].includes(String(status))) return 'err';
  if (['running', 'pending', 'queued'].includes(String(status))) return 'warn';
  return null;
}

// The service a site's status and start/stop are about: its own unit, or
// AUTARCH's web unit for an autarch site (nginx in front of it).
function serviceOf(site) {
  return site.app_type === 'autarch' ? 'autarch-web.service' : `app-${site.domain}.service`;
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/sites.css');
  const admin = isAdmin(user);
  const id = siteIdFromPath();
  const base = `/sites/${encodeURIComponent(id)}`;

  let site = null;
  let deployments = [];
  let busy = false;
  let alive = true;
  let dns = null; // GET /sites/{id}/dns: does the domain point at this server?
  const expanded = new Set(); // deployment ids whose output is shown
  const live = new Map(); // deployment id -> output text followed live

  let detail;
  try {
    detail = await api.get(base);
  } catch (err) {
    if (err.status === 401) return undefined;
    if (err.status === 404 || err.status === 400) {
      container.replaceChildren(pageHeader('Site not found'),
        h('div', { class: 'card notice', id: 'site-missing' },
          h('div', { class: 'notice-icon', 'aria-hidden': 'true' }, '?'),
          h('div', null, h('h2', null, 'There is no such site'), h('p', null, h('a', { href: '/sites' }, 'Back to the sites')))));
      return undefined;
    }
    throw err;
  }
  site = (detail && detail.Site) || {};
  deployments = Array.isArray(detail && detail.Deployments) ? detail.Deployments : [];

  // ---- layout ----
  const title = h('h1', { id: 'site-domain' });
  const subtitle = h('p', { class: 'subtitle', id: 'site-subtitle' });
  const actionBar = h('div', { class: 'page-actions site-actions', id: 'site-actions' });
  const header = h('div', { class: 'page-header' },
    h('div', null, h('p', { class: 'site-crumb' }, h('a', { href: '/sites' }, 'Sites'), ' /'), title, subtitle),
    actionBar);
  const pageError = h('div', { id: 'site-error' });
  const infoBody = h('div', { class: 'card-body' });
  const sslBody = h('div', { class: 'card-body' });
  const depBody = h('tbody');
  const depCount = h('span', { class: 'muted', id: 'deployments-count' });

  const logOut = h('pre', { class: 'site-log', id: 'site-log-output', tabindex: '0', 'aria-live': 'off' });
  const logStatus = h('span', { class: 'muted', id: 'site-log-status' });
  const pauseBtn = h('button', { class: 'btn btn-sm', type: 'button', id: 'site-log-pause' }, 'Pause');
  const clearBtn = h('button', { class: 'btn btn-sm btn-ghost', type: 'button', id: 'site-log-clear' }, 'Clear');
  const logCardBody = h('div', { class: 'card-body' });

  container.replaceChildren(...[
    header,
    pageError,
    admin ? null : alertBox('info', 'You are signed in as a viewer: you can see this site but not change it.'),
    h('div', { class: 'site-grid' },
      h('section', { class: 'card', id: 'site-info' }, h('div', { class: 'card-header' }, h('h2', null, 'Site')), infoBody),
      h('section', { class: 'card', id: 'site-ssl' }, h('div', { class: 'card-header' }, h('h2', null, 'SSL/TLS')), sslBody)),
    h('section', { class: 'card', id: 'site-deployments' },
      h('div', { class: 'card-header' }, h('h2', null, 'Deployments'), depCount),
      h('div', { class: 'table-wrap' },
        h('table', { id: 'deployments-table' },
          h('thead', null, h('tr', null,
            h('th', null, '#'), h('th', null, 'Type'), h('th', null, 'Status'),
            h('th', null, 'Started'), h('th', null, 'Duration'), h('th', null, h('span', { class: 'sr-only' }, 'Output')))),
          depBody))),
    h('section', { class: 'card', id: 'site-logs' },
      h('div', { class: 'card-header' }, h('h2', null, 'Application log'),
        h('div', { class: 'site-log-tools' }, logStatus, pauseBtn, clearBtn)),
      logCardBody),
  ].filter(Boolean));

  // ---- info, SSL, actions ----
  function kv(rows) {
    return h('dl', { class: 'kv' }, rows.flatMap(([label, value, field]) => [
      h('dt', null, label),
      h('dd', { dataset: { field } }, value === '' || value === null || value === undefined ? h('span', { class: 'muted' }, '—') : value),
    ]));
  }

  function renderInfo() {
    document.title = `${site.domain} · Setec Manager`;
    title.textContent = site.domain || `Site ${id}`;
    subtitle.textContent = `${typeLabel(site.app_type)} site`;
    const app = site.app_type !== 'static';
    const own = site.app_type === 'python' || site.app_type === 'node'; // a unit of its own
    const live = `${sslState(site) === 'on' ? 'https' : 'http'}://${site.domain}/`;
    infoBody.replaceChildren(kv([
      ['Live site', h('a', { href: live, target: '_blank', rel: 'noopener', id: 'site-live-link' }, live), 'live'],
      ['Status', h('span', null, statusBadge(site), ' ', runningBadge(site)), 'status'],
      ['Enabled', site.enabled === false ? badge('disabled', 'warn') : badge('enabled', 'ok'), 'enabled'],
      ['Type', typeLabel(site.app_type), 'app_type'],
      ['Aliases', site.aliases || '', 'aliases'],
      ['DNS', dnsNode(), 'dns'],
      site.dns_provider ? ['DNS provider', site.dns_provider, 'dns_provider'] : null,
      ['App root', site.app_root ? h('span', { class: 'mono' }, site.app_root) : '', 'app_root'],
      own ? ['Entry', site.app_entry ? h('span', { class: 'mono' }, site.app_entry) : '', 'app_entry'] : null,
      app ? ['Port', site.app_port ? String(site.app_port) : '', 'app_port'] : null,
      app ? ['Service', h('span', { class: 'mono' }, serviceOf(site)), 'unit'] : null,
      ['Git repository', site.git_repo ? h('span', { class: 'mono' }, site.git_repo) : '', 'git_repo'],
      ['Branch', site.git_repo ? (site.git_branch || 'main') : '', 'git_branch'],
      ['Largest request body', site.max_body_size || 'server default', 'max_body_size'],
      ['Security headers', site.security_headers || 'default', 'security_headers'],
      site.created_at ? ['Created', formatDate(site.created_at), 'created_at'] : null,
      site.updated_at ? ['Updated', formatDate(site.updated_at), 'updated_at'] : null,
    ].filter(Boolean)));

    sslBody.replaceChildren(
      kv([
        ['HTTPS', sslBadge(site), 'ssl_enabled'],
        site.ssl_cert_path ? ['Certificate', h('span', { class: 'mono' }, site.ssl_cert_path), 'ssl_cert_path'] : null,
        site.ssl_key_path ? ['Key', h('span', { class: 'mono' }, site.ssl_key_path), 'ssl_key_path'] : null,
        site.ssl_auto !== undefined ? ['Auto-renew', site.ssl_auto ? 'yes' : 'no', 'ssl_auto'] : null,
      ].filter(Boolean)),
      h('p', { class: 'muted site-ssl-note' }, sslState(site) === 'on'
        ? 'Port 80 answers ACME challenges and redirects everything else to HTTPS.'
        : (sslState(site) === 'pending'
          ? 'HTTPS is asked for but there is no certificate yet: the site is still served over plain HTTP. Issue one on the '
          : 'The site is served over plain HTTP. Certificates are issued on the '),
      sslState(site) === 'on' ? null : h('a', { href: '/ssl' }, 'SSL/TLS page'),
      sslState(site) === 'on' ? null : '.'));
    renderActions();
  }

  // One lookup (getaddrinfo on the server) when the page opens.
  function dnsNode() {
    if (!dns) return h('span', { class: 'muted', id: 'site-dns' }, 'checking…');
    const seen = dns.addresses && dns.addresses.length ? dns.addresses.join(', ') : (dns.error || 'no address');
    const here = (dns.server_addresses || []).join(', ') || 'unknown';
    return h('span', { id: 'site-dns', title: `this server: ${here}` },
      dns.points_here ? badge('points here', 'ok') : badge('points elsewhere', 'warn'), ' ',
      h('span', { class: 'mono muted' }, seen));
  }

  async function checkDns() {
    try {
      dns = await api.get(`${base}/dns`);
    } catch (err) {
      dns = { points_here: false, addresses: [], error: `lookup failed: ${err.message}` };
    }
    if (alive) renderInfo();
  }

  function actionButton(action, label, cls, handler) {
    return h('button', { class: `btn ${cls}`, type: 'button', id: `site-${action}`, dataset: { action }, disabled: busy, onclick: handler }, label);
  }

  function renderActions() {
    if (!admin) {
      actionBar.replaceChildren();
      return;
    }
    const app = site.app_type !== 'static';
    const buttons = [];
    if (app || site.git_repo) buttons.push(actionButton('deploy', 'Deploy', 'btn-primary', deploy));
    if (app) {
      buttons.push(actionButton('start', 'Start', '', () => control('start', 'started')));
      buttons.push(actionButton('stop', 'Stop', '', confirmStop));
      buttons.push(actionButton('restart', 'Restart', '', () => control('restart', 'restarted')));
    }
    buttons.push(actionButton('backup', 'Back up now', '', backupNow));
    buttons.push(actionButton('edit', 'Edit', '', edit));
    buttons.push(actionButton('delete', 'Delete', 'btn-danger', remove));
    actionBar.replaceChildren(...buttons);
  }

  // a site backup from here, without looking up anything on the Backups page
  async function backupNow() {
    setBusy(true);
    try {
      const b = await api.post(`/backups/site/${encodeURIComponent(site.id)}`);
      const file = String(b.path || '').split('/').pop();
      toast(`Backup of ${site.domain} made: ${file}. It is listed on the Backups page.`);
    } catch (err) {
      if (err.status !== 401) toast(`Backup of ${site.domain} failed: ${err.message}`, 'error');
    } finally {
      setBusy(false);
    }
  }

  function setBusy(b) {
    busy = b;
    for (const btn of actionBar.querySelectorAll('button')) btn.disabled = b;
  }

  async function reload() {
    try {
      const d = await api.get(base);
      site = (d && d.Site) || site;
      deployments = Array.isArray(d && d.Deployments) ? d.Deployments : deployments;
      pageError.replaceChildren();
      renderInfo();
      renderDeployments();
    } catch (err) {
      if (err.status === 401) return;
      if (err.status === 404) {
        pageError.replaceChildren(alertBox('error', 'This site no longer exists.'));
        stopRefresh();
        return;
      }
      pageError.replaceChildren(alertBox('error', `Could not refresh: ${err.message}`));
    }
  }

  // Only status and running change on their own; a cheap refresh of the list
  // row keeps the badges live without redrawing the deployments.
  async function refreshStatus() {
    if (busy || !alive) return;
    try {
      const rows = await api.get('/sites');
      const row = Array.isArray(rows) ? rows.find((r) => String(r.id) === String(site.id)) : null;
      if (!row) return;
      if (row.status !== site.status || row.running !== site.running || row.enabled !== site.enabled) {
        Object.assign(site, { status: row.status, running: row.running, enabled: row.enabled });
        renderInfo();
      }
    } catch {
      // the next tick retries; actions show their own errors
    }
  }

  async function control(action, done) {
    setBusy(true);
    try {
      await api.post(`${base}/${action}`);
      toast(`${site.domain} ${done}.`);
    } catch (err) {
      if (err.status !== 401) toast(`Could not ${action} ${site.domain}: ${err.message}`, 'error');
    } finally {
      setBusy(false);
      await reload();
    }
  }

  async function confirmStop() {
    const ok = await modal({
      title: `Stop ${site.domain}?`,
      text: `The service ${serviceOf(site)} is stopped; nginx answers 502 for the site until it is started again.`,
      confirmLabel: 'Stop',
      danger: true,
    });
    if (ok) await control('stop', 'stopped');
  }

  async function deploy() {
    setBusy(true);
    try {
      const answer = await postPrefer(`${base}/deploy`);
      const depId = answer.data && answer.data.deployment_id;
      if (answer.status === 202 && depId !== undefined && depId !== null) {
        // follow the output live in the deployments table
        toast(`Deploying ${site.domain}…`);
        await reload();
        expanded.add(String(depId));
        live.set(String(depId), '');
        renderDeployments();
        const end = await followDeployment(`${base}/deployments/${encodeURIComponent(depId)}/stream`, (chunk) => {
          const t = `${live.get(String(depId)) || ''}${chunk.endsWith('\n') ? chunk : `${chunk}\n`}`;
          live.set(String(depId), t);
          const pre = depBody.querySelector(`tr[data-output-for="${CSS.escape(String(depId))}"] pre`);
          if (pre) {
            pre.textContent = t;
            pre.scrollTop = pre.scrollHeight;
          }
        });
        live.delete(String(depId));
        if (end.status && !isSuccess(end.status)) toast(`Deploy of ${site.domain} failed${end.error ? `: ${end.error}` : ''}.`, 'error');
        else if (end.status) toast(`${site.domain} deployed.`);
      } else {
        toast(`${site.domain} deployed.`);
      }
    } catch (err) {
      if (err.status !== 401) toast(`Deploy failed: ${err.message}`, 'error');
    } finally {
      setBusy(false);
      await reload();
    }
  }

  async function edit() {
    const inputs = {};
    const errs = {};
    const fieldNode = (name, label, control) => {
      inputs[name] = control;
      control.id = `edit-${name.replaceAll('_', '-')}`;
      control.name = name;
      control.dataset.field = name;
      errs[name] = h('div', { class: 'field-error', dataset: { errorFor: name } });
      return h('div', { class: 'field', dataset: { group: name } }, h('label', { for: control.id }, label), control, errs[name]);
    };
    const text = (value) => h('input', { type: 'text', value: value == null ? '' : String(value), spellcheck: 'false', autocomplete: 'off' });
    const type = h('select', null, APP_TYPES.map((t) => h('option', { value: t.value, selected: t.value === site.app_type }, t.label)));
    const original = {
      domain: site.domain || '', aliases: site.aliases || '', app_type: site.app_type || 'static', app_root: site.app_root || '',
      app_entry: site.app_entry || '', app_port: site.app_port ? String(site.app_port) : '0', git_repo: site.git_repo || '', git_branch: site.git_branch || '',
    };
    const nodes = [
      fieldNode('domain', 'Domain', text(original.domain)),
      fieldNode('aliases', 'Aliases', text(original.aliases)),
      fieldNode('app_type', 'Type', type),
      fieldNode('app_root', 'App root', text(original.app_root)),
      fieldNode('app_entry', 'Entry file', text(original.app_entry)),
      fieldNode('app_port', 'Port', h('input', { type: 'number', min: '0', max: '65535', value: original.app_port })),
      fieldNode('git_repo', 'Git repository', text(original.git_repo)),
      fieldNode('git_branch', 'Branch', text(original.git_branch)),
    ];
    original.ssl_cert_path = site.ssl_cert_path || '';
    original.ssl_key_path = site.ssl_key_path || '';
    nodes.push(fieldNode('ssl_cert_path', 'Certificate (PEM)', text(original.ssl_cert_path)));
    nodes.push(fieldNode('ssl_key_path', 'Private key (PEM)', text(original.ssl_key_path)));
    original.max_body_size = site.max_body_size || '';
    original.security_headers = site.security_headers || 'default';
    const bodySize = text(original.max_body_size);
    bodySize.placeholder = 'Server default';
    nodes.push(fieldNode('max_body_size', 'Largest request body (e.g. 10m, 512k, 1g; empty: server default)', bodySize));
    nodes.push(fieldNode('security_headers', 'Security headers',
      h('select', null, HEADER_MODES.map((m) => h('option', { value: m.value, selected: m.value === original.security_headers }, m.label)))));
    const flags = {};
    const flag = (name, label, value) => {
      flags[name] = h('input', { type: 'checkbox', id: `edit-${name.replaceAll('_', '-')}`, checked: Boolean(value), dataset: { field: name } });
      return h('label', { class: 'site-check', for: flags[name].id }, flags[name], ` ${label}`);
    };
    const flagOriginal = { enabled: site.enabled !== false, ssl_enabled: Boolean(site.ssl_enabled), ssl_auto: site.ssl_auto !== false };
    nodes.push(h('div', { class: 'field site-checks' },
      flag('enabled', 'Enabled (served by nginx; the app service runs)', flagOriginal.enabled),
      flag('ssl_enabled', 'HTTPS (needs a certificate and key)', flagOriginal.ssl_enabled),
      flag('ssl_auto', 'Renew the certificate automatically', flagOriginal.ssl_auto)));
    const sync = () => {
      const app = type.value !== 'static';
      nodes[4].hidden = !app;
      nodes[5].hidden = !app;
    };
    type.addEventListener('change', sync);
    sync();

    const done = await modal({
      title: `Edit ${site.domain}`,
      text: 'Only the fields you change are sent. Renaming the domain moves the nginx vhost and the service.',
      body: [h('div', { class: 'site-edit', id: 'site-edit-form' }, nodes)],
      confirmLabel: 'Save',
      onConfirm: async () => {
        const v = {};
        for (const n of EDIT_FIELDS) v[n] = String(inputs[n].value || '').trim();
        v.domain = v.domain.toLowerCase();
        v.aliases = v.aliases.toLowerCase().split(/\s+/).filter(Boolean).join(' ');
        let bad = '';
        for (const n of EDIT_FIELDS) {
          const msg = checkField(n, v);
          errs[n].textContent = msg;
          if (msg && !bad) bad = msg;
        }
        if (bad) throw new Error(bad);
        const changed = {};
        for (const n of EDIT_FIELDS) {
          if (v[n] === original[n]) continue;
          changed[n] = n === 'app_port' ? Number(v[n] || 0) : v[n];
        }
        for (const n of EDIT_FLAGS) {
          if (flags[n].checked !== flagOriginal[n]) changed[n] = flags[n].checked;
        }
        if (Object.keys(changed).length === 0) return;
        try {
          await api.put(base, changed);
        } catch (err) {
          const f = fieldOfError(err.message, EDIT_FIELDS);
          if (f) errs[f].textContent = err.message;
          throw err;
        }
        toast(`${Object.keys(changed).join(', ')} saved.`);
      },
    });
    if (done) await reload();
  }

  async function remove() {
    const done = await modal({
      title: `Delete ${site.domain}?`,
      text: `The nginx vhost is disabled${site.app_type === 'python' || site.app_type === 'node' ? `, the service ${serviceOf(site)} is stopped and removed` : ''} and the site's record is deleted. The files in ${site.app_root || 'the app root'} are kept on the server.`,
      confirmLabel: 'Delete site',
      danger: true,
      onConfirm: () => api.del(base),
    });
    if (!done) return;
    alive = false;
    stopRefresh();
    stopLog();
    toast(`${site.domain} deleted; its files are kept.`);
    location.href = '/sites';
  }

  // ---- deployments ----
  function renderDeployments() {
    depCount.textContent = deployments.length ? `last ${deployments.length}` : '';
    if (!deployments.length) {
      depBody.replaceChildren(h('tr', null, h('td', { colspan: '6', class: 'empty', id: 'deployments-empty' }, 'No deployments yet.')));
      return;
    }
    const rows = [];
    for (const d of deployments) {
      const key = String(d.id);
      const open = expanded.has(key);
      const toggle = h('button', {
        class: 'btn btn-sm btn-ghost', type: 'button', dataset: { action: 'output' }, 'aria-expanded': open ? 'true' : 'false',
        onclick: () => {
          if (expanded.has(key)) expanded.delete(key);
          else expanded.add(key);
          renderDeployments();
        },
      }, open ? 'Hide output' : 'Output');
      const status = live.has(key) && (!d.status || d.status === 'running') ? 'running' : (d.status || 'unknown');
      rows.push(h('tr', { dataset: { id: key, status } },
        h('td', { class: 'muted' }, key),
        h('td', { dataset: { field: 'type' } }, d.type || d.action || '—'),
        h('td', { dataset: { field: 'status' } }, badge(status, deploymentKind(status))),
        h('td', { class: 'muted' }, formatDate(d.created_at || d.started_at)),
        h('td', { class: 'muted' }, duration(d.created_at || d.started_at, d.finished_at)),
        h('td', { class: 'actions' }, toggle)));
      if (open) {
        const text = live.has(key) ? live.get(key) : (d.output || '');
        rows.push(h('tr', { class: 'deployment-output', dataset: { outputFor: key } },
          h('td', { colspan: '6' }, h('pre', { class: 'site-log site-log-short' }, text || '(no output)'))));
      }
    }
    depBody.replaceChildren(...rows);
  }

  // ---- live log ----
  let source = null;
  let paused = false;
  let held = [];
  let lineCount = 0;

  function appendLine(text) {
    logOut.classList.remove('empty-log');
    logOut.append(document.createTextNode(`${text}\n`));
    lineCount++;
    while (lineCount > LIVE_MAX_LINES && logOut.firstChild) {
      logOut.firstChild.remove();
      lineCount--;
    }
    logOut.scrollTop = logOut.scrollHeight;
  }

  function stopLog() {
    if (source) source.close();
    source = null;
  }

  // The stream starts with the unit's last lines (its backlog), then sends
  // new ones; EventSource resumes after the last one (Last-Event-ID = cursor).
  function startLog() {
    logCardBody.replaceChildren(logOut);
    logStatus.textContent = 'Connecting…';
    logOut.classList.add('empty-log');
    const es = new EventSource(`${base}/logs/stream`);
    source = es;
    es.onopen = () => {
      if (source === es) logStatus.textContent = paused ? 'Paused' : 'Following';
    };
    es.onmessage = (ev) => {
      if (source !== es) return;
      if (paused) held.push(ev.data);
      else appendLine(ev.data);
    };
    es.onerror = () => {
      if (source !== es) return;
      logStatus.textContent = es.readyState === EventSource.CLOSED ? 'Stream closed' : 'Reconnecting…';
    };
  }

  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.classList.toggle('btn-primary', paused);
    if (!paused) {
      const lines = held;
      held = [];
      for (const l of lines) appendLine(l);
      logStatus.textContent = 'Following';
    } else {
      logStatus.textContent = 'Paused (new lines are kept)';
    }
  });
  clearBtn.addEventListener('click', () => {
    logOut.replaceChildren();
    lineCount = 0;
  });

  // ---- periodic status ----
  let timer = null;
  function startRefresh() {
    if (!timer && alive) timer = setInterval(refreshStatus, REFRESH_MS);
  }
  function stopRefresh() {
    if (timer) clearInterval(timer);
    timer = null;
  }
  function onVisibility() {
    if (document.visibilityState === 'visible') {
      refreshStatus();
      startRefresh();
    } else {
      stopRefresh();
    }
  }
  document.addEventListener('visibilitychange', onVisibility);
  const onHide = () => {
    alive = false;
    stopLog();
    stopRefresh();
  };
  window.addEventListener('pagehide', onHide);

  renderInfo();
  renderDeployments();
  checkDns();
  if (site.app_type === 'static') {
    pauseBtn.hidden = true;
    clearBtn.hidden = true;
    logCardBody.replaceChildren(h('p', { class: 'muted', id: 'site-log-note' },
      'Static sites have no application process, so there are no app logs. nginx\'s access and error logs are on the ',
      h('a', { href: '/logs' }, 'Logs page'), '.'));
  } else {
    startLog();
  }
  if (document.visibilityState === 'visible') startRefresh();

  return () => {
    onHide();
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('pagehide', onHide);
  };
}

