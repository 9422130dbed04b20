// Browser test of the AUTARCH page on a machine without systemd (the
// panel's bus address points nowhere): AUTARCH "installed" as a clone of the
// offline fixture repository (tests/api/autarch_fixture.py). The status
// table, the settings editor (an INI error shown at its line, nothing
// written; a good text saved), start reporting the unit error, and a DNS
// build started from the page with its output streamed live.
//
//   node tests/ui/test_autarch.mjs

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { assert, check, fitsPhone, launchBrowser, login, repo, run, startPanel } from './harness.mjs';

run(main);

function haveGo() {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function haveUser(name) {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-autarch-'));
  execFileSync('/usr/bin/python3', [path.join(repo, 'tests', 'api', 'autarch_fixture.py'), work]);
  const bare = path.join(work, 'autarch.git');
  const dir = path.join(work, 'www', 'autarch');
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  execFileSync('git', ['clone', '-q', bare, dir]);
  const head = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %s']).toString().trim();
  const settings = path.join(dir, 'autarch_settings.conf');
  const original = fs.readFileSync(settings, 'utf8');

  const q = JSON.stringify;
  const panel = await startPanel({
    extraYaml: ['autarch:', `  install_dir: ${q(dir)}`, `  git_repo: ${q(bare)}`,
      'git:', `  local_root: ${q(work)}`, 'systemd:', `  unit_dir: ${q(path.join(work, 'units'))}`],
    env: { SETEC_SYSTEM_BUS: `unix:path=${path.join(work, 'no-bus')}` },
  });
  const { browser, page, problems } = await launchBrowser();
  try {
    await login(page, panel.base, 'admin', panel.adminPassword);
    await page.goto(`${panel.base}/autarch`);

    await check('status table shows the install', async () => {
      await page.locator('[data-field="installed"] .badge', { hasText: 'installed' }).waitFor();
      assert((await page.locator('[data-field="git_commit"]').textContent()).trim() === head, 'commit');
      assert((await page.locator('[data-field="install_dir"]').textContent()).trim() === dir, 'dir');
      assert((await page.locator('[data-field="pip_packages"]').textContent()).trim() === '0', 'pip');
      assert((await page.locator('[data-field="web"]').textContent()).trim() === 'unknown', 'web');
      assert(await page.locator('#autarch-install').isDisabled(), 'install offered again');
      await fitsPhone(page, '/autarch');
    });

    await check('settings load into the editor', async () => {
      await page.waitForFunction(() => document.querySelector('#autarch-config').value.includes('[web]'));
      assert((await page.inputValue('#autarch-config')) === original, 'editor text');
    });

    await check('an INI error is shown at its line and nothing is written', async () => {
      const bad = '[autarch]\nfirst_run = false\n\n[web\nport = 1\n';
      await page.fill('#autarch-config', bad);
      await page.click('#autarch-config-save');
      const line = page.locator('#autarch-config-error .config-line');
      await line.waitFor();
      assert((await line.getAttribute('data-line')) === '4', 'line number');
      assert((await line.textContent()).includes('[web'), 'line text');
      assert((await page.locator('#autarch-config-error').textContent()).includes('line 4'), 'message');
      assert(fs.readFileSync(settings, 'utf8') === original, 'file changed');
    });

    await check('a valid text is saved (mode 0600)', async () => {
      const good = '[autarch]\nfirst_run = true\n\n[web]\nhost = 127.0.0.1\nport = 8181\n';
      await page.fill('#autarch-config', good);
      await page.click('#autarch-config-save');
      await page.locator('.toast', { hasText: 'Settings saved' }).waitFor();
      assert(fs.readFileSync(settings, 'utf8') === good, 'file content');
      assert((fs.statSync(settings).mode & 0o777) === 0o600, 'mode');
      assert(await page.locator('#autarch-config-error').isHidden(), 'old error still shown');
    });

    await check('start reports the unit error', async () => {
      await page.click('#autarch-start');
      await page.locator('.toast', { hasText: 'autarch-web:' }).waitFor();
    });

    if (haveGo() && haveUser('autarch')) {
      await check('DNS build streams its output and ends done', async () => {
        await page.click('#autarch-dns-build');
        await page.locator('#autarch-job-state[data-state="running"], #autarch-job-state[data-state="done"]').waitFor();
        await page.locator('#autarch-job-state[data-state="done"]').waitFor({ timeout: 300000 });
        const out = await page.textContent('#autarch-job-output');
        assert(out.includes('go build -buildvcs=false -o autarch-dns .'), `output: ${out}`);
        assert(fs.existsSync(path.join(dir, 'services', 'dns-server', 'autarch-dns')), 'no binary');
        await fitsPhone(page, '/autarch');
      });
    } else {
      // AUTARCH's code is built as its own user only, never as root: a tree
      // not installed by the panel (no `autarch` user here) fails, saying why
      // (the real build runs in tests/system/test_autarch_container.py)
      await check('DNS build without the autarch user fails and says why', async () => {
        await page.click('#autarch-dns-build');
        await page.locator('#autarch-job-state[data-state="failed"]').waitFor({ timeout: 60000 });
        const out = await page.textContent('#autarch-job-output');
        assert(/autarch/.test(out) && /user/i.test(out), `output: ${out}`);
        assert(!fs.existsSync(path.join(dir, 'services', 'dns-server', 'autarch-dns')), 'built anyway');
        await fitsPhone(page, '/autarch');
      });
    }

    await check('no script errors', async () => {
      // the 400 of the bad settings and the 500 of start are expected answers
      const real = problems.filter((p) => !/responded with a status of (400|500)/.test(p));
      assert(real.length === 0, real.join('\n'));
    });
  } finally {
    await browser.close();
    await panel.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(panel.tmp, { recursive: true, force: true });
  }
}
