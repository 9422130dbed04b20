// Activity page: running and recent jobs (GET /api/jobs), and one job's
// steps and live output over SSE (GET /api/jobs/{id}/stream). Admins may
// cancel a running job.
import { h, pageHeader, badge, alertBox, toast, formatDate, isAdmin, loadCss } from '../ui.js';
import { kindName } from '../activity.js';

const STATE_BADGE = { done: 'ok', failed: 'err', cancelled: 'warn', running: 'primary', queued: null };
const STEP_BADGE = { done: 'ok', failed: 'err', running: 'primary', undone: 'warn', skipped: null, pending: null };

export function stateBadge(state) {
  return badge(state, STATE_BADGE[state]);
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/jobs.css');
  const admin = isAdmin(user);
  const stateSel = h('select', { id: 'jobs-state', 'aria-label': 'State' },
    h('option', { value: '' }, 'All states'),
    ['running', 'queued', 'done', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s)));
  const count = h('span', { class: 'muted', dataset: { field: 'jobs-total' } }, '');
  const listError = h('div');
  const tbody = h('tbody', null, h('tr', null, h('td', { colspan: '6', class: 'empty' }, 'Loading…')));
  const table = h('table', { id: 'jobs-table' },
    h('thead', null, h('tr', null,
      h('th', null, '#'), h('th', null, 'Job'), h('th', null, 'Subject'), h('th', null, 'State'),
      h('th', null, 'Step'), h('th', null, 'Started'))),
    tbody);
  const detail = h('section', { class: 'card', id: 'job-detail', hidden: true });

  container.replaceChildren(
    pageHeader('Activity', 'Site changes, deploys, certificates and backups run as jobs'),
    h('section', { class: 'card', id: 'jobs-list' },
      h('div', { class: 'card-header' }, h('h2', null, 'Jobs'), h('div', { class: 'jobs-filter' }, count, stateSel)),
      listError,
      h('div', { class: 'table-wrap' }, table)),
    detail);

  let selected = Number(new URLSearchParams(location.search).get('id')) || 0;
  let source = null;
  let timer = null;

  stateSel.addEventListener('change', () => load());
  window.addEventListener('setec:job-started', () => load());
  window.addEventListener('pagehide', () => {
    if (source) source.close();
    if (timer) clearTimeout(timer);
  });

  await load();
  if (selected) open(selected);

  async function load() {
    if (timer) clearTimeout(timer);
    timer = null;
    const q = stateSel.value ? `&state=${encodeURIComponent(stateSel.value)}` : '';
    let rows;
    try {
      rows = await api.get(`/api/jobs?per_page=100${q}`);
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load the jobs: ${err.message}`)));
      return;
    }
    listError.replaceChildren();
    rows = Array.isArray(rows) ? rows : [];
    count.textContent = `${rows.length} ${rows.length === 1 ? 'job' : 'jobs'}`;
    tbody.replaceChildren(...(rows.length ? rows.map(row)
      : [h('tr', null, h('td', { colspan: '6', class: 'empty' }, 'No jobs yet.'))]));
    // new jobs appear by themselves: quickly while some run
    timer = setTimeout(load, rows.some((j) => j.state === 'running' || j.state === 'queued') ? 2000 : 5000);
  }

  function row(j) {
    return h('tr', {
      class: j.id === selected ? 'selected' : '',
      dataset: { id: String(j.id), state: j.state },
      tabindex: '0',
      onclick: () => open(j.id),
      onkeydown: (ev) => {
        if (ev.key === 'Enter') open(j.id);
      },
    },
    h('td', { class: 'muted' }, String(j.id)),
    h('td', { dataset: { field: 'kind' } }, kindName(j.kind)),
    h('td', { class: 'mono', dataset: { field: 'subject' } }, j.subject),
    h('td', { dataset: { field: 'state' } }, stateBadge(j.state)),
    h('td', { dataset: { field: 'step' } }, j.step || '—'),
    h('td', { class: 'muted' }, formatDate(j.started_at || j.created_at),
      j.user ? h('span', { class: 'job-user', dataset: { field: 'user' } }, ` · ${j.user}`) : null));
  }

  async function open(id) {
    selected = id;
    for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.id === String(id));
    if (source) source.close();
    source = null;
    let job;
    try {
      job = await api.get(`/api/jobs/${encodeURIComponent(id)}`);
    } catch (err) {
      detail.hidden = false;
      detail.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', err.message)));
      return;
    }
    const steps = h('ul', { class: 'job-steps', id: 'job-steps' });
    const showSteps = (list) => steps.replaceChildren(...list.map((s) =>
      h('li', { dataset: { step: s.name, state: s.state } }, badge(`${s.name}: ${s.state}`, STEP_BADGE[s.state]))));
    showSteps(job.steps || []);
    const state = h('span', { dataset: { field: 'job-state' } }, stateBadge(job.state));
    const errorBox = h('div', { class: 'job-error' });
    const out = h('pre', { class: 'job-output', id: 'job-output', tabindex: '0' });
    const cancel = admin ? h('button', {
      class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'cancel' },
      hidden: !(job.state === 'running' || job.state === 'queued'),
      onclick: async () => {
        cancel.disabled = true;
        try {
          await api.del(`/api/jobs/${encodeURIComponent(id)}`);
          toast(`Cancelling job ${id}`);
        } catch (err) {
          toast(err.message, 'error');
          cancel.disabled = false;
        }
      },
    }, 'Cancel') : null;
    const ended = (st, error, step) => {
      state.replaceChildren(stateBadge(st));
      if (cancel) cancel.hidden = true;
      errorBox.replaceChildren(st === 'failed' || st === 'cancelled'
        ? alertBox('error', `${step ? `Step ${step}: ` : ''}${error || st}`) : '');
    };
    detail.hidden = false;
    detail.replaceChildren(
      h('div', { class: 'card-header' },
        h('h2', null, `${kindName(job.kind)} · ${job.subject}`), h('div', null, state, ' ', cancel)),
      h('div', { class: 'card-body' }, errorBox, steps, out));
    if (job.state !== 'running' && job.state !== 'queued') {
      out.textContent = job.output || '';
      ended(job.state, job.error, job.step);
      return;
    }
    // live: the stream replays the output from the start, then follows
    const stepMap = new Map((job.steps || []).map((s) => [s.name, s]));
    const es = new EventSource(`/api/jobs/${encodeURIComponent(id)}/stream`);
    source = es;
    es.addEventListener('output', (ev) => {
      const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.append(`${ev.data}\n`);
      if (atEnd) out.scrollTop = out.scrollHeight;
    });
    es.addEventListener('step', (ev) => {
      const s = JSON.parse(ev.data);
      stepMap.set(s.name, s);
      showSteps([...stepMap.values()]);
    });
    es.addEventListener('done', (ev) => {
      const d = JSON.parse(ev.data);
      es.close();
      if (source === es) source = null;
      ended(d.state, d.error, d.step);
      load();
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && source === es) source = null;
    };
  }
}
