// Browser test of the system-users section of /users.
//
//   SETEC_BIN=... node tests/ui/test_sysusers.mjs
//
// As root (with unshare and useradd), the panel runs inside
// tests/system/users-ns.sh: a private mount namespace with overlays over /etc,
// /home, /var/log and /var/mail, so the test really creates and deletes a
// user and the host's accounts are untouched (their md5 sums are compared).
// Otherwise only read-only checks run (list, client-side validation, the
// delete dialog cancelled).

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, launchBrowser, login, repo, run, startPanel } from './harness.mjs';

const NS = path.join(repo, 'tests', 'system', 'users-ns.sh');
const HOST_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'];

function md5s() {
  return HOST_FILES.map((f) => {
    try {
      return crypto.createHash('md5').update(fs.readFileSync(f)).digest('hex');
    } catch (err) {
      return err.code;
    }
  }).join(' ');
}

function canUseNamespace(dir) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const probe = path.join(dir, 'probe');
  fs.mkdirSync(probe);
  const r = spawnSync(NS, [probe, '/bin/sh', '-c', "grep -q ' /etc overlay ' /proc/self/mounts"], { timeout: 30000 });
  return r.status === 0;
}

// JSON over HTTPS with a Bearer token (self-signed certificate).
function apiCall(base, token, method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (data) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': data.length });
    const req = https.request(`${base}${p}`, { method, headers, rejectUnauthorized: false, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (data) req.write(data);
    req.end();
  });
}

