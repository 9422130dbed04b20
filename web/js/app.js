// Shell of the panel: who is logged in, which nav entry is active, and which
// page module renders into <main id="content">. Navigation is plain links
// (full page loads); the server serves this shell for every page route.
import { api } from './api.js';
import { h, alertBox, pageHeader } from './ui.js';
import { startActivity } from './activity.js';

const ROUTES = [
  { match: /^\/$/, page: 'dashboard', nav: 'dashboard', title: 'Dashboard' },
  { match: /^\/sites\/new$/, page: 'site-new', nav: 'sites', title: 'New site', subtitle: 'Deploy a new site' },
  { match: /^\/sites\/[^/]+$/, page: 'site', nav: 'sites', title: 'Site', subtitle: 'Site details' },
  { match: /^\/sites$/, page: 'sites', nav: 'sites', title: 'Sites', subtitle: 'Web sites and applications' },
  { match: /^\/autarch$/, page: 'autarch', nav: 'autarch', title: 'AUTARCH', subtitle: 'AUTARCH installation and services' },
  { match: /^\/ssl$/, page: 'ssl', nav: 'ssl', title: 'SSL/TLS', subtitle: 'Certificates' },
  { match: /^\/nginx$/, page: 'nginx', nav: 'nginx', title: 'Nginx', subtitle: 'Web server status and configuration' },
  { match: /^\/firewall$/, page: 'firewall', nav: 'firewall', title: 'Firewall', subtitle: 'Firewall rules' },
  { match: /^\/(panel\/)?users$/, page: 'users', nav: 'users', title: 'Users', subtitle: 'Panel accounts and system users' },
  { match: /^\/backups$/, page: 'backups', nav: 'backups', title: 'Backups', subtitle: 'Site and full backups' },
  { match: /^\/hosting$/, page: 'hosting', nav: 'hosting', title: 'Hosting', subtitle: 'Hosting provider integration' },
  { match: /^\/jobs$/, page: 'jobs', nav: 'jobs', title: 'Activity', subtitle: 'Running and recent jobs' },
  { match: /^\/monitor$/, page: 'monitor', nav: 'monitor', title: 'Monitor', subtitle: 'CPU, memory, disk and services' },
  { match: /^\/logs$/, page: 'logs', nav: 'logs', title: 'Logs', subtitle: 'System and application logs' },
  { match: /^\/account$/, page: 'account', nav: 'account', title: 'My account', subtitle: 'Password, sessions and two-factor login' },
  { match: /^\/audit$/, page: 'audit', nav: 'audit', title: 'Audit log', subtitle: 'Who changed what, and when' },
  { match: /^\/tokens$/, page: 'tokens', nav: 'tokens', title: 'API tokens', subtitle: 'Named, scoped, expiring tokens for scripts' },
  { match: /^\/float(\/sessions)?$/, page: 'float', nav: 'float', title: 'Float Mode', subtitle: 'Remote sessions' },
];

export function resolveRoute(pathname) {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  return ROUTES.find((r) => r.match.test(path)) || null;
}

const content = document.getElementById('content');

// Theme switch: system -> light -> dark -> system (theme.js applies it
// before the first paint).
const THEMES = ['system', 'light', 'dark'];
function setupTheme() {
  const button = document.getElementById('theme-switch');
  if (!button) return;
  const current = () => document.documentElement.getAttribute('data-theme') || 'system';
  const label = () => {
    button.textContent = `Theme: ${current()}`;
  };
  label();
  button.addEventListener('click', () => {
    const next = THEMES[(THEMES.indexOf(current()) + 1) % THEMES.length];
    if (next === 'system') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', next);
    try {
      if (next === 'system') localStorage.removeItem('setec-theme');
      else localStorage.setItem('setec-theme', next);
    } catch {
      // not kept: applies to this page only
    }
    label();
  });
}

function setupNav(route) {
  for (const link of document.querySelectorAll('.nav a[data-nav], #my-account')) {
    const active = route && link.dataset.nav === route.nav;
    link.classList.toggle('active', active);
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }

  const layout = document.getElementById('layout');
  const toggle = document.getElementById('nav-toggle');
  const scrim = document.getElementById('scrim');
  const setOpen = (open) => {
    layout.classList.toggle('nav-open', open);
    toggle.setAttribute('aria-expanded', String(open));
    scrim.hidden = !open;
  };
  toggle.addEventListener('click', () => setOpen(!layout.classList.contains('nav-open')));
  scrim.addEventListener('click', () => setOpen(false));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') setOpen(false);
  });
}

function showUser(user) {
  document.getElementById('user-name').textContent = user.username;
  document.getElementById('user-avatar').textContent = (user.username || '?').slice(0, 1);
  const role = document.getElementById('user-role');
  role.textContent = user.role;
  role.className = `badge badge-plain ${user.role === 'admin' ? 'badge-primary' : ''}`;
  document.body.classList.toggle('role-viewer', user.role !== 'admin');
}

function setupLogout() {
  const button = document.getElementById('logout');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api.post('/logout');
    } catch {
      // Whatever the answer, the session is over from the user's view.
    }
    location.href = '/login';
  });
}

async function main() {
  const route = resolveRoute(location.pathname);
  setupNav(route);
  setupTheme();
  setupLogout();

  let user;
  try {
    user = await api.get('/api/auth/status');
  } catch (err) {
    if (err.status === 401) return; // api.js is already on its way to /login
    content.replaceChildren(pageHeader('Setec Manager'), alertBox('error', `Cannot load your session: ${err.message}`));
    return;
  }
  showUser(user);
  startActivity(api);

  if (!route) {
    document.title = 'Not found · Setec Manager';
    content.replaceChildren(pageHeader('Page not found'),
      h('div', { class: 'card notice' },
        h('div', { class: 'notice-icon', 'aria-hidden': 'true' }, '?'),
        h('div', null, h('h2', null, 'There is no page at this address'), h('p', null, h('a', { href: '/' }, 'Back to the dashboard')))));
    return;
  }

  document.title = `${route.title} · Setec Manager`;
  try {
    const mod = await import(`./pages/${route.page}.js`);
    content.replaceChildren();
    await mod.render(content, { api, user, route });
  } catch (err) {
    if (err.status === 401) return;
    content.replaceChildren(pageHeader(route.title), alertBox('error', err.message || String(err)));
  }
}

main();
