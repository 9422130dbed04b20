// Users page: panel accounts and the system (Linux) users of this server.
import { h, pageHeader, badge, alertBox, toast, modal, formatDate, isAdmin, loadCss, listControls, fetchPage } from '../ui.js';

const ROLES = ['admin', 'viewer'];

// Client-side mirror of the server's rules (CONTRACT §4): early, friendly
// messages only; the server decides.
const SYS_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const SYS_PW_MAX = 511; // PAM refuses longer passwords
const PROTECTED = new Set(['root', 'autarch']);

export async function render(container, { api, user }) {
  const admin = isAdmin(user);
  loadCss('/css/pages/users.css');

  const count = h('span', { class: 'muted', dataset: { field: 'panel-user-count' } }, '');
  const listError = h('div');
  const tbody = h('tbody', null, h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'Loading…')));
  const table = h('table', { id: 'panel-users-table' },
    h('thead', null, h('tr', null,
      h('th', null, 'Username'),
      h('th', null, 'Role'),
      h('th', null, 'Last login'),
      h('th', null, 'Created'),
      admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
    tbody);

  // search, sort and paging by the server
  const list = listControls({
    id: 'panel-users', label: 'panel users', perPage: 50, placeholder: 'Search user names',
    sorts: [['username', 'Name'], ['role', 'Role'], ['last_login', 'Last login', 'desc'], ['created_at', 'Created', 'desc']],
    load: (qs) => fetchPage('/panel/users', qs),
    show: (users, total) => {
      count.textContent = `${total} ${total === 1 ? 'account' : 'accounts'}`;
      tbody.replaceChildren(...(users.length
        ? users.map(row)
        : [h('tr', null, h('td', { colspan: '5', class: 'empty' }, list.state.q ? 'No user matches.' : 'No panel users.'))]));
    },
  });
  const panelCard = h('section', { class: 'card', id: 'panel-users' },
    h('div', { class: 'card-header' }, h('h2', null, 'Panel users'), count),
    h('div', { class: 'card-body' }, list.node),
    listError,
    h('div', { class: 'table-wrap' }, table),
    h('div', { class: 'card-body' }, list.pager));

  const sections = [
    pageHeader('Users', 'Accounts that can sign in to this panel, and the system users of this server'),
  ];
  if (!admin) {
    sections.push(alertBox('info', 'You are signed in as a viewer: you can see the accounts but not change them.'));
  }
  sections.push(panelCard);
  if (admin) sections.push(addUserCard());
  const system = systemUsersSection(api, admin);
  sections.push(system.card);
  if (admin) sections.push(system.addCard);
  container.replaceChildren(...sections);

  await Promise.all([load(), system.load()]);

  async function load() {
    try {
      await list.reload();
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load panel users: ${err.message}`)));
      tbody.replaceChildren();
      return;
    }
    listError.replaceChildren();
  }

  function isSelf(u) {
    return String(u.id) === String(user.user_id) || (user.user_id === undefined && u.username === user.username);
  }

  function row(u) {
    const self = isSelf(u);
    const nameCell = h('td', null,
      h('strong', { dataset: { field: 'username' } }, u.username),
      self ? [' ', badge('you', 'primary')] : null,
      u.force_change ? [' ', badge('must change password', 'warn')] : null);

    let roleCell;
    if (admin) {
      const select = h('select', { class: 'inline', 'aria-label': `Role of ${u.username}`, dataset: { field: 'role' } },
        ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
      select.addEventListener('change', () => changeRole(u, select));
      roleCell = h('td', null, select);
    } else {
      roleCell = h('td', { dataset: { field: 'role' } }, badge(u.role, u.role === 'admin' ? 'primary' : null));
    }

    const cells = [
      nameCell,
      roleCell,
      h('td', { class: 'muted' }, u.last_login ? formatDate(u.last_login) : 'never'),
      h('td', { class: 'muted' }, formatDate(u.created_at)),
    ];
    if (admin) {
      cells.push(h('td', { class: 'actions' },
        h('button', { class: 'btn btn-sm', type: 'button', dataset: { action: 'password' }, onclick: () => setPassword(u) }, 'Set password'),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' }, onclick: () => remove(u) }, 'Delete')));
    }
    return h('tr', { dataset: { id: String(u.id), username: u.username } }, cells);
  }

  async function changeRole(u, select) {
    const role = select.value;
    const ok = await modal({
      title: `Make ${u.username} ${role === 'admin' ? 'an admin' : 'a viewer'}?`,
      text: role === 'admin'
        ? `${u.username} will be able to change everything on this server.`
        : `${u.username} will only be able to look, not change anything${isSelf(u) ? ' (that includes you)' : ''}.`,
      confirmLabel: 'Change role',
      danger: true,
    });
    if (!ok) {
      select.value = u.role;
      select.focus();
      return;
    }
    select.disabled = true;
    try {
      await api.put(`/panel/users/${encodeURIComponent(u.id)}`, { role });
      toast(`${u.username} is now ${role === 'admin' ? 'an admin' : 'a viewer'}.`);
      if (isSelf(u) && role !== 'admin') {
        location.reload(); // our own rights just shrank
        return;
      }
      u.role = role;
    } catch (err) {
      if (err.status === 401) return;
      select.value = u.role;
      toast(`Could not change the role of ${u.username}: ${err.message}`, 'error');
    } finally {
      select.disabled = false;
    }
  }

  async function setPassword(u) {
    const pw = h('input', { type: 'password', id: 'set-password', autocomplete: 'new-password', required: true });
    const pw2 = h('input', { type: 'password', id: 'set-password-confirm', autocomplete: 'new-password', required: true });
    const done = await modal({
      title: `Set password for ${u.username}`,
      text: 'The user signs in with the new password from now on.',
      body: [
        h('div', { class: 'field' }, h('label', { for: 'set-password' }, 'New password'), pw),
        h('div', { class: 'field' }, h('label', { for: 'set-password-confirm' }, 'Repeat password'), pw2),
      ],
      confirmLabel: 'Set password',
      onConfirm: async () => {
        if (!pw.value) throw new Error('Enter a password.');
        if (pw.value !== pw2.value) throw new Error('The two passwords differ.');
        await api.put(`/panel/users/${encodeURIComponent(u.id)}`, { password: pw.value });
      },
    });
    if (done) {
      toast(`Password of ${u.username} changed.`);
      await load();
    }
  }

  async function remove(u) {
    const self = isSelf(u);
    const done = await modal({
      title: `Delete ${u.username}?`,
      text: self
        ? 'This is your own account: you will be signed out and cannot sign in with it again.'
        : `${u.username} will no longer be able to sign in to the panel. This cannot be undone.`,
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.del(`/panel/users/${encodeURIComponent(u.id)}`),
    });
    if (!done) return;
    if (self) {
      location.href = '/login';
      return;
    }
    toast(`${u.username} deleted.`);
    await load();
  }

  function addUserCard() {
    const error = h('div', { class: 'alert alert-error', role: 'alert', id: 'add-user-error', hidden: true });
    const username = h('input', { id: 'new-username', name: 'username', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: '64' });
    const password = h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    const role = h('select', { id: 'new-role', name: 'role' },
      h('option', { value: 'viewer' }, 'viewer'),
      h('option', { value: 'admin' }, 'admin'));
    const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'add-user-submit' }, 'Add user');
    const form = h('form', { id: 'add-user-form', class: 'card-body', novalidate: true },
      error,
      h('div', { class: 'form-row' },
        h('div', { class: 'field' }, h('label', { for: 'new-username' }, 'Username'), username),
        h('div', { class: 'field' }, h('label', { for: 'new-password' }, 'Password'), password),
        h('div', { class: 'field field-narrow' }, h('label', { for: 'new-role' }, 'Role'), role),
        h('div', { class: 'field field-narrow' }, submit)));

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      const name = username.value.trim();
      if (!name || !password.value) {
        error.textContent = !name ? 'Enter a username.' : 'Enter a password.';
        error.hidden = false;
        (!name ? username : password).focus();
        return;
      }
      submit.disabled = true;
      try {
        const created = await api.post('/panel/users', { username: name, password: password.value, role: role.value });
        toast(`Panel user ${created && created.username ? created.username : name} added.`);
        form.reset();
        await load();
      } catch (err) {
        if (err.status === 401) return;
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });

    return h('section', { class: 'card', id: 'add-panel-user' },
      h('div', { class: 'card-header' }, h('h2', null, 'Add panel user')),
      form);
  }
}

// System users: GET /users, POST /users, DELETE /users/{name}.
function systemUsersSection(api, admin) {
  const count = h('span', { class: 'muted', dataset: { field: 'system-user-count' } }, '');
  const listError = h('div', { id: 'system-users-error' });
  const cols = admin ? 5 : 4;
  const tbody = h('tbody', null, h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'Loading…')));
  const table = h('table', { id: 'system-users-table' },
    h('thead', null, h('tr', null,
      h('th', null, 'Username'),
      h('th', null, 'UID'),
      h('th', null, 'Home'),
      h('th', null, 'Shell'),
      admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
    tbody);
  const card = h('section', { class: 'card', id: 'system-users' },
    h('div', { class: 'card-header' }, h('h2', null, 'System users'), count),
    h('p', { class: 'card-body muted sys-users-note' },
      'Linux accounts of this server with UID 1000 or above. root, autarch and system accounts are protected.'),
    listError,
    h('div', { class: 'table-wrap' }, table));

  const shellSelect = h('select', { id: 'sys-new-shell', name: 'shell' }, h('option', { value: '/bin/bash' }, '/bin/bash'));
  const addCard = admin ? addForm() : null;

  async function load() {
    let users;
    try {
      users = await api.get('/users');
    } catch (err) {
      if (err.status === 401) return;
      listError.replaceChildren(h('div', { class: 'card-body' }, alertBox('error', `Could not load system users: ${err.message}`)));
      tbody.replaceChildren();
      return;
    }
    listError.replaceChildren();
    users = Array.isArray(users) ? users : [];
    count.textContent = `${users.length} ${users.length === 1 ? 'account' : 'accounts'}`;
    tbody.replaceChildren(...(users.length
      ? users.map(row)
      : [h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'No system users with UID 1000 or above.'))]));
    if (admin) await loadShells();
  }

  async function loadShells() {
    let shells;
    try {
      shells = await api.get('/api/users/shells');
    } catch (err) {
      return; // keep the /bin/bash default; the server checks anyway
    }
    if (!Array.isArray(shells) || !shells.length) return;
    const current = shellSelect.value || '/bin/bash';
    shellSelect.replaceChildren(...shells.map((s) => h('option', { value: s, selected: s === current }, s)));
    if (!shells.includes(current)) shellSelect.selectedIndex = 0;
  }

  function row(u) {
    const cells = [
      h('td', null, h('strong', { dataset: { field: 'username' } }, u.username),
        PROTECTED.has(u.username) ? [' ', badge('protected', 'warn')] : null),
      h('td', { class: 'mono', dataset: { field: 'uid' } }, u.uid),
      h('td', { class: 'mono', dataset: { field: 'home_dir' } }, u.home_dir),
      h('td', { class: 'mono', dataset: { field: 'shell' } }, u.shell),
    ];
    if (admin) {
      cells.push(h('td', { class: 'actions' }, PROTECTED.has(u.username)
        ? null
        : h('button', { class: 'btn btn-sm btn-danger', type: 'button', dataset: { action: 'delete' }, onclick: () => remove(u) }, 'Delete')));
    }
    return h('tr', { dataset: { username: u.username, uid: u.uid } }, cells);
  }

  async function remove(u) {
    let warning = null;
    const done = await modal({
      title: `Delete system user ${u.username}?`,
      text: `Every process of ${u.username} is ended, the account is removed and its home directory ${u.home_dir} is deleted with all its files. This cannot be undone.`,
      confirmLabel: 'Delete user',
      danger: true,
      onConfirm: async () => {
        const res = await api.del(`/users/${encodeURIComponent(u.username)}`);
        warning = res && res.warning ? res.warning : null;
      },
    });
    if (!done) return;
    toast(warning ? `${u.username} deleted, but: ${warning}` : `System user ${u.username} deleted.`, warning ? 'error' : 'ok');
    await load();
  }

  function addForm() {
    const error = h('div', { class: 'alert alert-error', role: 'alert', id: 'sys-add-user-error', hidden: true });
    const username = h('input', { id: 'sys-new-username', name: 'username', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: '32', pattern: '[a-z_][a-z0-9_\\-]{0,31}' });
    const password = h('input', { id: 'sys-new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'sys-add-user-submit' }, 'Add system user');
    const form = h('form', { id: 'sys-add-user-form', class: 'card-body', novalidate: true },
      error,
      h('div', { class: 'form-row' },
        h('div', { class: 'field' }, h('label', { for: 'sys-new-username' }, 'Username'), username),
        h('div', { class: 'field' }, h('label', { for: 'sys-new-password' }, 'Password'), password),
        h('div', { class: 'field field-narrow' }, h('label', { for: 'sys-new-shell' }, 'Shell'), shellSelect),
        h('div', { class: 'field field-narrow' }, submit)),
      h('p', { class: 'muted sys-users-hint' },
        'Lower-case letters, digits, "_" and "-", starting with a letter or "_" (at most 32). The password may not contain ":" or line breaks.'));

    function fail(message, input) {
      error.textContent = message;
      error.hidden = false;
      if (input) input.focus();
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      const name = username.value.trim();
      const pw = password.value;
      if (!name) return fail('Enter a username.', username);
      if (!SYS_NAME.test(name)) return fail('The username must match ^[a-z_][a-z0-9_-]{0,31}$.', username);
      if (!pw) return fail('Enter a password.', password);
      if (/[\r\n:]/.test(pw)) return fail('The password may not contain ":" or line breaks.', password);
      if (new TextEncoder().encode(pw).length > SYS_PW_MAX) return fail(`The password may be at most ${SYS_PW_MAX} bytes.`, password);
      submit.disabled = true;
      try {
        const created = await api.post('/users', { username: name, password: pw, shell: shellSelect.value });
        toast(`System user ${created && created.username ? created.username : name} created.`);
        form.reset();
        await load();
      } catch (err) {
        if (err.status === 401) return;
        fail(err.message);
      } finally {
        submit.disabled = false;
      }
    });

    return h('section', { class: 'card', id: 'add-system-user' },
      h('div', { class: 'card-header' }, h('h2', null, 'Add system user')),
      form);
  }

  return { card, addCard, load };
}
