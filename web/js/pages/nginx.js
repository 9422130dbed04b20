// Nginx page: status and config test (GET /nginx), Test / Reload / Restart
// buttons (admins; restart asks first), the output of the last test, and a
// vhost viewer (GET /nginx/config/{domain}) with the domains of GET /sites.
import { h, pageHeader, badge, alertBox, toast, confirmDialog, isAdmin, loadCss } from '../ui.js';
import { unitStateBadge } from '../ui.js';

// Mirrors the server's domain rule for quick feedback; the server checks again.
export function checkDomain(value) {
  const d = value.trim().toLowerCase();
  if (!d) return 'domain is required';
  if (d.length > 253) return 'domain must be a valid DNS host name';
  const ok = d.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l));
  return ok ? null : 'domain must be a valid DNS host name';
}

export function render(container, { api, user }) {
  loadCss('/css/pages/nginx.css');
  const admin = isAdmin(user);

  const running = h('span', { id: 'ngx-running', dataset: { field: 'running' } }, badge('loading', 'plain'));
  const configOk = h('span', { id: 'ngx-config-ok', dataset: { field: 'config_ok' } }, badge('loading', 'plain'));
  const error = h('div', { id: 'ngx-error' });
  const output = h('pre', { class: 'ngx-output', id: 'ngx-output', dataset: { field: 'config_test' } });
  const outputTitle = h('span', { id: 'ngx-output-title' }, 'Configuration test');

  const testBtn = h('button', { class: 'btn', type: 'button', id: 'ngx-test' }, 'Test config');
  const reloadBtn = h('button', { class: 'btn btn-primary', type: 'button', id: 'ngx-reload' }, 'Reload');
  const restartBtn = h('button', { class: 'btn btn-danger', type: 'button', id: 'ngx-restart' }, 'Restart');
  const actions = admin ? [testBtn, reloadBtn, restartBtn] : [];

  function showStatus(s) {
    running.replaceChildren(unitStateBadge(s.status || (s.running ? 'active' : 'unknown')));
    configOk.replaceChildren(s.config_ok ? badge('valid', 'ok') : badge('invalid', 'err'));
  }

  function showOutput(title, text, ok) {
    outputTitle.textContent = title;
    output.textContent = text || '(no output)';
    output.classList.toggle('ngx-output-bad', !ok);
  }

  async function load() {
    try {
      const s = await api.get('/nginx');
      error.replaceChildren();
      showStatus(s);
      showOutput('Configuration test', s.config_test, s.config_ok);
    } catch (err) {
      error.replaceChildren(alertBox('error', err.message));
    }
  }

  async function busy(fn) {
    for (const b of actions) b.disabled = true;
    try {
      await fn();
    } finally {
      for (const b of actions) b.disabled = false;
    }
  }

  testBtn.addEventListener('click', () => busy(async () => {
    try {
      const r = await api.post('/nginx/test');
      showOutput('Configuration test', r.output, r.valid);
      configOk.replaceChildren(r.valid ? badge('valid', 'ok') : badge('invalid', 'err'));
      toast(r.valid ? 'Configuration is valid' : 'Configuration test failed', r.valid ? 'ok' : 'error');
    } catch (err) {
      toast(err.message, 'error');
    }
  }));

  reloadBtn.addEventListener('click', () => busy(async () => {
    try {
      await api.post('/nginx/reload');
      toast('nginx reloaded');
      await load();
    } catch (err) {
      // a failed test comes back with nginx's own output
      if (err.body && typeof err.body.output === 'string') showOutput('Reload refused', err.body.output, false);
      error.replaceChildren(alertBox('error', err.message));
      toast(err.message, 'error');
    }
  }));

  restartBtn.addEventListener('click', () => busy(async () => {
    const ok = await confirmDialog('Restart nginx',
      'Every site is briefly unavailable while nginx restarts. Reload is enough for configuration changes.',
      'Restart');
    if (!ok) return;
    try {
      await api.post('/nginx/restart');
      toast('nginx restarted');
    } catch (err) {
      toast(err.message, 'error');
    }
    await load();
  }));

  // ---- vhost viewer ----
  const domain = h('input', { id: 'ngx-domain', name: 'domain', list: 'ngx-domains', placeholder: 'example.com', autocomplete: 'off', required: true });
  const domains = h('datalist', { id: 'ngx-domains' });
  const viewBtn = h('button', { class: 'btn btn-primary', type: 'submit', id: 'ngx-view' }, 'View');
  const vhostError = h('div', { id: 'ngx-vhost-error' });
  const vhost = h('pre', { class: 'ngx-output', id: 'ngx-vhost', hidden: true, dataset: { field: 'config' } });
  const siteList = h('div', { class: 'ngx-sites', id: 'ngx-sites' });

  async function view(name) {
    const problem = checkDomain(name);
    if (problem) {
      vhostError.replaceChildren(alertBox('error', problem));
      vhost.hidden = true;
      return;
    }
    try {
      const r = await api.get(`/nginx/config/${encodeURIComponent(name.trim().toLowerCase())}`);
      vhostError.replaceChildren();
      vhost.textContent = r.config;
      vhost.hidden = false;
    } catch (err) {
      vhostError.replaceChildren(alertBox('error', err.message));
      vhost.hidden = true;
    }
  }

  const viewer = h('form', { id: 'ngx-viewer', novalidate: true },
    h('div', { class: 'form-row' },
      h('label', { class: 'field' }, 'Domain (type to search)', domain, domains),
      h('div', { class: 'field field-narrow' }, viewBtn)));
  viewer.addEventListener('submit', (event) => {
    event.preventDefault();
    view(domain.value);
  });

  async function loadSites() {
    // the sites list may not exist on an older server: the input still works
    let sites = [];
    try {
      const r = await api.get('/sites');
      if (Array.isArray(r)) sites = r;
    } catch {
      return;
    }
    domains.replaceChildren(...sites.map((s) => h('option', { value: s.domain })));
    allSites = sites;
    showPicks();
  }

  // A searchable picker: the domain field filters the sites, and at most
  // PICKS of the matches are offered as buttons (36 sites are not 36 buttons).
  const PICKS = 8;
  let allSites = [];
  function showPicks() {
    const q = domain.value.trim().toLowerCase();
    const hits = allSites.filter((s) => !q || s.domain.includes(q) || String(s.aliases || '').includes(q));
    siteList.replaceChildren(...hits.slice(0, PICKS).map((s) => {
      const b = h('button', { class: 'btn btn-sm', type: 'button', dataset: { domain: s.domain } }, s.domain);
      b.addEventListener('click', () => {
        domain.value = s.domain;
        view(s.domain);
      });
      return b;
    }), hits.length > PICKS ? h('span', { class: 'muted', id: 'ngx-more' }, `and ${hits.length - PICKS} more: type to narrow`) : null,
    allSites.length && !hits.length ? h('span', { class: 'muted' }, 'No site matches.') : null);
  }
  domain.addEventListener('input', showPicks);

  container.append(
    pageHeader('Nginx', 'Web server status and virtual hosts', ...actions),
    error,
    h('section', { class: 'card card-body' },
      h('div', { class: 'ngx-status' },
        h('div', null, 'Status: ', running),
        h('div', null, 'Configuration: ', configOk))),
    h('section', { class: 'card card-body' },
      h('h2', { class: 'card-title' }, outputTitle),
      output),
    h('section', { class: 'card card-body', id: 'ngx-vhosts' },
      h('h2', { class: 'card-title' }, 'Virtual host configuration'),
      siteList,
      viewer,
      vhostError,
      vhost));
  return Promise.all([load(), loadSites()]);
}
