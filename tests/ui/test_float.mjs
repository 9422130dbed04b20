// Browser test of the Float Mode page: the console registers a session and
// opens its WebSocket (cookie-authenticated, same origin), lists the USB
// devices and runs GET_DESCRIPTOR, showing the device descriptor's bytes;
// the sessions table shows the bridged session and disconnects it. The panel
// runs under usb-emu (tests/usb/usb_emu.c: an emulated USB device) when it
// was built; without it the device steps are skipped.
//
//   node tests/ui/test_float.mjs

import fs from 'node:fs';
import path from 'node:path';
import { assert, BIN, check, fitsPhone, launchBrowser, login, repo, report, run, sleep, startPanel } from './harness.mjs';

run(main);

async function main() {
  const emu = path.join(path.dirname(BIN), 'usb-emu');
  const fixture = path.join(repo, 'tests', 'fixtures', 'usb', 'float-dongle.umockdev');
  const haveEmu = fs.existsSync(emu);
  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({
      extraYaml: ['float:', '  enabled: true'],
      wrap: haveEmu ? [emu, fixture, '--'] : [],
      env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:verify_asan_link_order=0` },
    });
  });
  if (!panel) return;
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    await login(page, panel.base, 'admin', panel.adminPassword);

    await check('the page lists no sessions at first', async () => {
      await page.goto(`${panel.base}/float/sessions`);
      await page.locator('h1', { hasText: 'Float Mode' }).waitFor();
      await page.locator('#float-sessions td.empty', { hasText: 'No sessions' }).waitFor();
    });

    await check('the console connects: a bridged session in the table', async () => {
      await page.click('#float-connect');
      await page.locator('#float-state', { hasText: 'connected' }).waitFor();
      // the browser may see the socket open a moment before the server has
      // attached it to the session: refresh until it is (or 10 s pass)
      const row = page.locator('#float-sessions tr[data-id]');
      const bridged = row.locator('[data-field="usb_bridge"]', { hasText: 'bridged' });
      for (let i = 0; i < 100 && !(await bridged.count()); i++) {
        await page.click('#float-refresh');
        await sleep(100);
      }
      await bridged.waitFor({ timeout: 1000 });
      assert((await row.locator('[data-field="username"]').textContent()) === 'admin', 'user column');
      assert((await row.locator('[data-field="client_ip"]').textContent()) === '127.0.0.1', 'address column');
      await fitsPhone(page, '/float/sessions');
    });

    if (haveEmu) {
      await check('List devices shows the emulated dongle', async () => {
        await page.click('#float-enumerate');
        const dev = page.locator('#float-devices tr', { hasText: 'Float Dongle' });
        await dev.waitFor();
        assert((await dev.textContent()).includes('1209:0001'), await dev.textContent());
      });

      await check('GET_DESCRIPTOR shows the device descriptor bytes', async () => {
        await page.locator('#float-devices tr', { hasText: 'Float Dongle' }).locator('[data-action="descriptor"]').click();
        await page.locator('#float-log', { hasText: '12 01 00 02 00 00 00 40 09 12 01 00 00 01 01 02 03 01' }).waitFor();
        const log = await page.locator('#float-log').textContent();
        assert(/GET_DESCRIPTOR 0105: ok, 18 bytes/.test(log), log);
      });
    } else {
      report(true, 'device steps skipped (usb-emu not built: install libumockdev-dev)');
    }

    await check('Disconnect closes the socket (1000) and removes the session', async () => {
      const row = page.locator('#float-sessions tr[data-id]');
      await row.locator('[data-action="disconnect"]').click();
      await page.locator('dialog.modal [data-action="confirm"]').click();
      await page.locator('#float-log', { hasText: 'WebSocket closed (1000)' }).waitFor();
      await page.locator('#float-sessions td.empty', { hasText: 'No sessions' }).waitFor();
    });

    await check('no CSP violations or script errors', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
  } finally {
    if (browser) await browser.close();
    await panel.stop();
    if (!process.env.SETEC_UI_KEEP) fs.rmSync(panel.tmp, { recursive: true, force: true });
  }
}
