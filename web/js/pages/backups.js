// Backups page: list (searched, sorted and paged by the server), create
// (site or full), download, verify, restore, delete; schedules (the
// scheduler's "backup" jobs) with their retention.
import { h, pageHeader, badge, alertBox, toast, modal, formatDate, formatBytes, isAdmin, loadCss, listControls, fetchPage } from '../ui.js';

// Schedules offered by name; "custom" takes any 5-field cron expression.
const PRESETS = [
  { value: '0 3 * * *', label: 'Daily at 03:00 UTC' },
  { value: '0 3 * * 0', label: 'Weekly, Sunday 03:00 UTC' },
  { value: '0 3 1 * *', label: 'Monthly, the 1st at 03:00 UTC' },
  { value: 'custom', label: 'Custom (cron)…' },
];

function basename(path) {
  const i = String(path).lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/backups.css');
  const admin = isAdmin(user);

  const count = h('span', { class: 'muted', dataset: { field: 'backup-count' } }, '');
  const listError = h('div');
  const cols = admin ? 6 : 5;
  const tbody = h('tbody', null, h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'Loading…')));
  const table = h('table', { id: 'backups-table' },
    h('thead', null, h('tr', null,
      h('th', null, 'File'),
      h('th', null, 'Type'),
      h('th', null, 'Site'),
      h('th', { class: 'num' }, 'Size'),
      h('th', null, 'Created'),
      admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
    tbody);

  let sitePicker = null;
  let schedSite = null; // the schedule form's picker: full backup or a site
  const sections = [pageHeader('Backups', 'Archives of sites and of the whole panel, with SHA-256 manifests')];
  if (!admin) {
    sections.push(alertBox('info', 'You are signed in as a viewer: you can see the backups but not create, download, verify, restore or delete them.'));
  }
  if (admin) sections.push(createCard());
  const schedBody = h('tbody', null, h('tr', null, h('td', { colspan: admin ? '6' : '5', class: 'empty' }, 'Loading…')));
  const schedError = h('div');
  sections.push(h('section', { class: 'card', id: 'backup-schedules' },
    h('div', { class: 'card-header' }, h('h2', null, 'Schedules')),
    h('div', { class: 'card-body' },
      h('p', { class: 'muted' }, 'Backups the scheduler makes on its own. "Keep" is the retention of a schedule: after each of its backups only the newest that many backups of the site stay (the config file\'s backups.max_age_days and backups.max_count apply to every backup as well).'),
      admin ? scheduleForm() : null),
    schedError,
    h('div', { class: 'table-wrap' }, h('table', { id: 'schedules-table' },
      h('thead', null, h('tr', null, h('th', null, 'Site'), h('th', null, 'Schedule'), h('th', { class: 'num' }, 'Keep'),
        h('th', null, 'Next run'), h('th', null, 'Last run'), admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
      schedBody))));
  // search (file, type, site's domain), sort and paging by the server
  const list = listControls({
    id: 'backups', label: 'backups', perPage: 25, placeholder: 'Search files and sites',
    sorts: [['created_at', 'Created', 'desc'], ['size', 'Size'], ['path', 'File name'], ['type', 'Type']],
    load: (qs) => fetchPage('/backups', qs),
    show: (rows, total) => {
      count.textContent = `${total} ${total === 1 ? 'archive' : 'archives'}`;
      tbody.replaceChildren(...(rows.length
        ? rows.map(row)
        : [h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, list.state.q ? 'No backup matches.' : 'No backups yet.'))]));
    },
  });
  sections.push(h('section', { class: 'card', id: 'backups-list' },
    h('div', { class: 'card-header' }, h('h2', null, 'Archives'), count),
    h('div', { class: 'card-body' }, list.node),
    listError,
    h('div', { class: 'table-wrap' }, table),
    h('div', { class: 'card-body' }, list.pager)));
  container.replaceChildren(...sections);

  // site id -> domain: a backup names its site by domain, never by number
  const domains = new Map();
  async function loadSites() {
    try {
      const sites = await api.get('/sites');
      domains.clear();
      for (const s of Array.isArray(sites) ? sites : []) domains.set(String(s.id), s.domain);
    } catch {
      // the list still shows, with "site <id>" where the domain is unknown
    }
    if (sitePicker) {
      const keep = sitePicker.value;
      sitePicker.replaceChildren(h('option', { value: '' }, domains.size ? 'Choose a site…' : 'No sites yet'),
        ...[...domains].sort((a, b) => a[1].localeCompare(b[1])).map(([id, d]) => h('option', { value: id }, d)));
      sitePicker.value = keep;
    }
    if (schedSite) {
      const keep = schedSite.value;
      schedSite.replaceChildren(h('option', { value: '0' }, 'Full backup'),
        ...[...domains].sort((a, b) => a[1].localeCompare(b[1])).map(([id, d]) => h('option', { value: id }, d)));
      schedSite.value = keep || '0';
    }
  }
  const siteName = (id) => (id == null ? '—' : (domains.get(String(id)) || `site ${id} (deleted)`));

  await loadSites();
  await load();
  await loadSchedules();

  async function loadSchedules() {
    let rows;
    try {
      rows = await api.get('/api/scheduler/jobs');
    } catch (err) {
      if (err.status === 401) return;
      schedError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load the schedules: ${err.message}`)));
      return;
    }
    schedError.replaceChildren();
    rows = (Array.isArray(rows) ? rows : []).filter((j) => j.job_type === 'backup');
    schedBody.replaceChildren(...(rows.length ? rows.map(scheduleRow)
      : [h('tr', null, h('td', { colspan: admin ? '6' : '5', class: 'empty' }, 'No backup schedules.'))]));
  }

  function scheduleRow(j) {
    const preset = PRESETS.find((p) => p.value === j.schedule);
    const cells = [
      h('td', { dataset: { field: 'site' } }, j.site_id == null ? 'Full backup' : siteName(j.site_id)),
      h('td', { dataset: { field: 'schedule' } }, preset ? preset.label : h('span', { class: 'mono' }, j.schedule),
        j.enabled ? null : [' ', badge('paused', 'warn')]),
      h('td', { class: 'num', dataset: { field: 'keep' } }, j.keep == null ? 'all' : String(j.keep)),
      h('td', { class: 'muted' }, j.next_run ? formatDate(j.next_run) : '—'),
      h('td', { class: 'muted' }, j.last_run ? formatDate(j.last_run) : 'never'),
    ];
    if (admin) {
      cells.push(h('td', { class: 'actions' },
        h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'toggle' }, onclick: () => toggleSchedule(j) }, j.enabled ? 'Pause' : 'Resume'),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete-schedule' }, onclick: () => removeSchedule(j) }, 'Delete')));
    }
    return h('tr', { dataset: { id: String(j.id) } }, cells);
  }

  async function toggleSchedule(j) {
    try {
      await api.put(`/api/scheduler/jobs/${encodeURIComponent(j.id)}`, { enabled: !j.enabled });
      await loadSchedules();
    } catch (err) {
      if (err.status !== 401) toast(`Could not change the schedule: ${err.message}`, 'error');
    }
  }

  function removeSchedule(j) {
    modal({
      title: 'Delete this schedule?',
      text: `No more scheduled backups of ${j.site_id == null ? 'the panel' : siteName(j.site_id)}; the backups already made stay.`,
      confirmLabel: 'Delete schedule',
      danger: true,
      onConfirm: async () => {
        await api.del(`/api/scheduler/jobs/${encodeURIComponent(j.id)}`);
        toast('Schedule deleted.');
        await loadSchedules();
      },
    });
  }

  function scheduleForm() {
    const site = h('select', { id: 'schedule-site' }, h('option', { value: '0' }, 'Full backup'));
    schedSite = site;
    const when = h('select', { id: 'schedule-preset' }, PRESETS.map((p) => h('option', { value: p.value }, p.label)));
    const cron = h('input', { type: 'text', id: 'schedule-cron', class: 'mono', placeholder: 'minute hour day month weekday', hidden: true, spellcheck: 'false', autocomplete: 'off', maxlength: '128' });
    const keep = h('input', { type: 'number', id: 'schedule-keep', min: '1', max: '1000', step: '1', value: '7', inputmode: 'numeric' });
    const error = h('div', { class: 'field-error', id: 'schedule-error', role: 'alert' });
    when.addEventListener('change', () => { cron.hidden = when.value !== 'custom'; });
    const form = h('form', { class: 'backup-create', id: 'schedule-form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'schedule-site' }, 'What'), site),
      h('div', { class: 'field' }, h('label', { for: 'schedule-preset' }, 'When'), when, cron),
      h('div', { class: 'field field-narrow' }, h('label', { for: 'schedule-keep' }, 'Keep'), keep),
      h('div', { class: 'form-actions' }, h('button', { class: 'btn btn-primary', type: 'submit', id: 'schedule-add' }, 'Add schedule')),
      error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const schedule = when.value === 'custom' ? cron.value.trim() : when.value;
      const n = Number(keep.value);
      if (!Number.isInteger(n) || n < 1 || n > 1000) {
        error.textContent = 'keep must be a whole number from 1 to 1000';
        keep.focus();
        return;
      }
      try {
        await api.post('/api/scheduler/jobs', { job_type: 'backup', site_id: Number(site.value), schedule, keep: n });
        toast('Schedule added.');
        await loadSchedules();
      } catch (err) {
        if (err.status !== 401) error.textContent = err.message;
      }
    });
    return form;
  }

  async function load() {
    try {
      await list.reload();
      listError.replaceChildren();
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load backups: ${err.message}`)));
      tbody.replaceChildren();
    }
  }

  function row(b) {
    const status = h('span', { class: 'backup-status', dataset: { field: 'verify-status' } });
    const cells = [
      h('td', null, h('span', { class: 'mono', title: b.path, dataset: { field: 'file' } }, basename(b.path)), ' ', status),
      h('td', { dataset: { field: 'type' } }, badge(b.type, b.type === 'full' ? 'primary' : null)),
      h('td', { dataset: { field: 'site' } }, siteName(b.site_id)),
      h('td', { class: 'num', dataset: { field: 'size' } }, formatBytes(b.size)),
      h('td', { class: 'muted' }, formatDate(b.created_at)),
    ];
    if (admin) {
      const buttons = [
        h('a', { class: 'btn btn-sm', href: `/backups/${encodeURIComponent(b.id)}/download`, download: basename(b.path), dataset: { action: 'download' } }, 'Download'),
        h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'verify' }, onclick: (ev) => verify(b, status, ev.currentTarget) }, 'Verify'),
      ];
      if (b.type === 'site') {
        buttons.push(h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'restore' }, onclick: () => restore(b) }, 'Restore'));
      }
      buttons.push(h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' }, onclick: () => remove(b) }, 'Delete'));
      cells.push(h('td', { class: 'actions' }, buttons));
    }
    return h('tr', { dataset: { id: String(b.id), type: b.type } }, cells);
  }

  function createCard() {
    const siteId = h('select', { id: 'backup-site-id', required: true }, h('option', { value: '' }, 'Loading sites…'));
    sitePicker = siteId;
    const siteBtn = h('button', { class: 'btn btn-primary', type: 'submit', id: 'create-site-backup' }, 'Back up site');
    const fullBtn = h('button', { class: 'btn', type: 'button', id: 'create-full-backup' }, 'Full backup');
    const progress = h('div', { class: 'backup-progress muted', id: 'backup-progress', hidden: true }, 'Creating the archive…');
    const form = h('form', { class: 'backup-create', id: 'site-backup-form' },
      h('div', { class: 'field' }, h('label', { for: 'backup-site-id' }, 'Site'), siteId),
      h('div', { class: 'form-actions' }, siteBtn, fullBtn));

    async function create(path, what) {
      siteBtn.disabled = fullBtn.disabled = true;
      progress.hidden = false;
      try {
        const b = await api.post(path);
        toast(`${what} created: ${basename(b.path)} (${formatBytes(b.size)}).`);
        await load();
      } catch (err) {
        if (err.status !== 401) toast(`${what} failed: ${err.message}`, 'error');
      } finally {
        siteBtn.disabled = fullBtn.disabled = false;
        progress.hidden = true;
      }
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = siteId.value.trim();
      if (!/^[1-9][0-9]*$/.test(id)) {
        toast('Choose the site to back up.', 'error');
        siteId.focus();
        return;
      }
      create(`/backups/site/${encodeURIComponent(id)}`, 'Site backup');
    });
    fullBtn.addEventListener('click', () => create('/backups/full', 'Full backup'));

    return h('section', { class: 'card', id: 'backup-create' },
      h('div', { class: 'card-header' }, h('h2', null, 'New backup')),
      h('div', { class: 'card-body' },
        h('p', { class: 'muted' }, 'A site backup archives the site\'s application directory. A full backup archives the web root, the nginx configuration and the panel\'s data (a consistent copy of the database, never the backups themselves); it contains secrets, so only admins can download it.'),
        form, progress));
  }

  async function verify(b, status, button) {
    button.disabled = true;
    status.replaceChildren(badge('checking…'));
    try {
      const v = await api.post(`/backups/${encodeURIComponent(b.id)}/verify`);
      if (v.valid) {
        status.replaceChildren(badge('verified', 'ok'));
        toast(`${basename(b.path)}: all ${v.files} checksums match.`);
      } else {
        status.replaceChildren(badge('corrupt', 'err'));
        toast(`${basename(b.path)} failed verification: ${v.error}`, 'error');
      }
    } catch (err) {
      status.replaceChildren();
      if (err.status !== 401) toast(`Could not verify: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  async function restore(b) {
    const done = await modal({
      title: `Restore ${siteName(b.site_id)}?`,
      text: `The site's files are replaced by the content of ${basename(b.path)} (from ${formatDate(b.created_at)}). Files created since then are removed.`,
      confirmLabel: 'Restore',
      danger: true,
      onConfirm: () => api.post(`/backups/${encodeURIComponent(b.id)}/restore`),
    });
    if (done) toast(`${siteName(b.site_id)} restored from ${basename(b.path)}.`);
  }

  async function remove(b) {
    const done = await modal({
      title: `Delete ${basename(b.path)}?`,
      text: 'The archive file is removed from the server. This cannot be undone.',
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.del(`/backups/${encodeURIComponent(b.id)}`),
    });
    if (!done) return;
    toast(`${basename(b.path)} deleted.`);
    await load();
  }
}
