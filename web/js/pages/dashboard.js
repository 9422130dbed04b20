// Dashboard: machine summary from GET /api/system/info, refreshed every 5 s.
import { h, pageHeader, alertBox, sizeText, formatLoad, unitStateBadge } from '../ui.js';

const REFRESH_MS = 5000;

function text(value) {
  if (value === undefined || value === null || value === '') return '—';
  return String(value);
}

function percent(value) {
  const n = typeof value === 'number' ? value : parseFloat(value);
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : null;
}

function fmtPercent(n) {
  return n === null ? '—' : `${n.toFixed(1).replace(/\.0$/, '')}%`;
}

function fmtUptime(value) {
  if (typeof value === 'number') {
    const d = Math.floor(value / 86400);
    const hr = Math.floor((value % 86400) / 3600);
    const m = Math.floor((value % 3600) / 60);
    return [d && `${d}d`, hr && `${hr}h`, `${m}m`].filter(Boolean).join(' ');
  }
  return text(value).replace(/^up\s+/, '');
}

function serviceBadge(svc) {
  return unitStateBadge(svc.status, svc.running);
}

function usageCard(title, field) {
  const value = h('div', { class: 'stat-value', dataset: { field: `${field}_percent` } }, '—');
  const bar = h('div', { class: 'progress-bar' });
  const progress = h('div', { class: 'progress', role: 'progressbar', 'aria-label': `${title} usage`, 'aria-valuemin': '0', 'aria-valuemax': '100' }, bar);
  const sub = h('div', { class: 'stat-sub', dataset: { field } }, '—');
  const card = h('section', { class: 'card card-body' }, h('h2', { class: 'card-title' }, title), value, progress, sub);
  return {
    card,
    update(used, total, pct) {
      const p = percent(pct);
      value.textContent = fmtPercent(p);
      bar.style.width = `${p ?? 0}%`;
      bar.classList.toggle('warn', p !== null && p >= 75 && p < 90);
      bar.classList.toggle('err', p !== null && p >= 90);
      progress.setAttribute('aria-valuenow', String(p ?? 0));
      sub.textContent = `${sizeText(used)} / ${sizeText(total)} (${fmtPercent(p)})`;
    },
  };
}

export function render(container, { api }) {
  const fields = {};
  const kvRow = (label, field) => {
    fields[field] = h('dd', { dataset: { field } }, '—');
    return [h('dt', null, label), fields[field]];
  };

  const systemCard = h('section', { class: 'card card-body' },
    h('h2', { class: 'card-title' }, 'System'),
    h('dl', { class: 'kv' },
      kvRow('Hostname', 'hostname'),
      kvRow('OS', 'os'),
      kvRow('CPUs', 'cpus'),
      kvRow('Uptime', 'uptime'),
      kvRow('Load average', 'load_avg')));
  const memory = usageCard('Memory', 'mem');
  const disk = usageCard('Disk', 'disk');
  const siteCount = h('div', { class: 'stat-value', dataset: { field: 'site_count' } }, '—');
  const sitesCard = h('section', { class: 'card card-body' },
    h('h2', { class: 'card-title' }, 'Sites'),
    siteCount,
    h('div', { class: 'stat-sub' }, h('a', { href: '/sites' }, 'Manage sites →')));

  const servicesBody = h('tbody', { dataset: { field: 'services' } },
    h('tr', null, h('td', { colspan: '2', class: 'empty' }, 'Loading…')));
  const servicesCard = h('section', { class: 'card' },
    h('div', { class: 'card-header' }, h('h2', null, 'Services')),
    h('div', { class: 'table-wrap' },
      h('table', { id: 'services-table' },
        h('thead', null, h('tr', null, h('th', null, 'Service'), h('th', null, 'Status'))),
        servicesBody)));

  const updated = h('span', { class: 'updated-at', dataset: { field: 'updated' } }, '');
  const errorSlot = h('div');
  // Things to act on (failed certificate renewals), one alert each.
  const warningsSlot = h('div', { id: 'dashboard-warnings' });

  container.replaceChildren(
    pageHeader('Dashboard', 'Overview of this server', updated),
    errorSlot,
    warningsSlot,
    h('div', { class: 'grid' }, systemCard, memory.card, disk.card, sitesCard),
    servicesCard);

  function fill(info) {
    fields.hostname.textContent = text(info.hostname);
    fields.os.textContent = info.arch ? `${text(info.os)}/${info.arch}` : text(info.os);
    fields.cpus.textContent = text(info.cpus);
    fields.uptime.textContent = fmtUptime(info.uptime);
    fields.load_avg.textContent = formatLoad(info.load_avg);
    memory.update(info.mem_used, info.mem_total, info.mem_percent);
    disk.update(info.disk_used, info.disk_total, info.disk_percent);
    siteCount.textContent = text(info.site_count);

    const warnings = Array.isArray(info.warnings) ? info.warnings : [];
    warningsSlot.replaceChildren(...warnings.map((w) => {
      const box = alertBox('warn', w.kind === 'ssl_renewal'
        ? [h('strong', null, `${text(w.domain)}: `), text(w.message), ' ', h('a', { href: '/ssl' }, 'Certificates →')]
        : text(w.message));
      box.dataset.warning = text(w.kind);
      if (w.domain) box.dataset.domain = w.domain;
      return box;
    }));

    const services = Array.isArray(info.services) ? info.services : [];
    servicesBody.replaceChildren(...(services.length
      ? services.map((svc) => h('tr', { dataset: { service: svc.name } },
        h('td', null, text(svc.name)),
        h('td', null, serviceBadge(svc))))
      : [h('tr', null, h('td', { colspan: '2', class: 'empty' }, 'No services are monitored.'))]));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  let timer = null;
  let stopped = false;
  let inflight = false;

  async function refresh() {
    timer = null;
    inflight = true;
    try {
      fill(await api.get('/api/system/info'));
      errorSlot.replaceChildren();
    } catch (err) {
      if (err.status === 401) return;
      // Keep the last figures on screen; say they are stale.
      errorSlot.replaceChildren(alertBox('error', `Could not refresh system information: ${err.message}`));
    } finally {
      inflight = false;
    }
    if (!stopped && !document.hidden && container.isConnected) timer = setTimeout(refresh, REFRESH_MS);
  }

  const onVisibility = () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
    } else if (!timer && !stopped && !inflight) {
      refresh();
    }
  };
  document.addEventListener('visibilitychange', onVisibility);
  refresh();

  // Cleanup for whoever replaces this page.
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
