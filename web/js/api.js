// Thin JSON client for the panel's API. Every call is same-origin with the
// session cookie; state-changing calls carry the double-submit CSRF token.

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export function getCookie(name) {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return part.slice(eq + 1).trim();
      }
    }
  }
  return '';
}

// The session's CSRF token: the server sets it at login and on any GET of a
// logged-in session (__Host-setec_csrf over HTTPS, setec_csrf over plain
// HTTP). Should it be missing, one cheap authenticated GET fetches it.
function csrfCookie() {
  return getCookie('__Host-setec_csrf') || getCookie('setec_csrf');
}

export async function ensureCsrfToken() {
  let token = csrfCookie();
  if (!token) {
    try {
      await fetch('/api/auth/status', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch {
      // the real request below reports the network error
    }
    token = csrfCookie();
  }
  return token;
}

function goToLogin() {
  const here = location.pathname + location.search;
  const next = here && here !== '/' && here !== '/login' ? `&next=${encodeURIComponent(here)}` : '';
  location.href = `/login?reason=expired${next}`;
}

// A session that ends while a form is being sent must not throw the form
// away: the page stays, a banner says why and offers to sign in in a new
// tab; pressing the button again afterwards sends it.
function sessionEndedBanner() {
  if (document.getElementById('session-expired')) return;
  const main = document.getElementById('content');
  if (!main) return;
  const banner = document.createElement('div');
  banner.id = 'session-expired';
  banner.className = 'alert alert-warn session-expired';
  banner.setAttribute('role', 'alert');
  const link = document.createElement('a');
  link.href = `/login?reason=expired&next=${encodeURIComponent('/account')}`;
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = 'Sign in again (new tab)';
  banner.append('Your session has ended, so this change was not saved. Your form is kept: ', link,
    ', then press the button again.');
  main.prepend(banner);
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const token = await ensureCsrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }

  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(`Cannot reach the server (${err.message})`, 0, null);
  }

  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (res.status === 401) {
    if (method === 'GET' || method === 'HEAD') goToLogin();
    else sessionEndedBanner();
    throw new ApiError((data && data.error) || 'Not logged in', 401, data);
  }
  if (!res.ok) {
    const message = data && typeof data.error === 'string' && data.error ? data.error : `Request failed (HTTP ${res.status})`;
    throw new ApiError(message, res.status, data);
  }
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body),
  put: (path, body) => request('PUT', path, body),
  del: (path, body) => request('DELETE', path, body),
};

export default api;
