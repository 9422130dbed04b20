// New site: the create form (every field of POST /sites), client-side checks
// that mirror the server's rules (CONTRACT.md §4; the server's answer is
// always shown too), then provisioning followed live: the form is sent with
// `Prefer: respond-async`, the answer names the deployment and its output
// is read from the deployment's event stream into a log panel.
import { ensureCsrfToken } from '../api.js';
import { h, pageHeader, alertBox, badge, isAdmin, loadCss } from '../ui.js';

export const APP_TYPES = [
  { value: 'static', label: 'Static files', entry: '', hint: 'nginx serves the files of the app root.' },
  { value: 'python', label: 'Python', entry: 'app.py', hint: 'A venv is created, requirements.txt installed, and the entry file run as a service behind nginx.' },
  { value: 'node', label: 'Node.js', entry: 'server.js', hint: 'npm installs the dependencies and the entry file runs as a service behind nginx.' },
  { value: 'autarch', label: 'AUTARCH', entry: '', hint: 'nginx in front of the AUTARCH installed on the AUTARCH page (its web port): no repository or service of its own.' },
];

// ---- validators: the same rules as src/base/validate.c ----

const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export function validDomain(s) {
  if (typeof s !== 'string' || s.length === 0 || s.length > 253) return false;
  return s.split('.').every((l) => LABEL_RE.test(l));
}

export function validAliases(s) {
  return s.split(' ').filter(Boolean).every(validDomain);
}

export function validBranch(s) {
  if (!s || s.length > 255) return false;
  if (/^[-/]|[/.]$/.test(s) || s === '@' || s === 'HEAD') return false;
  if (s.includes('..') || s.includes('@{') || s.includes('//')) return false;
  // control characters, space, DEL and ~ ^ : ? * [ \ are never allowed in a ref
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(s)) return false;
  return s.split('/').every((c) => !c.startsWith('.') && !c.endsWith('.lock'));
}

export function validPort(value) {
  if (!/^\d{1,5}$/.test(value)) return false;
  const n = Number(value);
  return n === 0 || (n >= 1024 && n <= 65535);
}

export function validAppRoot(s) {
  // absolute and normalised; "inside the web root" is left to the server,
  // which knows nginx.webroot
  return s.startsWith('/') && !s.endsWith('/') && !s.split('/').slice(1).some((c) => c === '' || c === '.' || c === '..')
    && !/[\x00-\x1f\x7f]/.test(s);
}

export function validEntry(s) {
  return s.length <= 255 && !s.startsWith('/') && !s.split('/').includes('..') && !/[\x00-\x1f\x7f]/.test(s);
}

export function validGitRepo(s) {
  if (s.startsWith('-') || /\s|[\x00-\x1f\x7f]/.test(s)) return false;
  if (/^(ext|file)::?/i.test(s) || /^[a-z][a-z0-9+.-]*::/i.test(s)) return false;
  return /^https:\/\/[^/]+\/.+/.test(s) || /^ssh:\/\/[^/]+\/.+/.test(s)
    || /^[A-Za-z0-9._-]+@[^:/]+:.+/.test(s) || s.startsWith('/');
}

// client_max_body_size of the site's vhost: digits and an optional k, m or
// g, at most 4g ("0": no limit), as valid_nginx_size in src/base/validate.c
export const BODY_SIZE_MAX = 4 * 1024 ** 3;

export function validBodySize(s) {
  const m = /^(\d{1,10})([kmg]?)$/i.exec(s);
  if (!m) return false;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Number(m[1]) * unit <= BODY_SIZE_MAX;
}

// The security headers nginx adds to a site's answers (src/core/site.h).
export const HEADER_MODES = [
  { value: 'default', label: 'Default: nosniff, Referrer-Policy, framing by the site itself only' },
  { value: 'strict', label: 'Strict: the same, and no framing at all (DENY, frame-ancestors \'none\')' },
  { value: 'off', label: 'Off: none, the app sets its own' },
];