async function main() {
  const hostBefore = md5s();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-su-'));
  const ns = canUseNamespace(work);
  console.log(`# ${ns ? 'overlay namespace: creating and deleting a real user' : 'read-only mode (not root or no namespaces)'}`);
  let wrap = [];
  let env = {};
  if (ns) {
    const state = path.join(work, 'ns');
    fs.mkdirSync(state);
    wrap = [NS, state];
    env = { USERS_NS_UID_MIN: '47000' };
  }

  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({ wrap, env });
  });
  if (!panel) return;
  const { base, tmp, adminPassword } = panel;
  const newName = `su_ui${crypto.randomBytes(2).toString('hex')}`;
  const viewerName = `suview${crypto.randomBytes(2).toString('hex')}`;
  const viewerPassword = crypto.randomBytes(12).toString('base64url');
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    const rows = page.locator('#system-users-table tbody tr[data-username]');
    const rowOf = (name) => page.locator(`#system-users-table tbody tr[data-username="${name}"]`);
    const formError = page.locator('#sys-add-user-error');
    let token = null;

    await check('admin sees the system users as the API lists them', async () => {
      token = (await apiCall(base, null, 'POST', '/login', { username: 'admin', password: adminPassword })).json.token;
      const api = await apiCall(base, token, 'GET', '/users');
      assert(api.status === 200 && Array.isArray(api.json), `GET /users ${api.status}`);
      await login(page, base, 'admin', adminPassword);
      await page.goto(`${base}/users`);
      await page.locator('#system-users-table').waitFor();
      await page.locator('#system-users [data-field="system-user-count"]', { hasText: 'account' }).waitFor();
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => [
        tr.dataset.username, tr.querySelector('[data-field="uid"]').textContent,
        tr.querySelector('[data-field="home_dir"]').textContent, tr.querySelector('[data-field="shell"]').textContent]));
      const want = api.json.map((u) => [u.username, u.uid, u.home_dir, u.shell]);
      assert(JSON.stringify(shown) === JSON.stringify(want), `table ${JSON.stringify(shown)} vs API ${JSON.stringify(want)}`);
      assert(!shown.some((r) => r[0] === 'root'), 'root listed');
      // the panel-users part is still there
      await page.locator('#panel-users-table tbody tr[data-username="admin"]').waitFor();
      assert(await page.locator('#add-user-form').count() === 1, 'panel add-user form missing');
      await fitsPhone(page, '/users');
    });

    await check('shell choices come from /etc/shells', async () => {
      const shells = (await apiCall(base, token, 'GET', '/api/users/shells')).json;
      await page.locator('#sys-new-shell option[value="/bin/sh"]').waitFor({ state: 'attached' });
      const opts = await page.locator('#sys-new-shell option').evaluateAll((os_) => os_.map((o) => o.value));
      assert(JSON.stringify(opts) === JSON.stringify(shells), `options ${opts} vs ${shells}`);
      assert(await page.locator('#sys-new-shell').inputValue() === '/bin/bash', 'default shell is not /bin/bash');
    });

    await check('the add form explains invalid input without sending it', async () => {
      const before = await rows.count();
      const cases = [
        ['', 'pw', /enter a username/i],
        ['-o', 'pw', /must match/i],
        ['a:b', 'pw', /must match/i],
        ['Root', 'pw', /must match/i],
        [newName, '', /enter a password/i],
        [newName, 'a:b', /may not contain/i],
        [newName, 'x'.repeat(512), /at most 511/i],
      ];
      for (const [name, pw, re] of cases) {
        await page.fill('#sys-new-username', name);
        await page.fill('#sys-new-password', pw);
        await page.click('#sys-add-user-submit');
        await formError.waitFor({ state: 'visible' });
        const msg = (await formError.textContent()).trim();
        assert(re.test(msg), `"${name}"/"${pw.slice(0, 8)}": error says "${msg}"`);
      }
      assert(await rows.count() === before, 'a row appeared');
      const list = (await apiCall(base, token, 'GET', '/users')).json;
      assert(!list.some((u) => u.username === newName), 'user created');
    });

    await check('delete dialog can be cancelled', async () => {
      const del = page.locator('#system-users-table button[data-action="delete"]');
      if (await del.count() === 0) {
        console.log('# no deletable system user listed: dialog checked after creation only');
        return;
      }
      const name = await del.first().evaluate((b) => b.closest('tr').dataset.username);
      await del.first().click();
      const dialog = page.locator('dialog.modal');
      await dialog.waitFor();
      const text = await dialog.textContent();
      assert(text.includes(name) && /home directory/i.test(text), `dialog says "${text}"`);
      await dialog.locator('[data-action="cancel"]').click();
      await dialog.waitFor({ state: 'detached' });
      await rowOf(name).waitFor();
    });

    if (ns) {
      await check('admin creates a system user (in the overlay namespace)', async () => {
        await page.fill('#sys-new-username', newName);
        await page.fill('#sys-new-password', 'Ui-pass word 1');
        await page.selectOption('#sys-new-shell', '/bin/sh');
        await page.click('#sys-add-user-submit');
        await rowOf(newName).waitFor();
        assert((await rowOf(newName).locator('[data-field="shell"]').textContent()) === '/bin/sh', 'shell');
        assert(await formError.isHidden(), 'error box visible');
        assert(await page.inputValue('#sys-new-username') === '', 'form not reset');
        const list = (await apiCall(base, token, 'GET', '/users')).json;
        assert(list.some((u) => u.username === newName && u.shell === '/bin/sh'), 'API does not list it');
      });

      await check('a duplicate shows the server error', async () => {
        await page.fill('#sys-new-username', newName);
        await page.fill('#sys-new-password', 'another');
        await page.click('#sys-add-user-submit');
        await formError.waitFor({ state: 'visible' });
        const msg = (await formError.textContent()).trim();
        assert(/already exists/.test(msg), `error says "${msg}"`);
      });

      await check('admin deletes it through the confirm dialog', async () => {
        await rowOf(newName).locator('button[data-action="delete"]').click();
        const dialog = page.locator('dialog.modal');
        await dialog.waitFor();
        await dialog.locator('[data-action="cancel"]').click();
        await dialog.waitFor({ state: 'detached' });
        assert(await rowOf(newName).count() === 1, 'cancel deleted the row');
        await rowOf(newName).locator('button[data-action="delete"]').click();
        await dialog.waitFor();
        await dialog.locator('[data-action="confirm"]').click();
        await rowOf(newName).waitFor({ state: 'detached' });
        const list = (await apiCall(base, token, 'GET', '/users')).json;
        assert(!list.some((u) => u.username === newName), 'API still lists it');
      });
    }

    await check('viewer sees the system users read-only', async () => {
      const r = await apiCall(base, token, 'POST', '/panel/users', { username: viewerName, password: viewerPassword, role: 'viewer' });
      assert(r.status === 201, `create viewer ${r.status}`);
      await page.context().clearCookies();
      await login(page, base, viewerName, viewerPassword);
      await page.goto(`${base}/users`);
      await page.locator('#system-users [data-field="system-user-count"]', { hasText: 'account' }).waitFor();
      assert(await page.locator('#sys-add-user-form').count() === 0, 'viewer sees the add form');
      assert(await page.locator('#system-users-table button').count() === 0, 'viewer sees delete buttons');
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
  await check("the host's account files are unchanged", async () => {
    assert(md5s() === hostBefore, 'host passwd/shadow/group/gshadow changed');
    if (ns) assert(fs.readdirSync(path.join(work, 'ns')).length === 0, 'namespace tmpfs leaked');
  });
  fs.rmSync(work, { recursive: true, force: true });
}

await run(main);
