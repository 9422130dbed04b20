// SSL/TLS page: the certificates of GET /api/ssl/status (searched, sorted
// and paged by the server) with expiry bars (days left of a 90-day
// certificate), issuer, auto-renew and the last attempt, a site with HTTPS
// pending among them; the sites without any (searched and paged here);
// Issue / Renew buttons (admins), which run the ACME order inside the
// request; and the recent attempts of GET /api/ssl/attempts with their
// errors (expandable).
import { h, pageHeader, badge, alertBox, toast, formatDate, isAdmin, loadCss, listControls, fetchPage, pageOf } from '../ui.js';

const FULL_DAYS = 90;

// The bar's share and colour for days left.
export function expiryLevel(daysLeft) {
  if (typeof daysLeft !== 'number') return { pct: 0, kind: 'unknown' };
  const pct = Math.max(0, Math.min(100, Math.round((daysLeft / FULL_DAYS) * 100)));
  if (daysLeft < 0) return { pct: 0, kind: 'err' };
  if (daysLeft < 7) return { pct, kind: 'err' };
  if (daysLeft < 30) return { pct, kind: 'warn' };
  return { pct, kind: 'ok' };
}

// HTTPS asked for, no certificate file yet: the vhost still serves plain HTTP
function pending(c) {
  return c.managed && !c.cert_path;
}

function expiryCell(c) {
  const { pct, kind } = pending(c) ? { pct: 0, kind: 'warn' } : expiryLevel(c.days_left);
  const bar = h('div', { class: `progress-bar${kind === 'ok' ? '' : ` ${kind}`}` });
  bar.style.width = `${pct}%`;
  let label;
  if (pending(c)) label = 'no certificate yet: HTTPS pending';
  else if (typeof c.days_left !== 'number') label = 'unreadable certificate';
  else if (c.days_left < 0) label = `expired ${-c.days_left} day${c.days_left === -1 ? '' : 's'} ago`;
  else label = `${c.days_left} day${c.days_left === 1 ? '' : 's'} left`;
  return h('td', { class: 'ssl-expiry', dataset: { field: 'expiry' } },
    h('div', { class: 'progress ssl-progress', title: c.not_after ? `valid until ${c.not_after}` : '' }, bar),
    h('div', { class: `ssl-days ssl-days-${kind}`, dataset: { field: 'days_left' } }, label),
    h('div', { class: 'muted ssl-dates' },
      c.not_before ? `${formatDate(c.not_before)} → ` : '',
      c.not_after ? formatDate(c.not_after) : ''));
}

function errorDetails(text, summary = 'Show error') {
  return h('details', { class: 'ssl-error' },
    h('summary', null, summary),
    h('pre', { dataset: { field: 'error' } }, text));
}

