// AUTARCH page: status (GET /autarch/status), install / update / DNS build as
// jobs whose output streams live (/api/jobs/{id}/stream), start / stop /
// restart of both units with each unit's result, and the settings editor
// (PUT /autarch/config) showing an INI error at its line.
import { h, pageHeader, badge, alertBox, toast, isAdmin, loadCss } from '../ui.js';
import { ensureCsrfToken } from '../api.js';

const FIELDS = [
  ['installed', 'Installed'],
  ['install_dir', 'Install directory'],
  ['git_commit', 'Commit'],
  ['venv_ready', 'Python venv'],
  ['pip_packages', 'pip packages'],
  ['web', 'autarch-web'],
  ['dns', 'autarch-dns'],
];

function unitBadge(status) {
  const kind = status === 'active' ? 'ok' : status === 'failed' ? 'err' : null;
  return badge(status || 'unknown', kind);
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/autarch.css');
  const admin = isAdmin(user);
  const cells = {};
  const statusError = h('div');
  const tbody = h('tbody', null, FIELDS.map(([key, label]) => {
    cells[key] = h('td', { dataset: { field: key } }, '…');
    return h('tr', null, h('th', { scope: 'row' }, label), cells[key]);
  }));
  const statusCard = h('section', { class: 'card', id: 'autarch-status' },
    h('div', { class: 'card-header' }, h('h2', null, 'Status'),
      h('button', { class: 'btn btn-sm', type: 'button', id: 'autarch-refresh', onclick: () => load() }, 'Refresh')),
    statusError,
    h('div', { class: 'table-wrap' }, h('table', { class: 'autarch-kv' }, tbody)));

  const sections = [pageHeader('AUTARCH', 'Install, update, run and configure AUTARCH')];
  if (!admin) sections.push(alertBox('info', 'You are signed in as a viewer: you can see the status and the settings but not change them.'));
  sections.push(statusCard);

  const jobState = h('div', { class: 'muted', id: 'autarch-job-state' }, 'No job started from this page.');
  const jobOutput = h('pre', { class: 'job-output', id: 'autarch-job-output', hidden: true });
  const buttons = {};
  function button(id, label, onclick, cls = 'btn') {
    buttons[id] = h('button', { class: cls, type: 'button', id: `autarch-${id}`, onclick }, label);
    return buttons[id];
  }
  if (admin) {
    sections.push(h('section', { class: 'card', id: 'autarch-actions' },
      h('div', { class: 'card-header' }, h('h2', null, 'Actions')),
      h('div', { class: 'card-body' },
        h('div', { class: 'autarch-buttons' },
          button('install', 'Install', () => startJob('/autarch/install', 'Install'), 'btn btn-primary'),
          button('update', 'Update', () => startJob('/autarch/update', 'Update')),
          button('dns-build', 'Build DNS', () => startJob('/autarch/dns/build', 'DNS build')),
          button('start', 'Start', () => control('start')),
          button('stop', 'Stop', () => control('stop')),
          button('restart', 'Restart', () => control('restart'))),
        jobState, jobOutput)));
  }

  const editor = h('textarea', { id: 'autarch-config', rows: '16', spellcheck: 'false', readOnly: !admin, class: 'mono' });
  const configError = h('div', { id: 'autarch-config-error', class: 'config-error', hidden: true });
  const saveBtn = admin ? h('button', { class: 'btn btn-primary', type: 'button', id: 'autarch-config-save', onclick: () => save() }, 'Save') : null;
  sections.push(h('section', { class: 'card', id: 'autarch-settings' },
    h('div', { class: 'card-header' }, h('h2', null, 'Settings'), h('span', { class: 'muted mono' }, 'autarch_settings.conf')),
    h('div', { class: 'card-body' }, editor, configError, saveBtn ? h('div', { class: 'form-actions' }, saveBtn) : null)));
  container.replaceChildren(...sections);

  await Promise.all([load(), loadConfig()]);

  async function load() {
    let st;
    try {
      st = await api.get('/autarch/status');
    } catch (err) {
      if (err.status !== 401) statusError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load the status: ${err.message}`)));
      return;
    }
    statusError.replaceChildren();
    cells.installed.replaceChildren(badge(st.installed ? 'installed' : 'not installed', st.installed ? 'ok' : null));
    cells.install_dir.replaceChildren(h('span', { class: 'mono' }, st.install_dir));
    cells.git_commit.replaceChildren(h('span', { class: 'mono' }, st.git_commit || '—'));
    cells.venv_ready.textContent = st.venv_ready ? 'ready' : 'missing';
    cells.pip_packages.textContent = String(st.pip_packages);
    cells.web.replaceChildren(unitBadge(st.web_status));
    cells.dns.replaceChildren(unitBadge(st.dns_status));
    if (admin) {
      buttons.install.disabled = st.installed;
      buttons.update.disabled = buttons['dns-build'].disabled = !st.installed;
    }
  }

  async function loadConfig() {
    try {
      const c = await api.get('/autarch/config');
      editor.value = c.config;
      editor.disabled = false;
    } catch (err) {
      if (err.status === 404) {
        editor.value = '';
        editor.placeholder = 'No settings file yet: install AUTARCH first.';
        editor.disabled = true;
      } else if (err.status !== 401) {
        toast(`Could not load the settings: ${err.message}`, 'error');
      }
    }
  }

  function showConfigError(err) {
    const line = err.body && Number.isInteger(err.body.line) ? err.body.line : 0;
    const lines = editor.value.split('\n');
    const parts = [h('strong', null, err.message)];
    if (line > 0 && line <= lines.length) {
      parts.push(h('div', { class: 'config-line mono', dataset: { line: String(line) } },
        h('span', { class: 'line-no' }, `${line}`), ' ', lines[line - 1]));
      // put the cursor on that line
      const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      editor.focus();
      editor.setSelectionRange(start, start + lines[line - 1].length);
    }
    configError.replaceChildren(...parts);
    configError.hidden = false;
  }

  async function save() {
    saveBtn.disabled = true;
    configError.hidden = true;
    try {
      await api.put('/autarch/config', { config: editor.value });
      toast('Settings saved.');
    } catch (err) {
      if (err.status === 400) showConfigError(err);
      else if (err.status !== 401) toast(`Saving failed: ${err.message}`, 'error');
    } finally {
      saveBtn.disabled = false;
    }
  }

  function setBusy(busy) {
    for (const b of Object.values(buttons)) b.disabled = busy;
  }

  async function control(verb) {
    setBusy(true);
    try {
      const r = await api.post(`/autarch/${verb}`);
      toast(`AUTARCH ${r.status}.`);
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    } finally {
      setBusy(false);
      await load();
    }
  }

  // POST with Prefer: respond-async, then follow the job's stream.
  async function startJob(path, what) {
    setBusy(true);
    jobOutput.textContent = '';
    jobOutput.hidden = false;
    jobState.textContent = `${what}: starting…`;
    let res, data = null;
    try {
      const token = await ensureCsrfToken();
      res = await fetch(path, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json', Prefer: 'respond-async', 'X-CSRF-Token': token || '' },
      });
      data = await res.json().catch(() => null);
    } catch (err) {
      jobState.textContent = `${what}: cannot reach the server (${err.message})`;
      setBusy(false);
      return;
    }
    if (res.status !== 202 || !data || !data.job_id) {
      jobState.textContent = `${what}: ${(data && data.error) || `HTTP ${res.status}`}`;
      jobState.dataset.state = 'failed';
      setBusy(false);
      await load();
      return;
    }
    jobState.textContent = `${what}: job ${data.job_id} running…`;
    jobState.dataset.state = 'running';
    const es = new EventSource(`/api/jobs/${encodeURIComponent(data.job_id)}/stream`);
    es.addEventListener('output', (ev) => {
      jobOutput.append(ev.data.endsWith('\n') ? ev.data : `${ev.data}\n`);
      jobOutput.scrollTop = jobOutput.scrollHeight;
    });
    es.addEventListener('step', (ev) => {
      try {
        const s = JSON.parse(ev.data);
        jobState.textContent = `${what}: job ${data.job_id}, step ${s.name} ${s.state}`;
      } catch { /* not JSON: ignore */ }
    });
    es.addEventListener('done', async (ev) => {
      es.close();
      let d = {};
      try { d = JSON.parse(ev.data); } catch { /* keep {} */ }
      jobState.dataset.state = d.state || 'done';
      jobState.textContent = d.state === 'done' ? `${what}: done` : `${what}: ${d.state}${d.error ? ` — ${d.error}` : ''}`;
      toast(d.state === 'done' ? `${what} finished.` : `${what} failed.`, d.state === 'done' ? 'ok' : 'error');
      setBusy(false);
      await Promise.all([load(), loadConfig()]);
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        jobState.textContent = `${what}: the stream closed`;
        setBusy(false);
      }
    };
  }
}
