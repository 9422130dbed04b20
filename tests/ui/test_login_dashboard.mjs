// Browser test of the panel UI: starts the real binary on a free port with a
// temp data dir, drives Debian's Chromium through playwright-core, and checks
// login, dashboard, panel users and logout.
//
//   node tests/ui/test_login_dashboard.mjs
//
// Env: SETEC_BIN (binary, default <repo>/build/setec-manager), CHROMIUM
// (default /usr/bin/chromium), SETEC_UI_KEEP=1 keeps the temp dir (it is also
// kept when a check fails) so dashboard.png and server.log can be inspected.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const BIN = process.env.SETEC_BIN || path.join(repo, 'build', 'setec-manager');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let passed = 0;
let failed = 0;

function report(ok, name, detail) {
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
async function check(name, fn) {
  try {
    await fn();
    report(true, name);
    return true;
  } catch (err) {
    report(false, name, err && err.message ? err.message.split('\n').slice(0, 6).join('\n') : err);
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function freePort() {
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-'));
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  const adminPassword = crypto.randomBytes(18).toString('base64url');
  const viewerName = `uiviewer${crypto.randomBytes(3).toString('hex')}`;
  const viewerPassword = crypto.randomBytes(18).toString('base64url');

  const q = (p) => JSON.stringify(p); // a JSON string is a valid YAML double-quoted scalar
  const cfgPath = path.join(tmp, 'config.yaml');
  fs.writeFileSync(cfgPath, [
    'server:',
    '  host: 127.0.0.1',
    `  port: ${port}`,
    '  tls: true',
    `  cert: ${q(path.join(tmp, 'tls', 'cert.pem'))}`,
    `  key: ${q(path.join(tmp, 'tls', 'key.pem'))}`,
    'database:',
    `  path: ${q(path.join(tmp, 'data', 'setec.db'))}`,
    'backups:',
    `  dir: ${q(path.join(tmp, 'data', 'backups'))}`,
    'logging:',
    '  file: ""',
    '',
  ].join('\n'));

  const serverLog = fs.openSync(path.join(tmp, 'server.log'), 'w');
  let server = null;
  let serverExit = null;
  let browser = null;

  const cleanup = async () => {
    if (browser) {
      await browser.close().catch(() => {});
      browser = null;
    }
    if (server && serverExit === null) {
      server.kill('SIGTERM');
      for (let i = 0; i < 50 && serverExit === null; i++) await sleep(100);
      if (serverExit === null) server.kill('SIGKILL');
    }
  };
  const onSignal = async () => {
    await cleanup();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // ---- start the panel ----
    const started = await check('server starts and serves /login', async () => {
      assert(fs.existsSync(BIN), `no binary at ${BIN} (build it or set SETEC_BIN)`);
      server = spawn(BIN, ['-c', cfgPath, 'serve'], {
        env: { ...process.env, SETEC_ADMIN_PASSWORD: adminPassword },
        stdio: ['ignore', serverLog, serverLog],
      });
      server.on('exit', (code, signal) => {
        serverExit = signal || code;
      });
      server.on('error', (err) => {
        serverExit = err.message;
      });
      const deadline = Date.now() + 30000;
      let status = 0;
      while (Date.now() < deadline && serverExit === null) {
        status = await httpsStatus(`${base}/login`);
        if (status === 200) return;
        await sleep(250);
      }
      const log = fs.readFileSync(path.join(tmp, 'server.log'), 'utf8').trim().split('\n').slice(-8).join('\n');
      throw new Error(serverExit !== null
        ? `server exited (${serverExit}) before answering:\n${log}`
        : `GET /login answered ${status || 'nothing'} within 30 s:\n${log}`);
    });
    if (!started) return tmp;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);

    // CSP violations and script errors would silently break the UI: collect them.
    const problems = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      const text = msg.text();
      if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|403|409|429)/.test(text)) {
        problems.push(`console: ${text}`);
      }
    });

    const pathOf = () => new URL(page.url()).pathname;

    // ---- not logged in ----
    await check('unauthenticated / lands on /login', async () => {
      await page.goto(`${base}/`);
      assert(pathOf() === '/login', `ended on ${page.url()}`);
      await page.locator('#login-form').waitFor();
      const brand = await page.locator('.brand-name').textContent();
      assert(brand.trim() === 'SETEC', `brand is "${brand}"`);
    });

    await check('wrong password shows the server error', async () => {
      await page.fill('#username', 'admin');
      await page.fill('#password', `${adminPassword}-wrong`);
      await page.click('#login-submit');
      const box = page.locator('#login-error');
      await box.waitFor({ state: 'visible' });
      const msg = (await box.textContent()).trim();
      assert(/invalid credentials/i.test(msg), `error box says "${msg}"`);
      assert(pathOf() === '/login', `left the login page: ${page.url()}`);
    });

    // ---- logged in as admin ----
    await check('correct password opens the dashboard', async () => {
      await page.fill('#username', 'admin');
      await page.fill('#password', adminPassword);
      await Promise.all([page.waitForURL(`${base}/`), page.click('#login-submit')]);
      await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
    });

    await check('dashboard shows a hostname', async () => {
      const el = page.locator('[data-field="hostname"]');
      await page.waitForFunction(() => {
        const t = document.querySelector('[data-field="hostname"]')?.textContent.trim();
        return t && t !== '—';
      });
      const host = (await el.textContent()).trim();
      assert(host.length > 0 && host !== '—', `hostname is "${host}"`);
    });

    await check('dashboard shows a memory figure', async () => {
      const mem = (await page.locator('[data-field="mem"]').textContent()).trim();
      assert(/\d.*\/.*\d.*\(\d+(\.\d+)?%\)/.test(mem), `memory reads "${mem}"`);
      const width = await page.locator('.progress-bar').first().evaluate((e) => e.style.width);
      assert(/^\d+(\.\d+)?%$/.test(width), `memory bar width is "${width}"`);
    });

    await check('sidebar shows the user, role and active link', async () => {
      const name = (await page.locator('#user-name').textContent()).trim();
      const role = (await page.locator('#user-role').textContent()).trim();
      assert(name === 'admin', `user name "${name}"`);
      assert(role === 'admin', `role "${role}"`);
      const active = await page.locator('.nav a.active').allTextContents();
      assert(active.length === 1 && active[0].trim() === 'Dashboard', `active links: ${JSON.stringify(active)}`);
      assert((await page.locator('.nav a[href]').count()) === 12, 'expected 12 nav links');
    });

    await check('dashboard screenshot', async () => {
      await page.waitForFunction(() => !document.querySelector('[data-field="services"] .empty'));
      const file = path.join(tmp, 'dashboard.png');
      await page.screenshot({ path: file, fullPage: true });
      assert(fs.statSync(file).size > 10000, 'screenshot is suspiciously small');
      console.log(`# screenshot: ${file}`);
    });

    await check('a not-yet-built area shows a notice, not an error', async () => {
      await page.goto(`${base}/ssl`);
      const notice = page.locator('[data-field="not-available"]');
      await notice.waitFor();
      assert(/not available in this version yet/.test(await notice.textContent()), 'notice text missing');
      assert((await page.locator('.alert-error').count()) === 0, 'an error box is shown');
      const active = (await page.locator('.nav a.active').textContent()).trim();
      assert(active === 'SSL/TLS', `active link "${active}"`);
    });

    await check('admin creates a viewer panel user on /users', async () => {
      await page.goto(`${base}/users`);
      await page.locator('#panel-users-table tbody tr[data-username="admin"]').waitFor();
      await page.fill('#new-username', viewerName);
      await page.fill('#new-password', viewerPassword);
      await page.selectOption('#new-role', 'viewer');
      await page.click('#add-user-submit');
      const row = page.locator(`#panel-users-table tbody tr[data-username="${viewerName}"]`);
      await row.waitFor();
      const role = await row.locator('select[data-field="role"]').inputValue();
      assert(role === 'viewer', `new user's role shows "${role}"`);
      assert(await page.locator('#add-user-error').isHidden(), 'the add form shows an error');
    });

    await check('duplicate panel user shows the server error', async () => {
      await page.fill('#new-username', viewerName);
      await page.fill('#new-password', viewerPassword);
      await page.click('#add-user-submit');
      const box = page.locator('#add-user-error');
      await box.waitFor({ state: 'visible' });
      const msg = (await box.textContent()).trim();
      assert(msg.length > 0, 'empty error message');
      assert((await page.locator(`tr[data-username="${viewerName}"]`).count()) === 1, 'user listed twice');
    });

    await check('logout returns to /login', async () => {
      await Promise.all([page.waitForURL(/\/login$/), page.click('#logout')]);
      await page.locator('#login-form').waitFor();
    });

    await check('after logout / redirects to /login again', async () => {
      await page.goto(`${base}/`);
      assert(pathOf() === '/login', `ended on ${page.url()}`);
    });

    // ---- logged in as the new viewer ----
    await check('viewer sees a read-only users page', async () => {
      await page.goto(`${base}/login?next=/users`);
      await page.fill('#username', viewerName);
      await page.fill('#password', viewerPassword);
      await Promise.all([page.waitForURL(`${base}/users`), page.click('#login-submit')]);
      await page.locator('#panel-users-table tbody tr[data-username="admin"]').waitFor();
      assert((await page.locator('#user-role').textContent()).trim() === 'viewer', 'role badge is not viewer');
      assert((await page.locator('#add-user-form').count()) === 0, 'viewer sees the add form');
      assert((await page.locator('#panel-users-table button').count()) === 0, 'viewer sees action buttons');
      await Promise.all([page.waitForURL(/\/login$/), page.click('#logout')]);
    });

    await check('no script errors or CSP violations', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
    return tmp;
  } finally {
    await cleanup();
    fs.closeSync(serverLog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (failed === 0 && !process.env.SETEC_UI_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`# kept ${tmp}`);
  }
}

try {
  await main();
} catch (err) {
  report(false, 'test harness', err && err.stack ? err.stack : err);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