// The field's problem in words, or '' when it passes. `v` holds trimmed strings.
export function checkField(name, v) {
  const value = v[name] ?? '';
  switch (name) {
    case 'domain':
      if (!value) return 'domain is required';
      if (/(^|\.)localhost$/i.test(value)) return 'domain: localhost names only this machine, no visitor can reach it';
      return validDomain(value) ? '' : 'domain must be a DNS name: labels of letters, digits and -, not starting or ending with -, up to 253 characters';
    case 'aliases':
      return validAliases(value) ? '' : 'aliases must be DNS names separated by spaces';
    case 'app_root':
      return !value || validAppRoot(value) ? '' : 'app_root must be an absolute, normalised path (no "..", "." or "//")';
    case 'app_entry':
      return !value || validEntry(value) ? '' : 'app_entry must be a path relative to the app root, without ".."';
    case 'app_port':
      return !value || validPort(value) ? '' : 'app_port must be 0 (pick a free port) or 1024-65535';
    case 'git_repo':
      return !value || validGitRepo(value) ? '' : 'git_repo must be an https://, ssh:// or user@host:path URL, or the path of a local bare repository';
    case 'git_branch':
      return !value || validBranch(value) ? '' : 'git_branch is not a valid branch name';
    case 'max_body_size':
      return !value || validBodySize(value) ? '' : 'max_body_size must be an nginx size such as 10m, 512k or 1g (digits and an optional k, m or g, at most 4g); leave it empty for the server default';
    case 'security_headers':
      return !value || HEADER_MODES.some((m) => m.value === value) ? '' : 'security_headers must be one of default, strict, off';
    default:
      return '';
  }
}

// The field a server error is about: its messages start with the field name.
export function fieldOfError(message, names) {
  const m = /^([a-z_]+)\b/.exec(String(message || ''));
  return m && names.includes(m[1]) ? m[1] : null;
}

// POST with extra headers (api.js has none): CSRF like api.js, 401 to login.
export async function postPrefer(path, body) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json', Prefer: 'respond-async' };
  const token = await ensureCsrfToken();
  if (token) headers['X-CSRF-Token'] = token;
  let res;
  try {
    res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(body || {}) });
  } catch (err) {
    const e = new Error(`Cannot reach the server (${err.message})`);
    e.status = 0;
    throw e;
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
  }
  if (!res.ok) {
    const e = new Error(data && typeof data.error === 'string' && data.error ? data.error : `Request failed (HTTP ${res.status})`);
    e.status = res.status;
    e.body = data;
    throw e;
  }
  return { status: res.status, data: data || {} };
}

// The final event's data: a bare status ("success"/"failed") or JSON with
// status and error/step.
export function parseEnd(data) {
  const text = String(data || '').trim();
  try {
    const j = JSON.parse(text);
    if (j && typeof j === 'object') {
      return { status: String(j.status || ''), error: String(j.error || j.message || ''), step: String(j.step || '') };
    }
    if (typeof j === 'string') return { status: j, error: '', step: '' };
  } catch {
    // plain text
  }
  return { status: text, error: '', step: '' };
}

const OK_STATUSES = new Set(['success', 'succeeded', 'ok', 'done', 'deployed', 'created']);

export function isSuccess(status) {
  return OK_STATUSES.has(String(status).toLowerCase());
}

// Follow a deployment's output over SSE. Calls onChunk(text) per output
// chunk and resolves with {status, error, step} when the "end" event comes.
// If the stream drops without one (server restart, proxy), resolves with
// status '' so the caller can look the deployment up instead. EventSource
// would reconnect and replay: it is closed at the first error.
export function followDeployment(url, onChunk, onOpen) {
  return new Promise((resolve) => {
    const es = new EventSource(url);
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      es.close();
      window.removeEventListener('pagehide', onHide);
      resolve(result);
    };
    const onHide = () => finish({ status: '', error: '', step: '' });
    window.addEventListener('pagehide', onHide);
    es.onopen = () => {
      if (onOpen) onOpen();
    };
    es.onmessage = (ev) => onChunk(ev.data);
    es.addEventListener('end', (ev) => finish(parseEnd(ev.data)));
    es.onerror = () => finish({ status: '', error: '', step: '' });
  });
}

// The step a failure happened at, from the error text or the log's last lines.
export function failedStep(end, logText) {
  if (end.step) return end.step;
  const text = `${end.error}\n${logText}`;
  const m = /\b(?:step|at|during)\s*[:=]?\s*"?(git clone|clone|venv|pip install|pip|npm ci|npm install|npm|port|unit|systemd|daemon-reload|start|nginx -t|nginx|vhost|reload)\b/i.exec(text);
  return m ? m[1] : '';
}

