// Login page: posts the credentials as JSON and goes to the requested page.

const form = document.getElementById('login-form');
const errorBox = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

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
      body: JSON.stringify({ username, password }),
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
    let message = (data && typeof data.error === 'string' && data.error) || `Sign-in failed (HTTP ${res.status})`;
    if (res.status === 429) {
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
