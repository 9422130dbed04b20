// DOM helpers shared by the pages. Everything is built with createElement and
// textContent, never innerHTML, so server data can never become markup.

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function pageHeader(title, subtitle, ...actions) {
  return h('div', { class: 'page-header' },
    h('div', null, h('h1', null, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

export function badge(text, kind) {
  return h('span', { class: `badge${kind ? ` badge-${kind}` : ''}` }, text);
}

export function alertBox(kind, message) {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
}

export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const node = h('div', { class: `toast${kind === 'error' ? ' toast-error' : ''}`, role: 'status' }, message);
  box.append(node);
  setTimeout(() => node.remove(), kind === 'error' ? 7000 : 4000);
}

// A modal built on <dialog>. `body` are extra nodes (form fields); `onConfirm`
// may throw to keep the dialog open and show the error inside it.
export function modal({ title, text, body = [], confirmLabel = 'OK', danger = false, onConfirm }) {
  return new Promise((resolve) => {
    const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const ok = h('button', { class: `btn ${danger ? 'btn-danger btn-solid' : 'btn-primary'}`, type: 'submit', value: 'ok', dataset: { action: 'confirm' } }, confirmLabel);
    const cancel = h('button', { class: 'btn', type: 'button', dataset: { action: 'cancel' } }, 'Cancel');
    const form = h('form', { class: 'modal-body', method: 'dialog' },
      h('h2', null, title),
      text ? h('p', null, text) : null,
      error,
      body,
      h('div', { class: 'form-actions' }, cancel, ok));
    const dialog = h('dialog', { class: 'modal' }, form);
    let result = false;

    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      ok.disabled = true;
      try {
        if (onConfirm) await onConfirm();
        result = true;
        dialog.close();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        ok.disabled = false;
      }
    });

    document.body.append(dialog);
    dialog.showModal();
    // A destructive confirmation starts on Cancel: Enter right after
    // "Delete" must not delete.
    const first = dialog.querySelector('input, select');
    (first || (danger ? cancel : ok)).focus();
  });
}

export function confirmDialog(title, text, confirmLabel = 'Delete') {
  return modal({ title, text, confirmLabel, danger: true });
}

export function formatDate(value) {
  if (!value) return '—';
  const date = new Date(typeof value === 'string' && /^\d{4}-\d{2}-\d{2} /.test(value) ? value.replace(' ', 'T') + 'Z' : value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// Sizes in one style everywhere: powers of 1024 named as such (KiB, MiB...).
export function formatBytes(value) {
  if (typeof value !== 'number') return value === undefined || value === null ? '—' : String(value);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let n = value;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

// A size the server sends as text, in the seed's styles ("7.8 GB" for
// memory, df's "78G" for disks; both count in 1024s), in formatBytes' style.
export function sizeText(value) {
  if (typeof value === 'number') return formatBytes(value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)i?B?\s*$/i.exec(String(value ?? ''));
  if (!m) return value === undefined || value === null || value === '' ? '—' : String(value);
  return formatBytes(Number(m[1]) * 1024 ** ' KMGTPE'.indexOf(m[2].toUpperCase() || ' '));
}

// The three load averages ("0.45 0.38 0.32" or numbers), each with its period.
export function formatLoad(value) {
  const parts = Array.isArray(value) ? value : String(value ?? '').trim().split(/\s+/).filter(Boolean);
  const fig = (v) => (typeof v === 'number' ? v.toFixed(2) : String(v));
  if (parts.length !== 3) return parts.length ? parts.map(fig).join(' ') : '—';
  return ['1 min', '5 min', '15 min'].map((period, i) => `${period} ${fig(parts[i])}`).join(' · ');
}

export function isAdmin(user) {
  return Boolean(user && user.role === 'admin');
}

// Page-specific styles live in web/css/pages/<page>.css; a page module loads
// its own sheet once (CSP allows same-origin style sheets).
export function loadCss(href) {
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href }));
}

// Search, sort and paging over a list route (CONTRACT.md §9): the server
// filters and cuts the page (?q=&sort=&order=&page=&per_page=) and says how
// many match in X-Total-Count. `sorts` are [value, label] pairs; `load(query)`
// fetches with the query string and resolves to { items, total }; `show(items)`
// renders them. Returns { node, pager, reload }.
export function listControls({ id, label, sorts = [], perPage = 25, load, show, placeholder = 'Search' }) {
  const state = { q: '', sort: sorts.length ? sorts[0][0] : '', order: sorts.length ? (sorts[0][2] || 'asc') : 'asc', page: 1 };
  const search = h('input', { type: 'search', id: `${id}-q`, placeholder, autocomplete: 'off', spellcheck: 'false' });
  const sortSel = sorts.length ? h('select', { id: `${id}-sort` }, sorts.map(([v, l]) => h('option', { value: v }, l))) : null;
  const orderSel = sorts.length ? h('select', { id: `${id}-order` },
    h('option', { value: 'asc' }, 'ascending'), h('option', { value: 'desc' }, 'descending')) : null;
  if (orderSel) orderSel.value = state.order;
  const info = h('span', { class: 'muted', id: `${id}-count`, 'aria-live': 'polite' });
  const prev = h('button', { class: 'btn btn-sm', type: 'button', id: `${id}-prev` }, 'Previous');
  const next = h('button', { class: 'btn btn-sm', type: 'button', id: `${id}-next` }, 'Next');
  const node = h('div', { class: 'list-controls', role: 'search', 'aria-label': label },
    h('label', { class: 'sr-only', for: `${id}-q` }, `Search ${label}`), search,
    sortSel ? h('label', { class: 'sr-only', for: `${id}-sort` }, 'Sort by') : null, sortSel,
    orderSel ? h('label', { class: 'sr-only', for: `${id}-order` }, 'Order') : null, orderSel);
  const pager = h('div', { class: 'pager' }, info, prev, next);

  async function reload() {
    const qs = new URLSearchParams({ page: String(state.page), per_page: String(perPage) });
    if (state.q) qs.set('q', state.q);
    if (state.sort) {
      qs.set('sort', state.sort);
      qs.set('order', state.order);
    }
    const { items, total } = await load(qs.toString());
    const pages = Math.max(1, Math.ceil(total / perPage));
    if (state.page > pages && total > 0) {
      state.page = pages;
      return reload();
    }
    const from = total ? (state.page - 1) * perPage + 1 : 0;
    info.textContent = total ? `${from}–${from + items.length - 1} of ${total}` : 'Nothing matches';
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    pager.hidden = total <= perPage && state.page === 1;
    show(items, total);
    return { items, total };
  }
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = search.value.trim();
      state.page = 1;
      reload().catch(() => {});
    }, 200);
  });
  if (sortSel) sortSel.addEventListener('change', () => {
    state.sort = sortSel.value;
    state.page = 1;
    reload().catch(() => {});
  });
  if (orderSel) orderSel.addEventListener('change', () => {
    state.order = orderSel.value;
    reload().catch(() => {});
  });
  prev.addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    reload().catch(() => {});
  });
  next.addEventListener('click', () => {
    state.page += 1;
    reload().catch(() => {});
  });
  return { node, pager, reload, state };
}

