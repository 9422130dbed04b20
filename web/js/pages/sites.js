// Sites list (GET /sites) with live status: refreshed every 5 s while the
// page is visible, at once when it becomes visible again.
import { h, pageHeader, badge, alertBox, isAdmin, loadCss } from '../ui.js';
import { listControls, fetchPage } from '../ui.js';

const REFRESH_MS = 5000;

// Badge kind of a unit's ActiveState (or of the panel's own words for sites
// without a unit).
export function statusKind(status) {
  switch (String(status || '').toLowerCase()) {
    case 'active':
    case 'running':
    case 'serving':
      return 'ok';
    case 'failed':
    case 'error':
      return 'err';
    case 'activating':
    case 'deactivating':
    case 'reloading':
    case 'deploying':
    case 'provisioning':
      return 'warn';
    default:
      return null;
  }
}

export function typeLabel(type) {
  return { static: 'Static', python: 'Python', node: 'Node.js', autarch: 'AUTARCH' }[type] || String(type || '—');
}

// The status, running and SSL badges shared by the list and the detail page.
export function statusBadge(site) {
  // a static site has no unit: nginx serving it is its state
  if (site.app_type === 'static' || site.status === 'static') {
    return site.enabled === false ? badge('disabled', 'warn') : badge('serving', 'ok');
  }
  const status = site.status || 'unknown';
  return badge(status, statusKind(status));
}

export function runningBadge(site) {
  if (site.app_type === 'static') return badge('no app', null);
  return site.running ? badge('running', 'ok') : badge('stopped', 'err');
}

// ssl_state says what the vhost really serves: "pending" is HTTPS asked for
// without a certificate yet (still plain HTTP), never shown as on.
export function sslState(site) {
  return site.ssl_state || (site.ssl_enabled ? 'pending' : 'off');
}

export function sslBadge(site) {
  const st = sslState(site);
  if (st === 'on') return badge('HTTPS', 'ok');
  if (st === 'pending') return badge('HTTPS pending: no certificate yet', 'warn');
  return badge('HTTP only', null);
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/sites.css');
  const admin = isAdmin(user);

  const count = h('span', { class: 'muted', id: 'sites-count' });
  const updated = h('span', { class: 'updated-at', id: 'sites-updated' });
  const listError = h('div', { id: 'sites-error' });
  const tbody = h('tbody', null, h('tr', null, h('td', { colspan: '6', class: 'empty' }, 'Loading…')));
  const table = h('table', { id: 'sites-table', class: 'data-table' },
    h('thead', null, h('tr', null,
      h('th', null, 'Domain'),
      h('th', null, 'Type'),
      h('th', null, 'Status'),
      h('th', null, 'App'),
      h('th', null, 'SSL'),
      h('th', null, h('span', { class: 'sr-only' }, 'Open')))),
    tbody);

  const actions = admin ? [h('a', { class: 'btn btn-primary', href: '/sites/new', id: 'new-site' }, 'New site')] : [];
  const sections = [pageHeader('Sites', 'Web sites and applications served by nginx', ...actions)];
  if (!admin) sections.push(alertBox('info', 'You are signed in as a viewer: you can see the sites but not create or change them.'));
  // search, sort and paging by the server (a long list stays one screen)
  const list = listControls({
    id: 'sites', label: 'sites', perPage: 25, placeholder: 'Search domains and aliases',
    sorts: [['domain', 'Domain'], ['status', 'Status'], ['app_type', 'Type'], ['created_at', 'Created', 'desc']],
    load: (qs) => fetchPage('/sites', qs),
    show: (rows, total) => {
      count.textContent = `${total} ${total === 1 ? 'site' : 'sites'}`;
      tbody.replaceChildren(...(rows.length
        ? rows.map(row)
        : [h('tr', null, h('td', { colspan: '6', class: 'empty', id: 'sites-empty' },
          list.state.q ? 'No site matches.' : (admin ? 'No sites yet. ' : 'No sites yet.'),
          admin && !list.state.q ? h('a', { href: '/sites/new' }, 'Create the first one') : null))]));
    },
  });
  sections.push(h('section', { class: 'card', id: 'sites-list' },
    h('div', { class: 'card-header' }, h('h2', null, 'All sites'), h('div', { class: 'sites-meta' }, count, updated)),
    h('div', { class: 'card-body' }, list.node),
    listError,
    h('div', { class: 'table-wrap' }, table),
    h('div', { class: 'card-body' }, list.pager)));
  container.replaceChildren(...sections);

  let timer = null;
  let loading = false;
  let alive = true;

  function row(s) {
    const href = `/sites/${encodeURIComponent(s.id)}`;
    const aliases = String(s.aliases || '').trim();
    return h('tr', { dataset: { id: String(s.id), domain: s.domain, status: s.status || '', running: String(Boolean(s.running)) } },
      h('td', { dataset: { field: 'domain' } },
        h('a', { href, class: 'site-link' }, s.domain),
        aliases ? h('div', { class: 'muted site-aliases' }, aliases) : null,
        s.enabled === false ? h('div', null, badge('disabled', 'warn')) : null),
      h('td', { dataset: { field: 'type' } }, badge(typeLabel(s.app_type), s.app_type === 'static' ? null : 'primary'),
        s.app_port ? h('span', { class: 'muted site-port' }, ` :${s.app_port}`) : null),
      h('td', { dataset: { field: 'status' } }, statusBadge(s)),
      h('td', { dataset: { field: 'running' } }, runningBadge(s)),
      h('td', { dataset: { field: 'ssl' } }, sslBadge(s)),
      h('td', { class: 'actions' }, h('a', { class: 'btn btn-sm', href }, 'View')));
  }

  async function load() {
    if (loading || !alive) return;
    loading = true;
    try {
      await list.reload();
      listError.replaceChildren();
      updated.textContent = ` · updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (err.status === 401) {
        stop();
        return;
      }
      listError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load the sites: ${err.message}`)));
    } finally {
      loading = false;
    }
  }

  function start() {
    if (timer || !alive) return;
    timer = setInterval(load, REFRESH_MS);
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function onVisibility() {
    if (document.visibilityState === 'visible') {
      load();
      start();
    } else {
      stop();
    }
  }

  document.addEventListener('visibilitychange', onVisibility);
  await load();
  if (document.visibilityState === 'visible') start();

  return () => {
    alive = false;
    stop();
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
