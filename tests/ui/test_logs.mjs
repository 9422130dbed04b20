// Browser test of the Logs page: system journal (a journal directory made
// with systemd-journal-remote, read through SETEC_JOURNAL_DIR), nginx logs
// from temp files, and the live tail over EventSource with pause/resume.
//
//   SETEC_BIN=... node tests/ui/test_logs.mjs

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, check, fitsPhone, launchBrowser, login, repo, run, sleep, startPanel } from './harness.mjs';

const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const BOOT_ID = '0123456789abcdef0123456789abcdef';

let journalFiles = 0;
function writeJournal(dir, exportText) {
  const src = path.join(dir, `in${journalFiles}.export.tmp`);
  fs.writeFileSync(src, exportText);
  execFileSync(JOURNAL_REMOTE, [`--output=${path.join(dir, `f${journalFiles++}.journal`)}`, src], { stdio: 'pipe' });
  fs.unlinkSync(src);
}

function logEntry(dir, k, unit, message) {
  writeJournal(dir, [
    `__REALTIME_TIMESTAMP=${1741617010000000 + k * 1000000}`,
    `__MONOTONIC_TIMESTAMP=${100000000 + k * 1000000}`,
    `_BOOT_ID=${BOOT_ID}`, '_MACHINE_ID=fedcba9876543210fedcba9876543210',
    `_SYSTEMD_UNIT=${unit}`, 'SYSLOG_IDENTIFIER=test', '_PID=42', '_HOSTNAME=vps',
    `MESSAGE=${message}`, '', ''].join('\n'));
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-logs-'));
  const jdir = path.join(work, 'journal');
  fs.mkdirSync(jdir);
  const haveJournal = fs.existsSync(JOURNAL_REMOTE);
  if (haveJournal) writeJournal(jdir, fs.readFileSync(path.join(repo, 'tests', 'fixtures', 'logs', 'basic.export')));
  else console.log(`# ${JOURNAL_REMOTE} missing: journal checks will fail`);
  const access = path.join(work, 'access.log');
  const error = path.join(work, 'error.log');
  fs.writeFileSync(access, Array.from({ length: 300 }, (_, i) => `10.0.0.1 - - [10/Mar/2026:14:30:00 +0000] "GET /page-${i} HTTP/1.1" 200 5\n`).join(''));
  fs.writeFileSync(error, '2026/03/10 14:30:00 [error] 1#1: <b>not markup</b>\n');

  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({
      extraYaml: ['nginx:', `  access_log: ${JSON.stringify(access)}`, `  error_log: ${JSON.stringify(error)}`],
      env: { SETEC_JOURNAL_DIR: jdir, TZ: 'UTC' },
    });
  });
  if (!panel) return;
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    const out = page.locator('#log-output');
    const outText = async () => (await out.textContent()) || '';
    const waitText = (needle, timeout = 5000) => page.waitForFunction(
      (n) => (document.getElementById('log-output')?.textContent || '').includes(n), needle, { timeout });

    await login(page, panel.base, 'admin', panel.adminPassword);

    await check('logs page opens on the system journal', async () => {
      await page.goto(`${panel.base}/logs`);
      await page.locator('h1', { hasText: 'Logs' }).waitFor();
      await waitText('Started Setec Manager.');
      const t = await outText();
      assert(t.startsWith('Mar 10 14:30:00 vps systemd[1]: Started Setec Manager.\n'), `output starts "${t.slice(0, 80)}"`);
      assert(t.includes('nginx[813]: nginx line two'), 'last entry missing');
      assert(await page.locator('#log-tab-system').getAttribute('aria-selected') === 'true', 'system tab not selected');
      assert(!(await page.locator('#log-live-form').isVisible()), 'live controls shown on the system tab');
      await fitsPhone(page, '/logs');
    });

    await check('lines select asks for that many lines', async () => {
      const [req] = await Promise.all([
        page.waitForRequest((r) => r.url().includes('/api/logs/system?lines=50')),
        page.selectOption('#log-lines', '50'),
      ]);
      assert(req, 'no request');
      const opts = await page.locator('#log-lines option').allTextContents();
      assert(opts.join(',') === '50 lines,100 lines,500 lines,1000 lines', opts.join(','));
    });

    await check('nginx access tab shows the last 200 lines', async () => {
      await page.click('#log-tab-access');
      await waitText('GET /page-299 ');
      const lines = (await outText()).trim().split('\n');
      assert(lines.length === 200, `${lines.length} lines`);
      assert(lines[0].includes('GET /page-100 '), lines[0]);
      await fitsPhone(page, '/logs (nginx access)');
    });

    await check('nginx error tab shows text, never markup', async () => {
      await page.click('#log-tab-error');
      await waitText('not markup');
      assert((await outText()).includes('<b>not markup</b>'), 'text altered');
      assert(await page.locator('#log-output b').count() === 0, 'log text became HTML');
    });

    await check('live tail refuses an invalid unit before any request', async () => {
      await page.click('#log-tab-live');
      assert(await page.locator('#log-unit').isVisible(), 'unit input hidden');
      assert(!(await page.locator('#log-lines').isVisible()), 'lines select shown on the live tab');
      let asked = false;
      const onReq = (r) => { if (r.url().includes('unit=bad')) asked = true; };
      page.on('request', onReq);
      await page.fill('#log-unit', 'bad unit;x');
      await page.click('#log-follow');
      const msg = (await page.locator('#log-unit-error').textContent()).trim();
      assert(/valid unit/i.test(msg), `error says "${msg}"`);
      await sleep(300);
      page.off('request', onReq);
      assert(!asked, 'a stream was requested for an invalid unit');
    });

    await check('live tail shows a freshly logged line', async () => {
      await page.fill('#log-unit', 'nginx');
      await page.click('#log-follow');
      await page.waitForFunction(() => /Following nginx/.test(document.getElementById('log-status').textContent));
      logEntry(jdir, 1, 'other.service', 'not ours');
      logEntry(jdir, 2, 'nginx.service', 'live one');
      await waitText('live one');
      const t = await outText();
      assert(t.includes('Mar 10 14:30:12 vps test[42]: live one'), t);
      assert(!t.includes('not ours'), 'another unit leaked in');
    });

    await check('pause holds new lines, resume shows them', async () => {
      await page.click('#log-pause');
      assert((await page.locator('#log-pause').textContent()).trim() === 'Resume', 'button not "Resume"');
      logEntry(jdir, 3, 'nginx.service', 'while paused');
      await sleep(1500);
      assert(!(await outText()).includes('while paused'), 'shown while paused');
      await page.click('#log-pause');
      await waitText('while paused');
      const t = await outText();
      assert(t.indexOf('live one') < t.indexOf('while paused'), 'order');
    });

    await check('leaving the live tab closes the stream', async () => {
      await page.click('#log-tab-system');
      await waitText('Started Setec Manager.');
      logEntry(jdir, 4, 'nginx.service', 'after leaving');
      await sleep(800);
      assert(!(await outText()).includes('after leaving'), 'stream still writing');
    });

    await check('no script errors or CSP violations', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
  } finally {
    if (browser) await browser.close();
    await panel.stop();
    fs.rmSync(work, { recursive: true, force: true });
    if (!process.env.SETEC_UI_KEEP) fs.rmSync(panel.tmp, { recursive: true, force: true });
  }
}

run(main);
