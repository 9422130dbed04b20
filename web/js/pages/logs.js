// Logs: the system journal (GET /api/logs/system), nginx access/error logs
// (GET /api/logs/nginx?type=) and a live tail of one unit over Server-Sent
// Events (GET /api/logs/stream?unit=), with pause/resume and auto-scroll.
import { h, pageHeader, alertBox, loadCss } from '../ui.js';

const LINE_CHOICES = [50, 100, 500, 1000];
const LIVE_MAX_LINES = 5000; // the live view keeps this many, dropping the oldest
// Same rule as the server's valid_unit_name (CONTRACT.md §4).
const UNIT_RE = /^[A-Za-z0-9:_.\\@-]+$/;

export function validUnit(unit) {
  return unit.length > 0 && unit.length <= 255 && UNIT_RE.test(unit) && !/^[-.]|\.$/.test(unit);
}

const TABS = [
  { id: 'system', label: 'System' },
  { id: 'access', label: 'Nginx access' },
  { id: 'error', label: 'Nginx error' },
  { id: 'live', label: 'Live tail' },
];

export function render(container, { api }) {
  loadCss('/css/pages/logs.css');

  let tab = 'system';
  let source = null; // the live EventSource
  let paused = false;
  let held = []; // lines that arrived while paused
  let liveCount = 0;

  const errorSlot = h('div', { id: 'logs-error' });
  const output = h('pre', { class: 'log-output', id: 'log-output', tabindex: '0', 'aria-live': 'off' });
  const status = h('span', { class: 'muted log-status', id: 'log-status' });

  const linesSelect = h('select', { id: 'log-lines', class: 'inline', 'aria-label': 'Lines' },
    LINE_CHOICES.map((n) => h('option', { value: String(n), selected: n === 100 }, `${n} lines`)));
  const refreshBtn = h('button', { class: 'btn btn-sm', type: 'button', id: 'log-refresh' }, 'Refresh');
  const autoScroll = h('input', { type: 'checkbox', id: 'log-autoscroll', checked: true });
  const autoLabel = h('label', { class: 'log-check', for: 'log-autoscroll' }, autoScroll, ' Auto-scroll');

  // the unit is picked from the units that exist here (monitored services,
  // the sites' app units); typing another one is allowed, and said
  const unitList = h('datalist', { id: 'log-units' });
  const unitInput = h('input', { type: 'text', id: 'log-unit', value: '', list: 'log-units', maxlength: '255', spellcheck: 'false', 'aria-label': 'Unit', placeholder: 'pick a unit' });
  const knownUnits = new Set();
  let quietTimer = null;
  const unitError = h('span', { class: 'log-unit-error', id: 'log-unit-error', role: 'alert' });
  const startBtn = h('button', { class: 'btn btn-sm btn-primary', type: 'submit', id: 'log-follow' }, 'Follow');
  const pauseBtn = h('button', { class: 'btn btn-sm', type: 'button', id: 'log-pause', disabled: true }, 'Pause');
  const clearBtn = h('button', { class: 'btn btn-sm btn-ghost', type: 'button', id: 'log-clear' }, 'Clear');
  const liveForm = h('form', { class: 'log-live-form', id: 'log-live-form', novalidate: true },
    unitInput, unitList, startBtn, pauseBtn, clearBtn, unitError);

  // system log filters: text, priority, time range (the server filters)
  const searchInput = h('input', { type: 'search', id: 'log-q', placeholder: 'Search text', maxlength: '200', 'aria-label': 'Search the log' });
  const prioSelect = h('select', { id: 'log-priority', class: 'inline', 'aria-label': 'Priority' },
    [['', 'any priority'], ['err', 'errors and worse'], ['warning', 'warnings and worse'], ['notice', 'notices and worse'], ['info', 'info and worse']]
      .map(([v, l]) => h('option', { value: v }, l)));
  const sinceInput = h('input', { type: 'datetime-local', id: 'log-since', 'aria-label': 'From' });
  const untilInput = h('input', { type: 'datetime-local', id: 'log-until', 'aria-label': 'Until' });
  const filters = h('span', { class: 'log-filters', id: 'log-filters' }, searchInput, prioSelect, sinceInput, untilInput);
  const staticControls = h('div', { class: 'log-controls', id: 'log-static-controls' }, linesSelect, filters, refreshBtn);
  const toolbar = h('div', { class: 'log-toolbar' }, staticControls, liveForm, h('div', { class: 'log-right' }, status, autoLabel));

  const tabButtons = TABS.map((t) => h('button', {
    class: 'log-tab', type: 'button', role: 'tab', id: `log-tab-${t.id}`, dataset: { tab: t.id },
    'aria-controls': 'log-output', tabindex: '-1',
    onclick: () => select(t.id),
  }, t.label));
  // arrow keys move between the tabs (WAI-ARIA tabs pattern)
  function onTabKey(ev) {
    const i = tabButtons.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (ev.key === 'ArrowRight') j = (i + 1) % tabButtons.length;
    else if (ev.key === 'ArrowLeft') j = (i - 1 + tabButtons.length) % tabButtons.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = tabButtons.length - 1;
    if (j === null) return;
    ev.preventDefault();
    tabButtons[j].focus();
    select(tabButtons[j].dataset.tab);
  }

  container.append(
    pageHeader('Logs', 'System journal, nginx logs and a live tail of one service'),
    errorSlot,
    h('section', { class: 'card' },
      h('div', { class: 'log-tabs', role: 'tablist', 'aria-label': 'Logs', onkeydown: onTabKey }, tabButtons),
      toolbar,
      output));

  function scroll() {
    if (autoScroll.checked) output.scrollTop = output.scrollHeight;
  }

  function stopStream() {
    if (source) {
      source.close();
      source = null;
    }
    pauseBtn.disabled = true;
  }

  function setStatus(text) {
    status.textContent = text;
  }

  async function loadStatic() {
    errorSlot.replaceChildren();
    const lines = linesSelect.value;
    const qs = new URLSearchParams({ lines });
    if (searchInput.value.trim()) qs.set('q', searchInput.value.trim());
    if (prioSelect.value) qs.set('priority', prioSelect.value);
    const iso = (v) => new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (sinceInput.value) qs.set('since', iso(sinceInput.value));
    if (untilInput.value) qs.set('until', iso(untilInput.value));
    const filtered = qs.has('q') || qs.has('priority') || qs.has('since') || qs.has('until');
    const path = tab === 'system' ? `/api/logs/system?${qs}`
      : `/api/logs/nginx?type=${tab}`;
    const wanted = tab;
    setStatus('Loading…');
    try {
      const data = await api.get(path);
      if (wanted !== tab) return;
      const text = (data && typeof data.logs === 'string') ? data.logs : '';
      output.textContent = text || (tab === 'system' ? (filtered ? 'No journal entry matches these filters.' : 'No journal entries.') : 'This log is empty or does not exist yet.');
      output.classList.toggle('empty-log', !text);
      setStatus(`Updated ${new Date().toLocaleTimeString()}`);
      scroll();
    } catch (err) {
      if (wanted !== tab) return;
      setStatus('');
      errorSlot.replaceChildren(alertBox('error', `Could not load the log: ${err.message}`));
    }
  }

  function appendLine(text) {
    output.classList.remove('empty-log');
    output.append(document.createTextNode(`${text}\n`));
    liveCount++;
    // Bound the DOM: drop the oldest lines.
    while (liveCount > LIVE_MAX_LINES && output.firstChild) {
      output.firstChild.remove();
      liveCount--;
    }
    scroll();
  }

  function startStream() {
    const unit = unitInput.value.trim();
    if (!validUnit(unit)) {
      unitError.textContent = 'Not a valid unit name (letters, digits and : _ . \\ @ -, not starting with - or .)';
      unitInput.setAttribute('aria-invalid', 'true');
      return;
    }
    unitError.textContent = '';
    unitInput.removeAttribute('aria-invalid');
    stopStream();
    output.replaceChildren();
    liveCount = 0;
    held = [];
    paused = false;
    pauseBtn.textContent = 'Pause';
    pauseBtn.disabled = false;
    output.dataset.unit = unit;
    setStatus(`Connecting to ${unit}…`);
    const bare = unit.replace(/\.service$/, '');
    const known = !knownUnits.size || knownUnits.has(bare);
    unitError.textContent = known ? '' : `${unit} is not a unit this panel knows of (monitored services, site apps): nothing will show if it does not exist.`;
    clearTimeout(quietTimer);
    quietTimer = setTimeout(() => {
      if (source === es && liveCount === 0) setStatus(`Following ${unit}: no lines yet${known ? '' : ' (check the unit name)'}`);
    }, 5000);
    // EventSource reconnects by itself and sends Last-Event-ID, so the
    // server resumes right after the last line shown.
    const es = new EventSource(`/api/logs/stream?unit=${encodeURIComponent(unit)}`);
    source = es;
    es.onopen = () => {
      if (source === es) setStatus(`Following ${unit}`);
    };
    es.onmessage = (ev) => {
      if (source !== es) return;
      if (paused) held.push(ev.data);
      else appendLine(ev.data);
    };
    es.onerror = () => {
      if (source !== es) return;
      setStatus(es.readyState === EventSource.CLOSED ? `Stream of ${unit} closed` : `Reconnecting to ${unit}…`);
      if (es.readyState === EventSource.CLOSED) pauseBtn.disabled = true;
    };
  }

  function select(id) {
    tab = id;
    for (const b of tabButtons) {
      const on = b.dataset.tab === id;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
    }
    filters.hidden = id !== 'system';
    const live = id === 'live';
    staticControls.hidden = live;
    liveForm.hidden = !live;
    linesSelect.disabled = id !== 'system';
    errorSlot.replaceChildren();
    output.dataset.tab = id;
    if (live) {
      output.replaceChildren();
      liveCount = 0;
      setStatus('');
      startStream();
    } else {
      stopStream();
      output.replaceChildren();
      loadStatic();
    }
  }

  refreshBtn.addEventListener('click', loadStatic);
  linesSelect.addEventListener('change', loadStatic);
  liveForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    startStream();
  });
  unitInput.addEventListener('input', () => {
    unitError.textContent = '';
    unitInput.removeAttribute('aria-invalid');
  });
  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.classList.toggle('btn-primary', paused);
    if (!paused) {
      const lines = held;
      held = [];
      for (const l of lines) appendLine(l);
      setStatus(`Following ${output.dataset.unit || ''}`);
    } else {
      setStatus('Paused (new lines are kept and shown on resume)');
    }
  });
  clearBtn.addEventListener('click', () => {
    output.replaceChildren();
    liveCount = 0;
  });
  autoScroll.addEventListener('change', scroll);
  for (const el of [prioSelect, sinceInput, untilInput]) el.addEventListener('change', loadStatic);
  let searchTimer = null;
  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadStatic, 300);
  });

  async function loadUnits() {
    const units = [];
    try {
      const svcs = await api.get('/api/monitor/services');
      for (const s of Array.isArray(svcs) ? svcs : []) units.push(String(s.name).replace(/\.service$/, ''));
    } catch {
      // the field still takes a typed name
    }
    try {
      const sites = await api.get('/sites');
      for (const s of Array.isArray(sites) ? sites : []) if (s.app_type !== 'static') units.push(`app-${s.domain}`);
    } catch {
      // as above
    }
    for (const u of units) knownUnits.add(u);
    unitList.replaceChildren(...[...knownUnits].sort().map((u) => h('option', { value: u })));
    if (!unitInput.value && units.length) unitInput.value = units[0];
  }
  loadUnits();
  window.addEventListener('pagehide', stopStream);

  select('system');
  return () => {
    stopStream();
    window.removeEventListener('pagehide', stopStream);
  };
}