function lastAttemptCell(c) {
  if (!c.last_result) return h('td', { dataset: { field: 'last_attempt' } }, h('span', { class: 'muted' }, '—'));
  const ok = c.last_result === 'success';
  return h('td', { dataset: { field: 'last_attempt' } },
    badge(ok ? 'success' : 'failed', ok ? 'ok' : 'err'), ' ',
    h('span', { class: 'muted' }, formatDate(c.last_attempt_at)),
    !ok && c.last_error ? errorDetails(c.last_error) : null);
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/ssl.css');
  const admin = isAdmin(user);
  const running = new Set();

  const listError = h('div', { id: 'ssl-error' });
  const count = h('span', { class: 'muted', dataset: { field: 'cert-count' } }, '');
  const cols = admin ? 6 : 5;
  const tbody = h('tbody', null, h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'Loading…')));
  const table = h('table', { id: 'ssl-table' },
    h('thead', null, h('tr', null,
      h('th', null, 'Domain'),
      h('th', null, 'Issuer'),
      h('th', null, 'Expiry'),
      h('th', null, 'Auto-renew'),
      h('th', null, 'Last attempt'),
      admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
    tbody);

  // search, sort and paging of the certificates by the server
  const certs = listControls({
    id: 'ssl', label: 'certificates', perPage: 25, placeholder: 'Search domains and issuers',
    sorts: [['domain', 'Domain'], ['days_left', 'Days left'], ['issuer', 'Issuer']],
    load: (qs) => fetchPage('/api/ssl/status', qs),
    show: (rows, total) => {
      count.textContent = `${total} ${total === 1 ? 'certificate' : 'certificates'}`;
      tbody.replaceChildren(...(rows.length
        ? rows.map(certRow)
        : [h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, certs.state.q ? 'No certificate matches.' : 'No certificates yet.'))]));
    },
  });

  // Sites with no entry in the certificates list: derived here from two
  // lists, so this one is searched and paged in the page.
  let bare = [];
  let attempts = [];
  const lastOf = (d) => attempts.find((a) => a.domain === d);
  const sitesCount = h('span', { class: 'muted', dataset: { field: 'bare-count' } }, '');
  const sitesBody = h('tbody');
  const sites = listControls({
    id: 'ssl-sites', label: 'sites without a certificate', perPage: 25, placeholder: 'Search sites',
    load: async (qs) => pageOf(bare, qs, ['domain', 'aliases']),
    show: (rows, total) => {
      sitesCount.textContent = `${total} ${total === 1 ? 'site' : 'sites'}`;
      sitesBody.replaceChildren(...(rows.length
        ? rows.map((s) => siteRow(s, lastOf(s.domain)))
        : [h('tr', null, h('td', { colspan: admin ? '4' : '3', class: 'empty' }, 'No site matches.'))]));
    },
  });
  const sitesCard = h('section', { class: 'card', id: 'ssl-sites', hidden: true },
    h('div', { class: 'card-header' }, h('h2', null, 'Sites without a certificate'), sitesCount),
    h('div', { class: 'card-body' }, sites.node),
    h('div', { class: 'table-wrap' },
      h('table', { id: 'ssl-sites-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'Site'), h('th', null, 'Aliases'), h('th', null, 'Last attempt'),
          admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
        sitesBody)),
    h('div', { class: 'card-body' }, sites.pager));

  const attemptsBody = h('tbody', null, h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'Loading…')));
  const attemptsCard = h('section', { class: 'card', id: 'ssl-attempts' },
    h('div', { class: 'card-header' }, h('h2', null, 'Recent attempts')),
    h('div', { class: 'table-wrap' },
      h('table', { id: 'ssl-attempts-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'When'), h('th', null, 'Domain'), h('th', null, 'Kind'),
          h('th', null, 'Result'), h('th', null, 'Details'))),
        attemptsBody)));

  const sections = [pageHeader('SSL/TLS', 'Certificates issued and renewed over ACME (HTTP-01)')];
  if (!admin) {
    sections.push(alertBox('info', 'You are signed in as a viewer: you can see the certificates but not issue or renew them.'));
  }
  sections.push(listError,
    h('section', { class: 'card', id: 'ssl-certs' },
      h('div', { class: 'card-header' }, h('h2', null, 'Certificates'), count),
      h('div', { class: 'card-body' }, certs.node),
      h('div', { class: 'table-wrap' }, table),
      h('div', { class: 'card-body' }, certs.pager)),
    sitesCard,
    attemptsCard);
  container.replaceChildren(...sections);

  function actionButton(domain, action) {
    const label = action === 'issue' ? 'Issue' : 'Renew';
    const b = h('button', {
      class: `btn btn-sm${action === 'issue' ? ' btn-primary' : ''}`,
      type: 'button',
      dataset: { action, domain },
      disabled: running.has(domain),
    }, running.has(domain) ? 'Working…' : label);
    b.addEventListener('click', () => run(domain, action, b));
    return b;
  }

  async function run(domain, action, button) {
    if (running.has(domain)) return;
    running.add(domain);
    button.disabled = true;
    button.textContent = action === 'issue' ? 'Issuing…' : 'Renewing…';
    try {
      await api.post(`/ssl/${encodeURIComponent(domain)}/${action}`);
      toast(action === 'issue' ? `Certificate issued for ${domain}` : `Certificate renewed for ${domain}`);
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(alertBox('error', `${domain}: ${err.message}`));
      toast(err.message, 'error');
    } finally {
      running.delete(domain);
    }
    await load();
  }

  function certRow(c) {
    const cells = [
      h('td', null,
        h('div', { class: 'ssl-domain', dataset: { field: 'domain' } }, c.domain),
        c.managed ? null : h('div', { class: 'muted ssl-note' }, 'not managed by the panel')),
      h('td', { dataset: { field: 'issuer' } }, c.issuer || h('span', { class: 'muted' }, '—')),
      expiryCell(c),
      h('td', { dataset: { field: 'auto_renew' } }, c.auto_renew ? badge('on', 'ok') : badge('off', 'plain')),
      lastAttemptCell(c),
    ];
    if (admin) cells.push(h('td', { class: 'actions' }, c.managed ? actionButton(c.domain, pending(c) ? 'issue' : 'renew') : null));
    return h('tr', { dataset: { domain: c.domain } }, ...cells);
  }

  function siteRow(s, last) {
    const cells = [
      h('td', { dataset: { field: 'domain' } }, s.domain),
      h('td', { class: 'muted' }, s.aliases || '—'),
      h('td', null, last ? [badge(last.result, last.result === 'success' ? 'ok' : 'err'), ' ',
        h('span', { class: 'muted' }, formatDate(last.created_at)),
        last.error ? errorDetails(last.error) : null] : h('span', { class: 'muted' }, '—')),
    ];
    if (admin) cells.push(h('td', { class: 'actions' }, actionButton(s.domain, 'issue')));
    return h('tr', { dataset: { domain: s.domain } }, ...cells);
  }

  function attemptRow(a) {
    const ok = a.result === 'success';
    return h('tr', { dataset: { attempt: String(a.id), domain: a.domain } },
      h('td', { class: 'muted' }, formatDate(a.created_at)),
      h('td', null, a.domain),
      h('td', null, a.kind),
      h('td', { dataset: { field: 'result' } }, badge(ok ? 'success' : 'failed', ok ? 'ok' : 'err')),
      h('td', null, ok
        ? h('span', { class: 'muted' }, a.not_after ? `valid until ${formatDate(a.not_after)}` : '')
        : errorDetails(a.error || 'unknown error', 'Error')));
  }

  async function load() {
    let listed;
    let siteList = [];
    try {
      // every domain the certificates list has (any page), to leave out of
      // "Sites without a certificate": each domain is listed once
      [listed, attempts, siteList] = await Promise.all([
        api.get('/api/ssl/status'),
        api.get('/api/ssl/attempts').catch(() => []),
        api.get('/sites').catch(() => []),
        certs.reload(),
      ]);
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(alertBox('error', `Could not load certificates: ${err.message}`));
      tbody.replaceChildren();
      return;
    }
    attempts = Array.isArray(attempts) ? attempts : [];
    const withEntry = new Set((Array.isArray(listed) ? listed : []).map((c) => c.domain));
    bare = (Array.isArray(siteList) ? siteList : []).filter((s) => !withEntry.has(s.domain));
    await sites.reload();
    sitesCard.hidden = bare.length === 0;

    attemptsBody.replaceChildren(...(attempts.length
      ? attempts.map(attemptRow)
      : [h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'No attempts yet.'))]));
  }

  await load();
}