export async function render(container, { api, user }) {
  loadCss('/css/pages/sites.css');

  if (!isAdmin(user)) {
    container.replaceChildren(
      pageHeader('New site', 'Deploy a new site'),
      alertBox('info', 'You are signed in as a viewer: only admins can create sites.'),
      h('p', null, h('a', { href: '/sites', id: 'back-to-sites' }, 'Back to the sites')));
    return;
  }

  const FIELDS = ['domain', 'aliases', 'app_type', 'app_root', 'app_entry', 'app_port', 'git_repo', 'git_branch', 'dns_provider',
    'max_body_size', 'security_headers'];
  const inputs = {};
  const errors = {};
  const groups = {};

  function field(name, label, control, help) {
    inputs[name] = control;
    control.id = `site-${name.replaceAll('_', '-')}`;
    control.name = name;
    control.dataset.field = name;
    errors[name] = h('div', { class: 'field-error', id: `${control.id}-error`, role: 'alert', dataset: { errorFor: name } });
    control.setAttribute('aria-describedby', errors[name].id);
    groups[name] = h('div', { class: 'field', dataset: { group: name } },
      h('label', { for: control.id }, label),
      control,
      help ? h('div', { class: 'field-help muted' }, help) : null,
      errors[name]);
    return groups[name];
  }

  const text = (attrs) => h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', ...attrs });
  const typeSelect = h('select', null, APP_TYPES.map((t) => h('option', { value: t.value }, t.label)));
  const typeHint = h('p', { class: 'muted site-type-hint', id: 'site-type-hint' });
  // Hosting providers with DNS that are configured: the create job points
  // the domain and aliases at this server there (a "dns" step).
  const dnsSelect = h('select', null, h('option', { value: '' }, 'None: I manage DNS myself'));
  api.get('/api/hosting/providers').then((list) => {
    for (const p of Array.isArray(list) ? list : []) {
      if (p.configured && (p.capabilities || []).includes('dns')) dnsSelect.append(h('option', { value: p.name }, p.display_name || p.name));
    }
  }).catch(() => {});

  // nginx settings of the site's vhost, folded away: the defaults suit most sites
  const headersSelect = h('select', null, HEADER_MODES.map((m) => h('option', { value: m.value }, m.label)));
  const advanced = h('details', { class: 'site-advanced', id: 'site-advanced' },
    h('summary', null, 'Advanced: upload size and security headers'),
    h('div', { class: 'form-row' },
      field('max_body_size', 'Largest request body', text({ maxlength: '16', placeholder: 'Server default' }),
        'nginx size such as 10m, 512k or 1g (at most 4g): larger uploads get 413. Empty: the server default (nginx.client_max_body_size)'),
      field('security_headers', 'Security headers', headersSelect,
        'Headers nginx adds to every answer of the site')));

  const formError = h('div', { id: 'site-form-error' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'site-submit' }, 'Create site');
  const form = h('form', { id: 'site-form', class: 'site-form', novalidate: true },
    formError,
    h('div', { class: 'form-row' },
      field('domain', 'Domain', text({ required: true, maxlength: '253', placeholder: 'example.com' })),
      field('aliases', 'Aliases', text({ maxlength: '1024', placeholder: 'www.example.com (space-separated)' }))),
    h('div', { class: 'form-row' },
      field('app_type', 'Type', typeSelect),
      field('app_entry', 'Entry file', text({ maxlength: '255' }), 'Relative to the app root'),
      field('app_port', 'Port', h('input', { type: 'number', min: '0', max: '65535', step: '1', inputmode: 'numeric', placeholder: '0 = pick a free port' }))),
    typeHint,
    field('app_root', 'App root', text({ maxlength: '4096', placeholder: 'Server default: <web root>/<domain>' }), 'Leave empty for the server default (inside nginx.webroot)'),
    h('div', { class: 'form-row' },
      field('git_repo', 'Git repository', text({ maxlength: '2048', placeholder: 'https://github.com/user/repo.git (optional)' })),
      field('git_branch', 'Branch', text({ maxlength: '255', placeholder: 'main' }))),
    field('dns_provider', 'DNS records', dnsSelect, 'Create A/AAAA records of the domain and aliases at this provider, pointing at this server'),
    advanced,
    h('div', { class: 'form-actions' },
      h('a', { class: 'btn', href: '/sites', id: 'site-cancel' }, 'Cancel'),
      submit));
  groups.app_entry.classList.add('field-narrow');
  groups.app_port.classList.add('field-narrow');
  groups.app_type.classList.add('field-narrow');

  const logStatus = h('span', { id: 'provision-status', class: 'provision-status', dataset: { state: 'idle' } });
  const log = h('pre', { class: 'site-log', id: 'provision-log', tabindex: '0', 'aria-live': 'polite' });
  const result = h('div', { id: 'provision-result' });
  const logCard = h('section', { class: 'card', id: 'provision-card', hidden: true },
    h('div', { class: 'card-header' }, h('h2', null, 'Provisioning'), logStatus),
    h('div', { class: 'card-body' }, result, log));

  container.replaceChildren(
    pageHeader('New site', 'Create a site: the code is cloned, dependencies installed, the service started and nginx configured'),
    h('section', { class: 'card', id: 'site-create' },
      h('div', { class: 'card-header' }, h('h2', null, 'Site')),
      h('div', { class: 'card-body' }, form)),
    logCard);

  function syncType() {
    const t = APP_TYPES.find((x) => x.value === typeSelect.value) || APP_TYPES[0];
    const app = t.value === 'python' || t.value === 'node';
    groups.app_entry.hidden = !app;
    groups.app_port.hidden = !app;
    groups.git_repo.hidden = t.value === 'autarch';
    groups.git_branch.hidden = t.value === 'autarch';
    inputs.app_entry.placeholder = t.entry;
    typeHint.textContent = t.hint;
    form.dataset.appType = t.value;
  }
  typeSelect.addEventListener('change', syncType);
  syncType();

  function values() {
    const v = {};
    for (const name of FIELDS) v[name] = String(inputs[name].value || '').trim();
    v.domain = v.domain.toLowerCase();
    v.aliases = v.aliases.toLowerCase().split(/\s+/).filter(Boolean).join(' ');
    return v;
  }

  function showFieldError(name, message) {
    errors[name].textContent = message;
    if (message && advanced.contains(inputs[name])) advanced.open = true;
    if (message) inputs[name].setAttribute('aria-invalid', 'true');
    else inputs[name].removeAttribute('aria-invalid');
  }

  for (const name of FIELDS) {
    inputs[name].addEventListener('input', () => {
      showFieldError(name, '');
      // the "Fix the marked fields" banner goes with the last marked field
      if (!FIELDS.some((f) => inputs[f].getAttribute('aria-invalid') === 'true')) formError.replaceChildren();
    });
    inputs[name].addEventListener('blur', (ev) => {
      // leaving the field for the submit button: the submit checks every
      // field itself, and a message shown now would move the button away
      // under the pointer and lose the click
      if (ev.relatedTarget && ev.relatedTarget.type === 'submit') return;
      const v = values();
      if (name === 'domain' && !v.domain) return; // not yet an error while filling in
      showFieldError(name, checkField(name, v));
    });
  }

  function body(v) {
    const b = { domain: v.domain, app_type: v.app_type };
    if (v.aliases) b.aliases = v.aliases;
    if (v.app_root) b.app_root = v.app_root;
    if (v.app_type === 'python' || v.app_type === 'node') {
      if (v.app_entry) b.app_entry = v.app_entry;
      if (v.app_port) b.app_port = Number(v.app_port);
    }
    if (v.app_type !== 'autarch') {
      if (v.git_repo) b.git_repo = v.git_repo;
      if (v.git_branch) b.git_branch = v.git_branch;
    }
    if (v.dns_provider) b.dns_provider = v.dns_provider;
    // only what differs from the defaults: the seed's create shape otherwise
    if (v.max_body_size) b.max_body_size = v.max_body_size;
    if (v.security_headers && v.security_headers !== 'default') b.security_headers = v.security_headers;
    return b;
  }

  function setBusy(busy) {
    submit.disabled = busy;
    submit.textContent = busy ? 'Creating…' : 'Create site';
    for (const name of FIELDS) inputs[name].disabled = busy;
  }

  function setStatus(state, label, kind) {
    logStatus.dataset.state = state;
    logStatus.replaceChildren(badge(label, kind));
  }

  function appendLog(chunk) {
    log.classList.remove('empty-log');
    log.append(document.createTextNode(chunk.endsWith('\n') ? chunk : `${chunk}\n`));
    log.scrollTop = log.scrollHeight;
  }

  // When the stream ended without its final event: the deployment record
  // (or the site's absence: a failed create removes the site) tells.
  async function lookUp(id, deploymentId) {
    for (let i = 0; i < 120; i++) {
      let d;
      try {
        d = await api.get(`/sites/${encodeURIComponent(id)}/deployments/${encodeURIComponent(deploymentId)}`);
      } catch (err) {
        if (err.status === 401) return { status: 'failed', error: err.message, step: '' };
        if (err.status === 404) return { status: 'failed', error: 'the deployment is gone (the create failed and was undone)', step: '' };
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (d && d.status && !['running', 'pending', 'queued'].includes(d.status)) {
        // the stream broke off: the record has the whole output
        if (typeof d.output === 'string' && d.output) {
          log.replaceChildren();
          appendLog(d.output);
        }
        return { status: d.status, error: '', step: '' };
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    return { status: 'unknown', error: 'no final status after two minutes', step: '' };
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formError.replaceChildren();
    const v = values();
    let first = null;
    for (const name of FIELDS) {
      const msg = checkField(name, v);
      showFieldError(name, msg);
      if (msg && !first) first = name;
    }
    if (first) {
      formError.replaceChildren(alertBox('error', 'Fix the marked fields.'));
      inputs[first].focus();
      return;
    }

    setBusy(true);
    let answer;
    try {
      answer = await postPrefer('/sites', body(v));
    } catch (err) {
      setBusy(false);
      if (err.status === 401) return;
      formError.replaceChildren(alertBox('error', err.message));
      const f = fieldOfError(err.message, FIELDS);
      if (f) {
        showFieldError(f, err.message);
        inputs[f].focus();
      }
      return;
    }

    const id = answer.data.id;
    const deploymentId = answer.data.deployment_id;
    const siteUrl = `/sites/${encodeURIComponent(id)}`;
    logCard.hidden = false;
    log.replaceChildren();
    result.replaceChildren();

    let end;
    if (answer.status === 202 && deploymentId !== undefined && deploymentId !== null) {
      setStatus('running', 'running', 'warn');
      log.classList.add('empty-log');
      end = await followDeployment(`${siteUrl}/deployments/${encodeURIComponent(deploymentId)}/stream`, appendLog);
      if (!end.status) end = await lookUp(id, deploymentId);
    } else {
      // the server did it synchronously: the site exists now
      end = { status: 'success', error: '', step: '' };
      appendLog(`Site ${answer.data.domain || v.domain} created.`);
    }

    if (isSuccess(end.status)) {
      setStatus('success', 'success', 'ok');
      const link = h('a', { href: siteUrl, id: 'open-site', class: 'btn btn-primary btn-sm' }, 'Open the site');
      result.replaceChildren(h('div', { class: 'alert alert-info provision-done' }, `${v.domain} is ready. Opening its page… `, link));
      setTimeout(() => {
        location.href = siteUrl;
      }, 2000);
      return;
    }

    setStatus('failed', end.status || 'failed', 'err');
    // the job's summary (the failed step and why) is the log's last line
    const reason = end.error || log.textContent.trim().split('\n').pop() || '';
    const step = failedStep(end, log.textContent);
    const what = step && !reason.toLowerCase().includes(step.toLowerCase()) ? `Provisioning failed at step "${step}"` : 'Provisioning failed';
    result.replaceChildren(alertBox('error', `${what}${reason ? `: ${reason}` : ''}`),
      h('p', { class: 'muted' }, 'A failed create leaves nothing behind (no site, vhost or service): fix the cause and submit again.'));
    setBusy(false);
  });

  // the server's defaults (GET /sites/new) make the app root placeholder exact
  let webroot = '';
  const syncRoot = () => {
    if (!webroot) return;
    const d = inputs.domain.value.trim().toLowerCase();
    inputs.app_root.placeholder = `${webroot.replace(/\/+$/, '')}/${d && validDomain(d) ? d : '<domain>'} (default)`;
  };
  inputs.domain.addEventListener('input', syncRoot);
  api.get('/sites/new').then((defaults) => {
    if (defaults && typeof defaults.webroot === 'string') {
      webroot = defaults.webroot;
      syncRoot();
    }
    if (defaults && typeof defaults.max_body_size_default === 'string') {
      inputs.max_body_size.placeholder = `Server default: ${defaults.max_body_size_default}`;
    }
  }).catch(() => {});

  inputs.domain.focus();
}
