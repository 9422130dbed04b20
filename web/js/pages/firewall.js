// Firewall page: ufw's real rules (GET /firewall), add form, delete,
// enable/disable with a confirmation. Viewers get the read-only table.
import { h, pageHeader, badge, alertBox, toast, modal, confirmDialog, isAdmin, loadCss } from '../ui.js';

const ACTIONS = ['allow', 'deny', 'reject', 'limit'];
const PROTOCOLS = [['tcp', 'TCP'], ['udp', 'UDP'], ['', 'TCP + UDP']];

// Mirrors the server's checks (CONTRACT §4) for quick feedback; the server
// validates again and its message is shown when it refuses.
export function checkRule(rule) {
  const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(rule.port);
  if (!rule.port) return 'port is required';
  const inRange = (s) => !/^0/.test(s) && Number(s) >= 1 && Number(s) <= 65535;
  if (!m || !inRange(m[1]) || (m[2] !== undefined && (!inRange(m[2]) || Number(m[1]) >= Number(m[2])))) {
    return 'port must be a port 1-65535 or a range N:M (N < M)';
  }
  if (rule.source !== 'any' && !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(rule.source)) {
    return 'source must be any, an IPv4/IPv6 address or a CIDR';
  }
  if (rule.comment.length > 64 || /[^\x20-\x7e]|['"`\\]/.test(rule.comment) || rule.comment.startsWith('-')) {
    return "comment must be at most 64 printable characters without quotes or backslashes, not starting with '-'";
  }
  return null;
}

function protoLabel(p) {
  if (p === 'tcp' || p === 'udp') return p.toUpperCase();
  return 'TCP + UDP';
}

function actionBadge(action) {
  const kind = action === 'allow' ? 'ok' : action === 'limit' ? 'warn' : 'err';
  return badge(action, kind);
}

export function render(container, { api, user }) {
  loadCss('/css/pages/firewall.css');
  const admin = isAdmin(user);
  const status = h('span', { id: 'fw-status', dataset: { field: 'enabled' } }, badge('loading', 'plain'));
  const toggle = h('button', { class: 'btn', type: 'button', id: 'fw-toggle', hidden: true });
  const error = h('div', { id: 'fw-error' });
  const tbody = h('tbody', { id: 'fw-rules' });
  const raw = h('pre', { class: 'fw-raw', id: 'fw-output', dataset: { field: 'ufw_output' } });
  let state = null;

  async function load() {
    try {
      state = await api.get('/api/firewall/status');
      error.replaceChildren();
    } catch (err) {
      if (err.status === 401) return;
      // an error state, not "loading" forever, and no "Add rule" that cannot work
      error.replaceChildren(alertBox('error', `The firewall state could not be read: ${err.message}`));
      status.replaceChildren(badge('unknown', 'warn'));
      tbody.replaceChildren(h('tr', null, h('td', { colspan: admin ? 8 : 7, class: 'empty' }, 'Rules unavailable: ufw did not answer.')));
      toggle.hidden = true;
      if (form) form.hidden = true;
      return;
    }
    if (form) form.hidden = state.installed === false;
    const installed = state.installed !== false;
    status.replaceChildren(!installed ? badge('ufw not installed', 'warn')
      : state.enabled ? badge('active', 'ok') : badge('inactive', 'err'));
    toggle.hidden = !admin || !installed;
    toggle.textContent = state.enabled ? 'Disable firewall' : 'Enable firewall';
    toggle.className = state.enabled ? 'btn btn-danger' : 'btn btn-primary';
    raw.textContent = state.ufw_output || '';
    tbody.replaceChildren(...(state.rules.length ? state.rules.map(row)
      : [h('tr', null, h('td', { colspan: admin ? 8 : 7, class: 'empty' }, 'No rules'))]));
  }

  function row(rule) {
    const cells = [
      h('td', { dataset: { field: 'id' } }, String(rule.id)),
      h('td', { dataset: { field: 'action' } }, actionBadge(rule.action)),
      h('td', { dataset: { field: 'direction' } }, rule.direction + (rule.interface ? ` (${rule.interface})` : '')),
      h('td', { dataset: { field: 'port' }, class: 'mono' }, rule.port),
      h('td', { dataset: { field: 'protocol' } }, protoLabel(rule.protocol)),
      h('td', { dataset: { field: 'source' }, class: 'mono' }, rule.source),
      h('td', { dataset: { field: 'comment' } }, rule.comment || ''),
    ];
    if (admin) {
      const del = h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' } }, 'Delete');
      del.addEventListener('click', () => removeRule(rule));
      cells.push(h('td', { class: 'fw-actions' }, del));
    }
    return h('tr', { dataset: { id: String(rule.id) }, title: rule.rule || '' }, cells);
  }

  async function removeRule(rule) {
    const what = `${rule.action} ${rule.port}/${protoLabel(rule.protocol)} from ${rule.source}`;
    if (!(await confirmDialog('Delete rule', `Delete rule ${rule.id} (${what})?`))) return;
    try {
      // the rule as shown: the server refuses (409) if that id now names another rule
      await api.del(`/firewall/rules/${rule.id}`,
        { port: rule.port, protocol: rule.protocol, source: rule.source, action: rule.action });
      toast('Rule deleted');
    } catch (err) {
      toast(err.message, 'error');
    }
    await load();
  }

  toggle.addEventListener('click', async () => {
    const enabling = !state.enabled;
    const ok = await modal({
      title: enabling ? 'Enable firewall' : 'Disable firewall',
      text: enabling
        ? 'ufw will deny incoming connections that no rule allows. The panel\'s port and SSH (22/tcp) are allowed first.'
        : 'ufw will stop filtering: every port becomes reachable. The rules are kept.',
      confirmLabel: enabling ? 'Enable' : 'Disable',
      danger: !enabling,
      onConfirm: () => api.post(enabling ? '/firewall/enable' : '/firewall/disable'),
    });
    if (ok) toast(enabling ? 'Firewall enabled' : 'Firewall disabled');
    await load();
  });

  const form = admin ? addForm() : null;

  function addForm() {
    const port = h('input', { name: 'port', id: 'fw-port', placeholder: '8080 or 3000:3100', required: true, autocomplete: 'off' });
    const protocol = h('select', { name: 'protocol', id: 'fw-protocol' },
      PROTOCOLS.map(([v, l]) => h('option', { value: v }, l)));
    const source = h('input', { name: 'source', id: 'fw-source', value: 'any', autocomplete: 'off' });
    const action = h('select', { name: 'action', id: 'fw-action' }, ACTIONS.map((a) => h('option', { value: a }, a)));
    const comment = h('input', { name: 'comment', id: 'fw-comment', maxlength: 64, autocomplete: 'off' });
    const formError = h('div', { id: 'fw-form-error' });
    const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'fw-add' }, 'Add rule');
    const f = h('form', { class: 'card card-body', id: 'fw-form', novalidate: true },
      h('h2', { class: 'card-title' }, 'Add rule'),
      formError,
      h('div', { class: 'form-row' },
        h('label', { class: 'field field-narrow' }, 'Port', port),
        h('label', { class: 'field field-narrow' }, 'Protocol', protocol),
        h('label', { class: 'field' }, 'Source', source),
        h('label', { class: 'field field-narrow' }, 'Action', action),
        h('label', { class: 'field' }, 'Comment', comment),
        h('div', { class: 'field field-narrow' }, submit)));
    f.addEventListener('submit', async (event) => {
      event.preventDefault();
      const rule = {
        port: port.value.trim(), protocol: protocol.value, source: source.value.trim() || 'any',
        action: action.value, comment: comment.value,
      };
      const problem = checkRule(rule);
      if (problem) {
        formError.replaceChildren(alertBox('error', problem));
        return;
      }
      submit.disabled = true;
      try {
        await api.post('/firewall/rules', rule);
        formError.replaceChildren();
        port.value = '';
        comment.value = '';
        toast('Rule added');
        await load();
      } catch (err) {
        formError.replaceChildren(alertBox('error', err.message));
      } finally {
        submit.disabled = false;
      }
    });
    return f;
  }

  const headers = ['#', 'Action', 'Direction', 'Port', 'Protocol', 'Source', 'Comment'];
  if (admin) headers.push('');
  container.append(
    pageHeader('Firewall', 'ufw rules of this server', toggle),
    error,
    h('section', { class: 'card' },
      h('div', { class: 'card-header' }, h('h2', null, 'Rules'), h('div', null, 'Status: ', status)),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'data-table', id: 'fw-table' },
          h('thead', null, h('tr', null, headers.map((t) => h('th', null, t)))), tbody))),
    form,
    h('details', { class: 'card card-body fw-details' }, h('summary', null, 'ufw status verbose'), raw));
  return load();
}
