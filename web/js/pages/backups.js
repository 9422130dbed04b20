// Backups page: list, create (site or full), download, verify, restore, delete.
import { h, pageHeader, badge, alertBox, toast, modal, formatDate, formatBytes, isAdmin, loadCss } from '../ui.js';

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
  const sections = [pageHeader('Backups', 'Archives of sites and of the whole panel, with SHA-256 manifests')];
  if (!admin) {
    sections.push(alertBox('info', 'You are signed in as a viewer: you can see the backups but not create, download, verify, restore or delete them.'));
  }
  if (admin) sections.push(createCard());
  sections.push(h('section', { class: 'card', id: 'backups-list' },
    h('div', { class: 'card-header' }, h('h2', null, 'Archives'), count),
    listError,
    h('div', { class: 'table-wrap' }, table)));
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
  }
  const siteName = (id) => (id == null ? '—' : (domains.get(String(id)) || `site ${id} (deleted)`));

  await loadSites();
  await load();

  async function load() {
    let rows;
    try {
      rows = await api.get('/backups');
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load backups: ${err.message}`)));
      tbody.replaceChildren();
      return;
    }
    listError.replaceChildren();
    rows = Array.isArray(rows) ? rows : [];
    count.textContent = `${rows.length} ${rows.length === 1 ? 'archive' : 'archives'}`;
    tbody.replaceChildren(...(rows.length
      ? rows.map(row)
      : [h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'No backups yet.'))]));
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
