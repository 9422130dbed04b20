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

  const unitInput = h('input', { type: 'text', id: 'log-unit', value: 'autarch-web', maxlength: '255', spellcheck: 'false', 'aria-label': 'Unit', placeholder: 'unit, e.g. nginx' });
  const unitError = h('span', { class: 'log-unit-error', id: 'log-unit-error', role: 'alert' });
  const startBtn = h('button', { class: 'btn btn-sm btn-primary', type: 'submit', id: 'log-follow' }, 'Follow');
  const pauseBtn = h('button', { class: 'btn btn-sm', type: 'button', id: 'log-pause', disabled: true }, 'Pause');
  const clearBtn = h('button', { class: 'btn btn-sm btn-ghost', type: 'button', id: 'log-clear' }, 'Clear');
  const liveForm = h('form', { class: 'log-live-form', id: 'log-live-form', novalidate: true },
    unitInput, startBtn, pauseBtn, clearBtn, unitError);

  const staticControls = h('div', { class: 'log-controls', id: 'log-static-controls' }, linesSelect, refreshBtn);
  const toolbar = h('div', { class: 'log-toolbar' }, staticControls, liveForm, h('div', { class: 'log-right' }, status, autoLabel));

  const tabButtons = TABS.map((t) => h('button', {
    class: 'log-tab', type: 'button', role: 'tab', id: `log-tab-${t.id}`, dataset: { tab: t.id },
    onclick: () => select(t.id),
  }, t.label));

  container.append(
    pageHeader('Logs', 'System journal, nginx logs and a live tail of one service'),
    errorSlot,
    h('section', { class: 'card' },
      h('div', { class: 'log-tabs', role: 'tablist' }, tabButtons),
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
    const path = tab === 'system' ? `/api/logs/system?lines=${encodeURIComponent(lines)}`
      : `/api/logs/nginx?type=${tab}`;
    const wanted = tab;
    setStatus('Loading…');
    try {
      const data = await api.get(path);
      if (wanted !== tab) return;
      const text = (data && typeof data.logs === 'string') ? data.logs : '';
      output.textContent = text || (tab === 'system' ? 'No journal entries.' : 'This log is empty or does not exist yet.');
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
    }
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
  window.addEventListener('pagehide', stopStream);

  select('system');
  return () => {
    stopStream();
    window.removeEventListener('pagehide', stopStream);
  };
}
