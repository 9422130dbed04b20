// Shared by the browser tests: TAP-like reporting ending in "N passed, M
// failed", a panel started on a free port with a temp config, and Debian's
// Chromium driven by playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const BIN = process.env.SETEC_BIN || path.join(repo, 'build', 'setec-manager');
// serve starts its root helper from beside the real binary (src/helper/split.c)
const HELPER = path.join(path.dirname(fs.existsSync(BIN) ? fs.realpathSync(BIN) : BIN), 'setec-helper');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let passed = 0;
let failed = 0;

export function report(ok, name, detail) {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    if (detail) for (const line of String(detail).split('\n')) console.log(`#   ${line}`);
  }
}

// A check that throws (assertion or Playwright timeout) fails; the run goes on.
export async function check(name, fn) {
  try {
    await fn();
    report(true, name);
    return true;
  } catch (err) {
    report(false, name, err && err.message ? err.message.split('\n').slice(0, 6).join('\n') : err);
    return false;
  }
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpsStatus(url) {
  return new Promise((resolve) => {
    const req = https.get(url, { rejectUnauthorized: false, headers: { Accept: 'text/html' }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

// Starts the panel with a fresh temp dir. `extraYaml` holds more config
// lines (whole sections, e.g. ['nginx:', '  webroot: "/tmp/x"']); `wrap` an
// argv prefix to run it through. Resolves to
// { base, tmp, adminPassword, logPath, stop() }; throws with the log tail when
// the panel does not answer.
export async function startPanel({ extraYaml = [], env = {}, wrap = [] } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-'));
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  const adminPassword = crypto.randomBytes(18).toString('base64url');
  const q = (p) => JSON.stringify(p); // a JSON string is a valid YAML double-quoted scalar
  const cfgPath = path.join(tmp, 'config.yaml');
  fs.writeFileSync(cfgPath, [
    // user "": no privilege drop (as root in a 0700 temp dir); the root
    // helper still runs apart
    'server:', '  host: 127.0.0.1', `  port: ${port}`, '  tls: true', '  user: ""',
    `  cert: ${q(path.join(tmp, 'tls', 'cert.pem'))}`, `  key: ${q(path.join(tmp, 'tls', 'key.pem'))}`,
    'database:', `  path: ${q(path.join(tmp, 'data', 'setec.db'))}`,
    'backups:', `  dir: ${q(path.join(tmp, 'data', 'backups'))}`,
    'logging:', '  file: ""',
    ...extraYaml, '',
  ].join('\n'));
  const logPath = path.join(tmp, 'server.log');
  const logFd = fs.openSync(logPath, 'w');
  assert(fs.existsSync(BIN), `no binary at ${BIN} (build it or set SETEC_BIN)`);
  assert(fs.existsSync(HELPER), `no root helper at ${HELPER}, beside ${BIN} (build it)`);
  let exit = null;
  const argv = [...wrap, BIN, '-c', cfgPath, 'serve'];
  const server = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, SETEC_ADMIN_PASSWORD: adminPassword, ...env },
    stdio: ['ignore', logFd, logFd],
  });
  server.on('exit', (code, signal) => { exit = signal || code; });
  server.on('error', (err) => { exit = err.message; });
  const stop = async () => {
    if (exit === null) {
      server.kill('SIGTERM');
      for (let i = 0; i < 50 && exit === null; i++) await sleep(100);
      if (exit === null) server.kill('SIGKILL');
    }
    try { fs.closeSync(logFd); } catch { /* already closed */ }
  };
  const deadline = Date.now() + 30000;
  let status = 0;
  while (Date.now() < deadline && exit === null) {
    status = await httpsStatus(`${base}/login`);
    if (status === 200) return { base, tmp, adminPassword, logPath, stop };
    await sleep(100);
  }
  await stop();
  const log = fs.readFileSync(logPath, 'utf8').trim().split('\n').slice(-8).join('\n');
  throw new Error(exit !== null ? `server exited (${exit}) before answering:\n${log}`
    : `GET /login answered ${status || 'nothing'} within 30 s:\n${log}`);
}

// A headless Chromium page that records script errors and CSP violations in
// `problems` (console errors for expected 401/403/409/429 answers excepted).
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|403|409|429)/.test(text)) {
      problems.push(`console: ${text}`);
    }
  });
  return { browser, context, page, problems };
}

// Log in through the login form as `user`; resolves when the dashboard shows.
export async function login(page, base, user, password) {
  await page.goto(`${base}/login`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/`), page.click('#login-submit')]);
}

// INSERT rows ({column: value} objects) into `table` of the panel's database
// (what no route creates, or many rows at once); returns the new ids.
export function insertRows(dbPath, table, rows) {
  const py = 'import json,sqlite3,sys\n'
    + 'c=sqlite3.connect(sys.argv[1],timeout=10)\n'
    + 'ids=[c.execute("INSERT INTO %s (%s) VALUES (%s)"%(sys.argv[2],",".join(d),",".join("?"*len(d))),list(d.values())).lastrowid'
    + ' for d in json.loads(sys.argv[3])]\n'
    + 'c.commit()\nprint(json.dumps(ids))\n';
  const r = spawnSync('/usr/bin/python3', ['-c', py, dbPath, table, JSON.stringify(rows)], { encoding: 'utf8' });
  assert(r.status === 0, `insert into ${table} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// The page is never wider than the window (a wide table must scroll inside
// its .table-wrap, never push "Log out" off-screen).
export async function noOverflow(page, what) {
  // a page's own sheet (loadCss) may still be on its way: measure with it
  await page.waitForFunction(() => [...document.querySelectorAll('link[rel="stylesheet"]')].every((l) => l.sheet));
  const [sw, cw, culprits] = await page.evaluate(() => {
    const root = document.documentElement;
    // the outermost elements reaching past the window, to name in a failure
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      if (out.length >= 3) break;
      if (el.getBoundingClientRect().right <= root.clientWidth + 1 || out.some((o) => o.el.contains(el))) continue;
      let scrolled = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (/(auto|scroll|hidden|clip)/.test(getComputedStyle(p).overflowX)) scrolled = true;
      }
      if (!scrolled) out.push({ el, name: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}` });
    }
    return [root.scrollWidth, root.clientWidth, out.map((o) => o.name)];
  });
  assert(sw <= cw + 1, `${what}: page is ${sw}px wide in a ${cw}px window (${culprits.join(', ') || 'no element found'})`);
}

export const PHONE_WIDTH = 390;

// noOverflow at a phone's width, then back to the window size it had.
export async function fitsPhone(page, what) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: PHONE_WIDTH, height: 844 });
  try {
    await noOverflow(page, `${what} at ${PHONE_WIDTH}px`);
  } finally {
    await page.setViewportSize(before);
  }
}

// Run main(), print the summary line, exit non-zero on any failure.
export async function run(main) {
  try {
    await main();
  } catch (err) {
    report(false, 'test harness', err && err.stack ? err.stack : err);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

export function anyFailed() {
  return failed > 0;
}
