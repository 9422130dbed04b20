// My account (every role): the password with the current one, your
// sessions ("log out the others"), two-factor login with a QR code drawn by
// the panel and recovery codes shown once.
import { h, pageHeader, badge, alertBox, toast, confirmDialog, formatDate } from '../ui.js';

const MIN_PW = 12;

function field(id, label, input, help) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    help ? h('p', { class: 'muted', id: `${id}-help` }, help) : null);
}

// The QR code is an SVG document of ours: parsed as XML (never HTML) and
// adopted, so nothing in it can run.
function svgNode(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const svg = doc.documentElement;
  if (!svg || svg.nodeName !== 'svg') return h('p', { class: 'muted' }, 'The QR code could not be shown.');
  svg.querySelectorAll('script, foreignObject').forEach((n) => n.remove());
  return document.importNode(svg, true);
}

export async function render(container, { api, user }) {
  const info = h('dl', { class: 'kv', id: 'account-info' });
  const pwMsg = h('div', { id: 'password-message', 'aria-live': 'polite' });
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const fresh = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: String(MIN_PW), 'aria-describedby': 'new-password-help' });
  const again = h('input', { id: 'repeat-password', type: 'password', autocomplete: 'new-password', required: true });
  const pwButton = h('button', { class: 'btn btn-primary', type: 'submit', id: 'password-submit' }, 'Change password');
  const pwForm = h('form', { id: 'password-form', novalidate: true },
    pwMsg,
    field('current-password', 'Current password', current),
    field('new-password', 'New password', fresh, `At least ${MIN_PW} characters, not your username.`),
    field('repeat-password', 'Repeat the new password', again),
    h('div', { class: 'form-actions' }, pwButton));

  const sessBody = h('tbody');
  const sessMsg = h('div', { 'aria-live': 'polite' });
  const othersButton = h('button', { class: 'btn', type: 'button', id: 'logout-others' }, 'Log out the other sessions');
  const tfaBody = h('div', { class: 'card-body', id: 'twofa' });

  container.replaceChildren(
    pageHeader('My account', 'Password, sessions and two-factor login'),
    h('section', { class: 'card', id: 'account-card' }, h('div', { class: 'card-header' }, h('h2', null, 'Account')), h('div', { class: 'card-body' }, info)),
    h('section', { class: 'card', id: 'password-card' }, h('div', { class: 'card-header' }, h('h2', null, 'Password')), h('div', { class: 'card-body' }, pwForm)),
    h('section', { class: 'card', id: 'sessions-card' },
      h('div', { class: 'card-header' }, h('h2', null, 'Sessions'), othersButton),
      sessMsg,
      h('div', { class: 'table-wrap' }, h('table', { id: 'sessions-table' },
        h('thead', null, h('tr', null, h('th', null, 'Address'), h('th', null, 'Browser or client'), h('th', null, 'Signed in'), h('th', null, 'Last seen'), h('th', null, h('span', { class: 'sr-only' }, 'Actions')))),
        sessBody))),
    h('section', { class: 'card', id: 'twofa-card' }, h('div', { class: 'card-header' }, h('h2', null, 'Two-factor login')), tfaBody));

  pwForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    pwMsg.replaceChildren();
    let problem = null;
    if (!current.value) problem = 'Enter your current password.';
    else if ([...fresh.value].length < MIN_PW) problem = `The new password needs at least ${MIN_PW} characters.`;
    else if (fresh.value.toLowerCase() === String(user.username).toLowerCase()) problem = 'The new password must not be your username.';
    else if (fresh.value !== again.value) problem = 'The two new passwords differ.';
    if (problem) {
      pwMsg.replaceChildren(alertBox('error', problem));
      return;
    }
    pwButton.disabled = true;
    try {
      await api.put('/api/account/password', { current_password: current.value, new_password: fresh.value });
      pwForm.reset();
      pwMsg.replaceChildren(alertBox('ok', 'Password changed. Your other sessions were signed out; this one goes on.'));
      loadSessions();
    } catch (err) {
      pwMsg.replaceChildren(alertBox('error', err.status === 403 ? 'The current password is not right.' : err.message));
    } finally {
      pwButton.disabled = false;
    }
  });

  othersButton.addEventListener('click', async () => {
    if (!await confirmDialog('Log out the other sessions?', 'Every other browser or client signed in as you must sign in again.', 'Log them out')) return;
    try {
      const r = await api.del('/api/account/sessions');
      toast(`${r.ended} other session${r.ended === 1 ? '' : 's'} logged out`);
      loadSessions();
    } catch (err) {
      sessMsg.replaceChildren(alertBox('error', err.message));
    }
  });

  async function loadInfo() {
    const a = await api.get('/api/account');
    info.replaceChildren(
      h('dt', null, 'Username'), h('dd', { dataset: { field: 'username' } }, a.username),
      h('dt', null, 'Role'), h('dd', { dataset: { field: 'role' } }, a.role),
      h('dt', null, 'Created'), h('dd', null, formatDate(a.created_at)));
    return a;
  }

  async function loadSessions() {
    let list;
    try {
      list = await api.get('/api/account/sessions');
    } catch (err) {
      sessMsg.replaceChildren(alertBox('error', `Could not load sessions: ${err.message}`));
      return;
    }
    sessMsg.replaceChildren();
    othersButton.disabled = list.filter((s) => !s.current).length === 0;
    sessBody.replaceChildren(...list.map((s) => h('tr', { dataset: { id: String(s.id) } },
      h('td', { class: 'mono' }, s.client_ip || '—'),
      h('td', null, s.user_agent || '—', s.current ? [' ', badge('this session', 'ok')] : null),
      h('td', null, formatDate(s.created_at)),
      h('td', null, formatDate(s.last_seen_at)),
      h('td', null, s.current ? null : h('button', {
        class: 'btn btn-sm btn-danger', type: 'button', 'aria-label': `End the session from ${s.client_ip || 'unknown'}`,
        onclick: async () => {
          if (!await confirmDialog('End this session?', `The client at ${s.client_ip || 'an unknown address'} must sign in again.`, 'End session')) return;
          try {
            await api.del(`/api/account/sessions/${s.id}`);
            loadSessions();
          } catch (err) {
            sessMsg.replaceChildren(alertBox('error', err.message));
          }
        },
      }, 'End')))));
  }

  function showTwoFactor(a) {
    if (a.totp_enabled) {
      const pw = h('input', { id: 'tfa-off-password', type: 'password', autocomplete: 'current-password' });
      const code = h('input', { id: 'tfa-off-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code' });
      const msg = h('div', { 'aria-live': 'polite' });
      const form = h('form', { id: 'tfa-off-form', novalidate: true }, msg,
        field('tfa-off-password', 'Password', pw),
        field('tfa-off-code', 'One-time or recovery code', code),
        h('div', { class: 'form-actions' }, h('button', { class: 'btn btn-danger', type: 'submit' }, 'Turn off two-factor login')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await api.del('/api/account/2fa', { password: pw.value, code: code.value.trim() });
          toast('Two-factor login is off');
          showTwoFactor(await loadInfo());
        } catch (err) {
          msg.replaceChildren(alertBox('error', err.message));
        }
      });
      tfaBody.replaceChildren(
        h('p', null, badge('on', 'ok'), ' Signing in needs a code from your authenticator app.',
          ` ${a.recovery_codes_left} recovery code${a.recovery_codes_left === 1 ? '' : 's'} left.`),
        form);
      return;
    }
    const start = h('button', { class: 'btn btn-primary', type: 'button', id: 'tfa-setup' }, 'Set up two-factor login');
    const area = h('div');
    start.addEventListener('click', async () => {
      start.disabled = true;
      let s;
      try {
        s = await api.post('/api/account/2fa/setup');
      } catch (err) {
        area.replaceChildren(alertBox('error', err.message));
        start.disabled = false;
        return;
      }
      const code = h('input', { id: 'tfa-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', 'aria-describedby': 'tfa-code-help' });
      const msg = h('div', { 'aria-live': 'polite' });
      const form = h('form', { id: 'tfa-enable-form', novalidate: true }, msg,
        field('tfa-code', 'Code from the app', code, 'Six digits; they change every 30 seconds.'),
        h('div', { class: 'form-actions' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Turn on')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          const r = await api.post('/api/account/2fa/enable', { code: code.value.trim() });
          tfaBody.replaceChildren(
            alertBox('ok', 'Two-factor login is on.'),
            h('p', null, h('strong', null, 'Recovery codes: '), 'each one signs you in once without the app. Keep them somewhere safe: they are shown only now.'),
            h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, r.recovery_codes.map((c) => h('li', null, c))),
            h('button', { class: 'btn', type: 'button', onclick: async () => showTwoFactor(await loadInfo()) }, 'I have saved them'));
        } catch (err) {
          msg.replaceChildren(alertBox('error', err.message));
          code.select();
        }
      });
      area.replaceChildren(
        h('p', null, 'Scan this code with an authenticator app (or type the key), then enter the code it shows.'),
        h('div', { class: 'qr-code', id: 'tfa-qr' }, svgNode(s.qr_svg)),
        h('p', null, 'Key: ', h('code', { id: 'tfa-secret', class: 'mono' }, s.secret)),
        form);
      code.focus();
    });
    tfaBody.replaceChildren(h('p', null, badge('off', null), ' Signing in needs only your password.'), start, area);
  }

  try {
    const a = await loadInfo();
    showTwoFactor(a);
    await loadSessions();
  } catch (err) {
    if (err.status === 401) return;
    container.append(alertBox('error', err.message));
  }
}
