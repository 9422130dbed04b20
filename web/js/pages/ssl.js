// SSL/TLS page: the certificates of GET /api/ssl/status with expiry bars
// (days left of a 90-day certificate), issuer, auto-renew and the last
// attempt; Issue / Renew buttons (admins) for sites, which run the ACME order
// inside the request; and the recent attempts of GET /api/ssl/attempts with
// their errors (expandable).
import { h, pageHeader, badge, alertBox, toast, formatDate, isAdmin, loadCss } from '../ui.js';

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

function expiryCell(c) {
  const { pct, kind } = expiryLevel(c.days_left);
  const bar = h('div', { class: `progress-bar${kind === 'ok' ? '' : ` ${kind}`}` });
  bar.style.width = `${pct}%`;
  let label;
  if (typeof c.days_left !== 'number') label = 'unreadable certificate';
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

  const sitesBody = h('tbody');
  const sitesCard = h('section', { class: 'card', id: 'ssl-sites', hidden: true },
    h('div', { class: 'card-header' }, h('h2', null, 'Sites without a certificate')),
    h('div', { class: 'table-wrap' },
      h('table', { id: 'ssl-sites-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'Site'), h('th', null, 'Aliases'), h('th', null, 'Last attempt'),
          admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
        sitesBody)));

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
  // one search over both lists: a long SSL page narrows to what is typed
  const search = h('input', { type: 'search', id: 'ssl-q', placeholder: 'Search domains', autocomplete: 'off', spellcheck: 'false' });
  const applySearch = () => {
    const q = search.value.trim().toLowerCase();
    for (const tr of container.querySelectorAll('#ssl-table tbody tr[data-domain], #ssl-sites-table tbody tr[data-domain]')) {
      tr.hidden = Boolean(q) && !tr.dataset.domain.toLowerCase().includes(q);
    }
  };
  search.addEventListener('input', applySearch);
  sections.push(listError,
    h('div', { class: 'list-controls', role: 'search', 'aria-label': 'certificates' },
      h('label', { class: 'sr-only', for: 'ssl-q' }, 'Search certificates and sites'), search),
    h('section', { class: 'card', id: 'ssl-certs' },
      h('div', { class: 'card-header' }, h('h2', null, 'Certificates'), count),
      h('div', { class: 'table-wrap' }, table)),
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
    if (admin) cells.push(h('td', { class: 'actions' }, c.managed ? actionButton(c.domain, 'renew') : null));
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
    let certs;
    let attempts = [];
    let sites = [];
    try {
      [certs, attempts, sites] = await Promise.all([
        api.get('/api/ssl/status'),
        api.get('/api/ssl/attempts').catch(() => []),
        api.get('/sites').catch(() => []),
      ]);
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(alertBox('error', `Could not load certificates: ${err.message}`));
      tbody.replaceChildren();
      return;
    }
    certs = Array.isArray(certs) ? certs : [];
    attempts = Array.isArray(attempts) ? attempts : [];
    sites = Array.isArray(sites) ? sites : [];
    // a site with HTTPS asked for but no certificate file is listed once,
    // under "Sites without a certificate", not also as an unreadable one
    certs = certs.filter((c) => c.cert_path || !c.managed);
    count.textContent = `${certs.length} ${certs.length === 1 ? 'certificate' : 'certificates'}`;
    tbody.replaceChildren(...(certs.length
      ? certs.map(certRow)
      : [h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'No certificates yet.'))]));

    const withCert = new Set(certs.filter((c) => c.managed).map((c) => c.domain));
    const bare = sites.filter((s) => !withCert.has(s.domain));
    const lastOf = (d) => attempts.find((a) => a.domain === d);
    sitesBody.replaceChildren(...bare.map((s) => siteRow(s, lastOf(s.domain))));
    sitesCard.hidden = bare.length === 0;
    applySearch();

    attemptsBody.replaceChildren(...(attempts.length
      ? attempts.map(attemptRow)
      : [h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'No attempts yet.'))]));
  }

  await load();
}
