// Activity on every page: the count of running and waiting jobs in the
// header (sidebar and small-screen top bar), and a notice when a job this
// user started ends (done, or failed with the failing step). Jobs seen
// running are remembered for the browser tab (sessionStorage), so a notice
// still comes after navigating to another page (every page is a full load).
import { h } from './ui.js';

const KEY = 'setec-active-jobs';
const ACTIVE = new Set(['queued', 'running']);
const FAST_MS = 2000;
const SLOW_MS = 10000;

const KIND_NAMES = {
  site_create: 'Site create',
  site_deploy: 'Deploy',
  site_update: 'Site update',
  site_delete: 'Site delete',
  cert_issue: 'Certificate',
  cert_renew: 'Certificate renewal',
  backup_create: 'Backup',
  backup_verify: 'Backup check',
  backup_restore: 'Restore',
  autarch_install: 'AUTARCH install',
  autarch_update: 'AUTARCH update',
  autarch_dns_build: 'AUTARCH DNS build',
};

export function kindName(kind) {
  return KIND_NAMES[kind] || kind;
}

function remembered() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function remember(map) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(map));
  } catch {
    // private mode: notices only within this page
  }
}

export function jobNotice(job) {
  const box = document.getElementById('toasts');
  if (!box) return null;
  const ok = job.state === 'done';
  const what = `${kindName(job.kind)} ${job.subject}`;
  const title = ok ? `${what}: done` : job.state === 'cancelled' ? `${what}: cancelled` : `${what}: failed${job.step ? ` at step ${job.step}` : ''}`;
  const node = h('a', {
    class: `toast${ok ? '' : ' toast-error'}`,
    role: 'status',
    href: `/jobs?id=${encodeURIComponent(job.id)}`,
    dataset: { jobNotice: String(job.id), state: job.state },
  },
  h('span', { class: 'toast-title' }, title),
  !ok && job.error ? h('span', { class: 'toast-detail' }, job.error) : null);
  box.append(node);
  setTimeout(() => node.remove(), ok ? 6000 : 15000);
  return node;
}

function showCount(n) {
  for (const el of document.querySelectorAll('[data-field="job-count"]')) {
    el.textContent = String(n);
    el.hidden = n === 0;
  }
}

export function startActivity(api) {
  let timer = null;
  const seen = remembered();

  async function poll() {
    timer = null;
    let active = 0;
    try {
      const [recent, mine] = await Promise.all([
        api.get('/api/jobs?per_page=50'),
        api.get('/api/jobs?mine=1&per_page=50'),
      ]);
      active = (recent || []).filter((j) => ACTIVE.has(j.state)).length;
      showCount(active);
      for (const job of mine || []) {
        const key = String(job.id);
        if (ACTIVE.has(job.state)) {
          seen[key] = true;
        } else if (seen[key]) {
          delete seen[key];
          jobNotice(job);
        }
      }
      // forget ids that left the list (very old)
      const ids = new Set((mine || []).map((j) => String(j.id)));
      for (const key of Object.keys(seen)) if (!ids.has(key)) delete seen[key];
      remember(seen);
    } catch (err) {
      if (err && err.status === 401) return;
    }
    schedule(active > 0 || Object.keys(seen).length ? FAST_MS : SLOW_MS);
  }

  function schedule(ms) {
    if (timer || document.hidden) return;
    timer = setTimeout(poll, ms);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !timer) poll();
  });
  // a page that starts a job says so: poll at once
  window.addEventListener('setec:job-started', () => {
    if (timer) clearTimeout(timer);
    timer = null;
    poll();
  });
  poll();
}
