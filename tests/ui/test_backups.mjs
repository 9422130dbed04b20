// Browser test of the backups page: create a site and a full backup, verify,
// download, restore, spot a corrupted archive, delete, search/sort/paging of
// a long list (also at phone width), and the viewer's read-only view.
//
//   SETEC_BIN=build/setec-manager node tests/ui/test_backups.mjs

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, insertRows, launchBrowser, login, run, startPanel } from './harness.mjs';

const addSite = (dbPath, domain, root) => insertRows(dbPath, 'sites', [{ domain, app_root: root }])[0];

async function main() {
  const www = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-bk-www-'));
  const nginx = path.join(www, '..', `${path.basename(www)}-nginx`);
  fs.mkdirSync(path.join(nginx, 'sites-available'), { recursive: true });
  const root = path.join(www, 'shop');
  fs.mkdirSync(path.join(root, 'img'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), '<p>shop</p>\n');
  fs.writeFileSync(path.join(root, 'img', 'logo.svg'), '<svg/>\n');
  const q = (p) => JSON.stringify(p);

  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({
      extraYaml: ['nginx:', `  webroot: ${q(www)}`, `  sites_available: ${q(path.join(nginx, 'sites-available'))}`],
    });
  });
  if (!panel) return;
  const { base, tmp, adminPassword } = panel;
  const viewerName = `bkviewer${crypto.randomBytes(3).toString('hex')}`;
  const viewerPassword = crypto.randomBytes(18).toString('base64url');
  try {
    const siteId = addSite(path.join(tmp, 'data', 'setec.db'), 'shop.example.com', root);
    const siteIdForUi = siteId;
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    const rows = page.locator('#backups-table tbody tr[data-id]');

    await check('admin sees the empty backups page', async () => {
      await login(page, base, 'admin', adminPassword);
      await page.goto(`${base}/backups`);
      await page.locator('h1', { hasText: 'Backups' }).waitFor();
      await page.locator('#backups-table td.empty', { hasText: 'No backups yet' }).waitFor();
      assert(await page.locator('#backup-create').isVisible(), 'no create card');
      assert((await page.locator('link[href="/css/pages/backups.css"]').count()) === 1, 'page css not loaded');
    });

    await check('site backup appears in the list', async () => {
      // the site is picked by its domain (issue 15), never by a number
      await page.selectOption('#backup-site-id', { label: 'shop.example.com' });
      assert(await page.locator('#backup-site-id').inputValue() === String(siteId), 'picked another site');
      await page.click('#create-site-backup');
      await rows.first().waitFor();
      const file = (await rows.first().locator('[data-field="file"]').textContent()).trim();
      assert(/^site-shop\.example\.com-\d{8}-\d{6}\.tar\.gz$/.test(file), `file is "${file}"`);
      assert((await rows.first().getAttribute('data-type')) === 'site', 'type is not site');
      assert((await page.locator('[data-field="backup-count"]').textContent()).trim() === '1 archive', 'count');
      const site = (await rows.first().locator('[data-field="site"]').textContent()).trim();
      assert(site === 'shop.example.com', `site column says "${site}"`);
    });

    await check('full backup appears, without a restore button', async () => {
      await page.click('#create-full-backup');
      await page.locator('#backups-table tbody tr[data-type="full"]').waitFor();
      assert((await rows.count()) === 2, `rows: ${await rows.count()}`);
      const full = page.locator('#backups-table tbody tr[data-type="full"]');
      assert((await full.locator('[data-action="restore"]').count()) === 0, 'full backup offers restore');
      assert((await full.locator('[data-field="site"]').textContent()).trim() === '—', 'site column');
    });

    const siteRow = page.locator('#backups-table tbody tr[data-type="site"]');

    await check('verify marks the archive as verified', async () => {
      await siteRow.locator('[data-action="verify"]').click();
      await siteRow.locator('[data-field="verify-status"] .badge', { hasText: 'verified' }).waitFor();
    });

    await check('download sends the archive with its file name', async () => {
      const file = (await siteRow.locator('[data-field="file"]').textContent()).trim();
      const [dl] = await Promise.all([page.waitForEvent('download'), siteRow.locator('[data-action="download"]').click()]);
      assert(dl.suggestedFilename() === file, `download named "${dl.suggestedFilename()}"`);
      const saved = path.join(tmp, 'dl.tar.gz');
      await dl.saveAs(saved);
      const disk = fs.readFileSync(path.join(tmp, 'data', 'backups', file));
      assert(Buffer.compare(fs.readFileSync(saved), disk) === 0, 'downloaded bytes differ');
    });

    await check('restore brings back a deleted file', async () => {
      fs.unlinkSync(path.join(root, 'index.html'));
      fs.writeFileSync(path.join(root, 'added.txt'), 'later\n');
      await siteRow.locator('[data-action="restore"]').click();
      await page.locator('dialog.modal [data-action="confirm"]').click();
      await page.locator('.toast', { hasText: 'restored' }).waitFor();
      assert(fs.readFileSync(path.join(root, 'index.html'), 'utf8') === '<p>shop</p>\n', 'index.html not restored');
      assert(!fs.existsSync(path.join(root, 'added.txt')), 'added file survived');
    });

    await check('a corrupted archive fails verification', async () => {
      const file = (await siteRow.locator('[data-field="file"]').textContent()).trim();
      const p = path.join(tmp, 'data', 'backups', file);
      const buf = fs.readFileSync(p);
      buf[Math.floor(buf.length / 2)] ^= 0xff;
      fs.writeFileSync(p, buf);
      await siteRow.locator('[data-action="verify"]').click();
      await siteRow.locator('[data-field="verify-status"] .badge', { hasText: 'corrupt' }).waitFor();
    });

    await check('delete removes the row and the file', async () => {
      const full = page.locator('#backups-table tbody tr[data-type="full"]');
      const file = (await full.locator('[data-field="file"]').textContent()).trim();
      await full.locator('[data-action="delete"]').click();
      await page.locator('dialog.modal [data-action="confirm"]').click();
      await page.locator('#backups-table tbody tr[data-type="full"]').waitFor({ state: 'detached' });
      assert((await rows.count()) === 1, 'rows after delete');
      assert(!fs.existsSync(path.join(tmp, 'data', 'backups', file)), 'file still on disk');
    });

    await check('archives are searched, sorted and paged by the server', async () => {
      // rows only (the list reads the database): 20 of a second site, 10 full
      const db = path.join(tmp, 'data', 'setec.db');
      const blog = addSite(db, 'blog.example.org', path.join(www, 'blog'));
      const dir = path.join(tmp, 'data', 'backups');
      const rows30 = [];
      for (let i = 1; i <= 30; i++) {
        const day = String(i).padStart(2, '0');
        rows30.push(i <= 20
          ? { site_id: blog, backup_type: 'site', file_path: path.join(dir, `site-blog.example.org-202601${day}-030000.tar.gz`), size_bytes: i * 1000, created_at: `2026-01-${day}T03:00:00Z` }
          : { site_id: null, backup_type: 'full', file_path: path.join(dir, `full-system-202601${day}-030000.tar.gz`), size_bytes: i * 1000, created_at: `2026-01-${day}T04:00:00Z` });
      }
      const ids = insertRows(db, 'backups', rows30);
      const count = page.locator('[data-field="backup-count"]');
      await page.goto(`${base}/backups`);
      await count.filter({ hasText: '31 archives' }).waitFor();
      assert((await rows.count()) === 25, `first page has ${await rows.count()} rows`);
      await page.click('#backups-next');
      await page.locator('#backups-count', { hasText: '26–31 of 31' }).waitFor();
      assert((await rows.count()) === 6, `second page has ${await rows.count()} rows`);
      // by the site's domain
      await page.fill('#backups-q', 'blog.example');
      await count.filter({ hasText: '20 archives' }).waitFor();
      const sites = await rows.locator('[data-field="site"]').allTextContents();
      assert(sites.length === 20 && sites.every((t) => t.trim() === 'blog.example.org'), `sites: ${sites}`);
      await page.fill('#backups-q', 'no-such-archive');
      await page.locator('#backups-table td.empty', { hasText: 'No backup matches' }).waitFor();
      await page.fill('#backups-q', '');
      await count.filter({ hasText: '31 archives' }).waitFor();
      // the biggest first: the last inserted full backup
      await page.selectOption('#backups-sort', 'size');
      await page.selectOption('#backups-order', 'desc');
      await page.waitForFunction((id) => document.querySelector('#backups-table tbody tr[data-id]')?.dataset.id === id, String(ids[29]));
      await fitsPhone(page, '/backups');
    });

    await check('a schedule is added by domain, paused and deleted', async () => {
      await page.goto(`${base}/backups`);
      await page.locator('#backup-schedules td.empty', { hasText: 'No backup schedules' }).waitFor();
      await page.locator('#schedule-site option', { hasText: 'shop.example.com' }).waitFor({ state: 'attached' });
      await page.selectOption('#schedule-site', { label: 'shop.example.com' });
      await page.selectOption('#schedule-preset', 'custom');
      await page.fill('#schedule-cron', '15 4 * * *');
      await page.fill('#schedule-keep', '0');
      await page.click('#schedule-add');
      await page.locator('#schedule-error', { hasText: 'keep' }).waitFor();
      await page.fill('#schedule-keep', '3');
      await page.click('#schedule-add');
      const srow = page.locator('#schedules-table tbody tr[data-id]');
      await srow.first().waitFor();
      assert((await srow.count()) === 1, 'one schedule row');
      assert((await srow.locator('[data-field="site"]').textContent()) === 'shop.example.com', 'site by domain');
      assert((await srow.locator('[data-field="keep"]').textContent()) === '3', 'keep shown');
      const jobs = await page.evaluate(async () => (await fetch('/api/scheduler/jobs')).json());
      const mine = jobs.filter((j) => j.job_type === 'backup');
      assert(mine.length === 1 && mine[0].site_id === siteIdForUi && mine[0].schedule === '15 4 * * *' && mine[0].keep === 3,
        `stored: ${JSON.stringify(mine)}`);
      await srow.locator('[data-action="toggle"]').click();
      await srow.locator('[data-field="schedule"]', { hasText: 'paused' }).waitFor();
      await srow.locator('[data-action="delete-schedule"]').click();
      await page.locator('.modal button.btn-danger').click();
      await page.locator('#backup-schedules td.empty', { hasText: 'No backup schedules' }).waitFor();
    });

    await check('viewer sees a read-only list', async () => {
      const status = await page.evaluate(async ({ name, pw }) => {
        const csrf = document.cookie.split(';').map((s) => s.trim()).find((s) => s.startsWith('__Host-setec_csrf='))?.slice(18) || '';
        const r = await fetch('/panel/users', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': decodeURIComponent(csrf) },
          body: JSON.stringify({ username: name, password: pw, role: 'viewer' }),
        });
        return r.status;
      }, { name: viewerName, pw: viewerPassword });
      assert(status === 201, `create viewer: ${status}`);
      await Promise.all([page.waitForURL(/\/login$/), page.click('#logout')]);
      await login(page, base, viewerName, viewerPassword);
      await page.goto(`${base}/backups`);
      await rows.first().waitFor();
      assert((await page.locator('#backup-create').count()) === 0, 'viewer sees the create card');
      assert((await page.locator('#backups-table button, #backups-table a').count()) === 0, 'viewer sees actions');
    });

    await check('no script errors or CSP violations', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
  } finally {
    if (browser) await browser.close().catch(() => {});
    await panel.stop();
    fs.rmSync(www, { recursive: true, force: true });
    fs.rmSync(nginx, { recursive: true, force: true });
    if (!anyFailed() && !process.env.SETEC_UI_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`# kept ${tmp}`);
  }
}

await run(main);