// GET a list route with its query string: { items, total }.
export async function fetchPage(path, qs) {
  const res = await fetch(`${path}?${qs}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (res.status === 401) {
    location.href = `/login?reason=expired&next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error('Not logged in');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
  const total = parseInt(res.headers.get('X-Total-Count') || '', 10);
  return { items: Array.isArray(data) ? data : [], total: Number.isFinite(total) ? total : (Array.isArray(data) ? data.length : 0) };
}

// { items, total } like fetchPage for a list the page derives itself (no
// route can page it): q over `fields`, then the page of the list controls'
// query string cut here.
export function pageOf(rows, qs, fields) {
  const p = new URLSearchParams(qs);
  const q = (p.get('q') || '').toLowerCase();
  const hits = q ? rows.filter((r) => fields.some((f) => String(r[f] ?? '').toLowerCase().includes(q))) : rows;
  const per = Number(p.get('per_page')) || hits.length;
  const from = ((Number(p.get('page')) || 1) - 1) * per;
  return { items: hits.slice(from, from + per), total: hits.length };
}

// One wording for a unit's state everywhere (dashboard, monitor, nginx):
// systemd's ActiveState, and "unknown" where it is not known. Running
// without an active unit is the panel itself started by hand (make run).
export function unitStateBadge(active, running) {
  const st = active || 'unknown';
  if (st === 'active') return badge(st, 'ok');
  if (running) return badge('running (not under systemd)', 'ok');
  if (st === 'failed') return badge(st, 'err');
  if (st === 'inactive') return badge(st, 'plain');
  return badge(st, 'warn');
}
