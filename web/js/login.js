// Login page: posts the credentials as JSON and goes to the requested page.

const form = document.getElementById('login-form');
const errorBox = document.getElementById('login-error');
const submit = document.getElementById('login-submit');
const infoBox = document.getElementById('login-info');
const otpField = document.getElementById('otp-field');

// Why we are here: a session that ended says so (api.js adds reason=expired).
const params = new URLSearchParams(location.search);
if (params.get('reason') === 'expired') {
  infoBox.textContent = 'Your session has ended (it expired, or it was signed out elsewhere). Sign in again to continue where you were.';
  infoBox.hidden = false;
} else if (params.get('reason') === 'password') {
  infoBox.textContent = 'Your password was changed. Sign in with the new one.';
  infoBox.hidden = false;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

// Only a same-origin absolute path is accepted: "//host" and "/\host" are
// protocol-relative to browsers and would make this an open redirect.
export function safeNext(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) {
    return '/';
  }
  try {
    const url = new URL(raw, location.origin);
    if (url.origin !== location.origin || url.pathname === '/login') return '/';
    return url.pathname + url.search + url.hash;
  } catch {
    return '/';
  }
}

async function onSubmit(event) {
  event.preventDefault();
  errorBox.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  const code = form.otp.value.trim();
  if (!username || !password) {
    showError('Enter your username and password.');
    (username ? form.password : form.username).focus();
    return;
  }

  submit.disabled = true;
  const label = submit.textContent;
  let leaving = false;
  submit.textContent = 'Signing in…';
  try {
    const headers = { 'Accept': 'application/json', 'Content-Type': 'application/json' };
    const res = await fetch('/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers,
      body: JSON.stringify(code
        ? (/^\d{6}$/.test(code) ? { username, password, otp: code } : { username, password, recovery_code: code })
        : { username, password }),
    });
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (res.ok) {
      leaving = true;
      location.href = safeNext(new URLSearchParams(location.search).get('next'));
      return;
    }
    if (res.status === 401 && data && data.otp_required) {
      otpField.hidden = false;
      if (!code) {
        errorBox.hidden = true;
        infoBox.textContent = 'Two-factor login is on for this account: enter the one-time code.';
        infoBox.hidden = false;
      } else {
        showError(data.error === 'one-time code required' ? 'Enter the one-time code.' : 'That code is not valid (each code works once). Wait for the next one and try again.');
      }
      form.otp.value = '';
      form.otp.focus();
      return;
    }
    let message = (data && typeof data.error === 'string' && data.error) || `Sign-in failed (HTTP ${res.status})`;
    // the server's message already says how long to wait: say it once
    if (res.status === 429 && !/\d+ seconds?/.test(message)) {
      const wait = parseInt(res.headers.get('Retry-After') || '', 10);
      if (Number.isFinite(wait) && wait > 0) message += ` Try again in ${wait} s.`;
    }
    showError(message);
    form.password.select();
  } catch (err) {
    showError(`Cannot reach the server: ${err.message}`);
  } finally {
    // While the next page loads the button stays disabled against double submits.
    if (!leaving) {
      submit.disabled = false;
      submit.textContent = label;
    }
  }
}

form.addEventListener('submit', onSubmit);
