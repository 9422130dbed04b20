// Browser test of the panel UI: starts the real binary on a free port with a
// temp data dir, drives Debian's Chromium through playwright-core, and checks
// login, dashboard (sizes in KiB/MiB/GiB, the load averages labelled, the
// panel itself running), panel users and logout, and that the dashboard and
// the users page fit a 390 px window.
//
//   node tests/ui/test_login_dashboard.mjs
//
// Env: SETEC_BIN (binary, default <repo>/build/setec-manager), CHROMIUM
// (default /usr/bin/chromium), SETEC_UI_KEEP=1 keeps the temp dir (it is also
// kept when a check fails) so dashboard.png and server.log can be inspected.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, launchBrowser, run, startPanel } from './harness.mjs';

async function main() {
  let panel = null;
  let browser = null;
  await check('server starts and serves /login', async () => {
    panel = await startPanel();
  });
  if (!panel) return;
  const { base, tmp, adminPassword } = panel;
  const viewerName = `uiviewer${crypto.randomBytes(3).toString('hex')}`;
  const viewerPassword = crypto.randomBytes(18).toString('base64url');
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;

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
      assert(/^\d+(\.\d)? (B|KiB|MiB|GiB|TiB) \/ \d+(\.\d)? (KiB|MiB|GiB|TiB) \(\d+(\.\d+)?%\)$/.test(mem), `memory reads "${mem}"`);
      const width = await page.locator('.progress-bar').first().evaluate((e) => e.style.width);
      assert(/^\d+(\.\d+)?%$/.test(width), `memory bar width is "${width}"`);
    });

    await check('dashboard labels the load averages and shows the panel itself running', async () => {
      const load = (await page.locator('[data-field="load_avg"]').textContent()).trim();
      assert(/^1 min \d+\.\d\d · 5 min \d+\.\d\d · 15 min \d+\.\d\d$/.test(load), `load reads "${load}"`);
      const self = page.locator('[data-field="services"] tr[data-service="Setec Manager"] .badge');
      await self.waitFor();
      const state = (await self.textContent()).trim();
      assert(state === 'running (not under systemd)', `the panel itself reads "${state}"`);
      await fitsPhone(page, '/');
    });

    await check('sidebar shows the user, role and active link', async () => {
      const name = (await page.locator('#user-name').textContent()).trim();
      const role = (await page.locator('#user-role').textContent()).trim();
      assert(name === 'admin', `user name "${name}"`);
      assert(role === 'admin', `role "${role}"`);
      const active = await page.locator('.nav a.active').allTextContents();
      assert(active.length === 1 && active[0].trim() === 'Dashboard', `active links: ${JSON.stringify(active)}`);
      // 12 areas and Activity, plus the audit log and API tokens for admins (issue 15)
      assert((await page.locator('.nav a[href]').count()) === 15, 'expected 15 nav links (with Activity, Audit log, API tokens)');
    });

    await check('dashboard screenshot', async () => {
      await page.waitForFunction(() => !document.querySelector('[data-field="services"] .empty'));
      const file = path.join(tmp, 'dashboard.png');
      await page.screenshot({ path: file, fullPage: true });
      assert(fs.statSync(file).size > 10000, 'screenshot is suspiciously small');
      console.log(`# screenshot: ${file}`);
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
      await fitsPhone(page, '/users');
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
    } finally {
    if (browser) await browser.close().catch(() => {});
    await panel.stop();
    if (!anyFailed() && !process.env.SETEC_UI_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`# kept ${tmp}`);
  }
}

await run(main);
