// API tokens (admin): named, scoped (read-only or admin), expiring; the
// token is shown once, when it is made; revoking is at once.
import { h, pageHeader, badge, alertBox, toast, confirmDialog, formatDate, listControls, fetchPage } from '../ui.js';

export async function render(container, { api }) {
  const tbody = h('tbody');
  const msg = h('div', { 'aria-live': 'polite' });
  const shown = h('div', { id: 'token-shown', 'aria-live': 'polite' });
  const name = h('input', { id: 'token-name', type: 'text', maxlength: '64', required: true, autocomplete: 'off' });
  const scope = h('select', { id: 'token-scope' }, h('option', { value: 'read' }, 'read-only (GET only)'), h('option', { value: 'admin' }, 'admin (everything you may do)'));
  const days = h('input', { id: 'token-days', type: 'number', min: '1', max: '3650', value: '90' });
  const form = h('form', { id: 'token-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'token-name' }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: 'token-scope' }, 'Scope'), scope),
    h('div', { class: 'field' }, h('label', { for: 'token-days' }, 'Expires after (days)'), days),
    h('div', { class: 'form-actions' }, h('button', { class: 'btn btn-primary', type: 'submit', id: 'token-create' }, 'Create token')));

  const list = listControls({
    id: 'tokens', label: 'API tokens', perPage: 25,
    sorts: [['created_at', 'Created', 'desc'], ['name', 'Name'], ['last_used_at', 'Last used'], ['expires_at', 'Expires']],
    load: (qs) => fetchPage('/api/tokens', qs),
    show: (items) => {
      tbody.replaceChildren(...(items.length ? items.map((t) => h('tr', { dataset: { id: String(t.id) } },
        h('td', null, t.name),
        h('td', null, badge(t.scope, t.scope === 'admin' ? 'warn' : null)),
        h('td', null, t.created_by),
        h('td', null, t.expired ? badge('expired', 'err') : formatDate(t.expires_at)),
        h('td', null, t.last_used_at ? formatDate(t.last_used_at) : 'never'),
        h('td', null, h('button', {
          class: 'btn btn-sm btn-danger', type: 'button', 'aria-label': `Revoke ${t.name}`,
          onclick: async () => {
            if (!await confirmDialog(`Revoke "${t.name}"?`, 'Scripts using it get 401 from now on.', 'Revoke')) return;
            try {
              await api.del(`/api/tokens/${t.id}`);
              toast('Token revoked');
              list.reload();
            } catch (err) {
              msg.replaceChildren(alertBox('error', err.message));
            }
          },
        }, 'Revoke'))))
        : [h('tr', null, h('td', { colspan: '6', class: 'empty' }, 'No API tokens.'))]));
    },
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    if (!name.value.trim()) {
      msg.replaceChildren(alertBox('error', 'Give the token a name.'));
      name.focus();
      return;
    }
    try {
      const t = await api.post('/api/tokens', { name: name.value.trim(), scope: scope.value, expires_in_days: Number(days.value) });
      shown.replaceChildren(alertBox('ok', h('span', null, `Token "${t.name}" made. Copy it now: it is not shown again. `,
        h('code', { class: 'mono', id: 'token-value' }, t.token),
        '. Use it as ', h('code', null, 'Authorization: Bearer …'), '.')));
      form.reset();
      list.reload();
    } catch (err) {
      msg.replaceChildren(alertBox('error', err.message));
    }
  });

  container.replaceChildren(
    pageHeader('API tokens', 'For scripts: sent as "Authorization: Bearer", never as a cookie'),
    h('section', { class: 'card', id: 'token-new' }, h('div', { class: 'card-header' }, h('h2', null, 'New token')), h('div', { class: 'card-body' }, msg, shown, form)),
    h('section', { class: 'card', id: 'token-list' }, h('div', { class: 'card-header' }, h('h2', null, 'Tokens')),
      h('div', { class: 'card-body' }, list.node),
      h('div', { class: 'table-wrap' }, h('table', { id: 'tokens-table' },
        h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Scope'), h('th', null, 'Created by'), h('th', null, 'Expires'), h('th', null, 'Last used'), h('th', null, h('span', { class: 'sr-only' }, 'Actions')))),
        tbody)),
      h('div', { class: 'card-body' }, list.pager)));
  await list.reload();
}
