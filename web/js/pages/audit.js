// Audit log (admin): who changed what and when; filters by user, action and
// time range, search, sort and paging done by the server.
import { h, pageHeader, alertBox, formatDate, listControls, fetchPage } from '../ui.js';

export async function render(container) {
  const tbody = h('tbody');
  const msg = h('div', { 'aria-live': 'polite' });
  const user = h('input', { id: 'audit-user', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const action = h('input', { id: 'audit-action', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. DELETE, login' });
  const since = h('input', { id: 'audit-since', type: 'datetime-local' });
  const until = h('input', { id: 'audit-until', type: 'datetime-local' });
  const iso = (v) => (v ? new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z') : '');

  const list = listControls({
    id: 'audit', label: 'audit log', perPage: 50, placeholder: 'Search actions and targets',
    sorts: [['created_at', 'Time', 'desc'], ['user', 'User'], ['action', 'Action']],
    load: async (qs) => {
      const p = new URLSearchParams(qs);
      if (user.value.trim()) p.set('user', user.value.trim());
      if (action.value.trim()) p.set('action', action.value.trim());
      if (since.value) p.set('since', iso(since.value));
      if (until.value) p.set('until', iso(until.value));
      try {
        const r = await fetchPage('/api/audit', p.toString());
        msg.replaceChildren();
        return r;
      } catch (err) {
        msg.replaceChildren(alertBox('error', `Could not load the audit log: ${err.message}`));
        return { items: [], total: 0 };
      }
    },
    show: (items) => {
      tbody.replaceChildren(...(items.length ? items.map((a) => h('tr', null,
        h('td', null, formatDate(a.created_at)),
        h('td', null, a.user || '(anonymous)'),
        h('td', { class: 'mono' }, a.action),
        h('td', { class: 'mono' }, a.target || '—'),
        h('td', { class: 'mono' }, a.client_ip || '—'),
        h('td', { class: 'muted' }, a.detail || '')))
        : [h('tr', null, h('td', { colspan: '6', class: 'empty' }, 'No entries match.'))]));
    },
  });
  for (const el of [user, action, since, until]) {
    el.addEventListener('change', () => {
      list.state.page = 1;
      list.reload();
    });
  }
  const filters = h('div', { class: 'list-controls', id: 'audit-filters' },
    h('div', { class: 'field' }, h('label', { for: 'audit-user' }, 'User'), user),
    h('div', { class: 'field' }, h('label', { for: 'audit-action' }, 'Action'), action),
    h('div', { class: 'field' }, h('label', { for: 'audit-since' }, 'From'), since),
    h('div', { class: 'field' }, h('label', { for: 'audit-until' }, 'Until'), until));

  container.replaceChildren(
    pageHeader('Audit log', 'Every change made through the panel, newest first'),
    h('section', { class: 'card', id: 'audit-card' },
      h('div', { class: 'card-body' }, filters, list.node, msg),
      h('div', { class: 'table-wrap' }, h('table', { id: 'audit-table' },
        h('thead', null, h('tr', null, h('th', null, 'Time'), h('th', null, 'User'), h('th', null, 'Action'), h('th', null, 'Target'), h('th', null, 'Address'), h('th', null, 'Result'))),
        tbody)),
      h('div', { class: 'card-body' }, list.pager)));
  await list.reload();
}
