// Browser test of the activity list: a site create hung on a git remote that
// accepts connections and never answers shows up in the header count and on
// the Activity page with its steps and live output; when the remote drops
// the connection the job fails and a notice names the failing step; a
// second hung create is cancelled from the page and its notice says so.
//
//   SETEC_BIN=build/setec-manager node tests/ui/test_jobs.mjs

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, launchBrowser, login, run, startPanel } from './harness.mjs';

// accepts and never sends a byte; drop() closes what it accepted
function silentRemote() {
  const conns = new Set();
  const srv = net.createServer((c) => {
    conns.add(c);
    c.on('error', () => {});
    c.on('close', () => conns.delete(c));
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => resolve({
      url: (name) => `https://127.0.0.1:${srv.address().port}/${name}.git`,
      count: () => conns.size,
      drop: () => { for (const c of conns) c.destroy(); },
      close: () => { for (const c of conns) c.destroy(); srv.close(); },
    }));
  });
}

// POST /sites from the page (session cookie + CSRF), asynchronously
async function startCreate(page, body) {
  return page.evaluate(async (b) => {
    const csrf = document.cookie.split('; ').find((c) => /^(__Host-)?setec_csrf=/.test(c)).split('=')[1];
    const r = await fetch('/sites', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json', Accept: 'application/json',
        'X-CSRF-Token': decodeURIComponent(csrf), Prefer: 'respond-async',
      },
      body: JSON.stringify(b),
    });
    window.dispatchEvent(new Event('setec:job-started'));
    return { status: r.status, body: await r.json() };
  }, body);
}

async function main() {
  const www = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-jobs-www-'));
  const remote = await silentRemote();
  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({ extraYaml: ['nginx:', `  webroot: ${JSON.stringify(www)}`] });
  });
  if (!panel) {
    remote.close();
    return;
  }
  const { base, tmp, adminPassword } = panel;
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    const count = page.locator('#nav-activity [data-field="job-count"]');
    let first = null;

    await check('no jobs: the header count is hidden', async () => {
      await login(page, base, 'admin', adminPassword);
      await page.locator('#nav-activity').waitFor();
      assert(await count.isHidden(), 'count shown with no jobs');
    });

    await check('a running job shows in the header count', async () => {
      const r = await startCreate(page, { domain: 'hang-one.test', git_repo: remote.url('one') });
      assert(r.status === 202, `create answered ${r.status}: ${JSON.stringify(r.body)}`);
      first = r.body.job_id;
      await page.waitForFunction(() => {
        const el = document.querySelector('#nav-activity [data-field="job-count"]');
        return el && !el.hidden && el.textContent === '1';
      });
    });

    await check('the activity page lists it with its steps and live output', async () => {
      await page.click('#nav-activity');
      await page.waitForURL(`${base}/jobs`);
      const row = page.locator(`#jobs-table tbody tr[data-id="${first}"]`);
      await row.waitFor();
      assert((await row.getAttribute('data-state')) === 'running', 'not running');
      assert((await row.locator('[data-field="subject"]').textContent()).startsWith('site:'), 'subject');
      await row.click();
      await page.locator('#job-steps li[data-step="git clone"][data-state="running"]').waitFor();
      await page.waitForFunction(() => (document.querySelector('#job-output') || {}).textContent?.includes('git clone'));
      await fitsPhone(page, '/jobs');
    });

    await check('a failed job gives a notice naming the failing step', async () => {
      // wait for git to be connected, then drop it: git fails
      for (let i = 0; i < 200 && remote.count() === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert(remote.count() > 0, 'git never connected');
      remote.drop();
      const notice = page.locator(`[data-job-notice="${first}"]`);
      await notice.waitFor({ timeout: 20000 });
      assert((await notice.getAttribute('data-state')) === 'failed', 'notice state');
      const text = await notice.textContent();
      assert(text.includes('failed at step git clone'), `notice: ${text}`);
      // the open detail followed the stream to its end
      await page.locator('[data-field="job-state"] .badge', { hasText: 'failed' }).waitFor();
      await page.locator('#job-steps li[data-step="git clone"][data-state="failed"]').waitFor();
      await page.waitForFunction(() => {
        const el = document.querySelector('#nav-activity [data-field="job-count"]');
        return el && el.hidden;
      });
    });

    await check('cancel from the page: the job ends cancelled with a notice', async () => {
      const r = await startCreate(page, { domain: 'hang-two.test', git_repo: remote.url('two') });
      assert(r.status === 202, `create answered ${r.status}`);
      const id = r.body.job_id;
      const row = page.locator(`#jobs-table tbody tr[data-id="${id}"]`);
      await row.waitFor({ timeout: 15000 });
      await row.click();
      await page.locator('#job-steps li[data-step="git clone"][data-state="running"]').waitFor();
      await page.click('#job-detail [data-action="cancel"]');
      const notice = page.locator(`[data-job-notice="${id}"]`);
      await notice.waitFor({ timeout: 20000 });
      assert((await notice.getAttribute('data-state')) === 'cancelled', 'notice state');
      await page.locator(`#jobs-table tbody tr[data-id="${id}"][data-state="cancelled"]`).waitFor();
      assert(!fs.existsSync(path.join(www, 'hang-two.test')), 'app_root left behind');
    });

    await check('no script errors or CSP violations', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
  } finally {
    if (browser) await browser.close().catch(() => {});
    await panel.stop();
    remote.close();
    fs.rmSync(www, { recursive: true, force: true });
    if (!anyFailed() && !process.env.SETEC_UI_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`# kept ${tmp}`);
  }
}

await run(main);
