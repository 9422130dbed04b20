// Browser test of the Sites pages with a real nginx in a private prefix
// (loopback port, reload by signal): create a static site from a local bare
// git repository through the form, watch the provisioning log end in
// success, land on the site page and fetch the page through nginx with the
// site's Host header; the form's own and the server's validation errors;
// the viewer's read-only pages; delete (files kept, vhost gone). Then a
// python site's live log tail, read from a journal directory made with
// systemd-journal-remote (SETEC_JOURNAL_DIR), with pause/resume and clear;
// the advanced nginx fields (body size, security headers) of the form and
// of the edit dialog, checked next to the field and followed by the vhost;
// its row is inserted directly (running an app needs systemd: that is the
// system tests' job).
//
//   SETEC_BIN=build/setec-manager node tests/ui/test_sites.mjs

import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, freePort, insertRows, launchBrowser, login, run, sleep, startPanel } from './harness.mjs';

const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const APP_DOMAIN = 'pyapp.example.test';
const APP_UNIT = `app-${APP_DOMAIN}.service`;
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p)) || 'nginx';
const DOMAIN = 'uisite.example.test';
const MARKER = `served-by-nginx-${crypto.randomBytes(4).toString('hex')}`;

let journalFiles = 0;
function logEntry(dir, k, unit, message) {
  const src = path.join(dir, `in${journalFiles}.export.tmp`);
  fs.writeFileSync(src, [
    `__REALTIME_TIMESTAMP=${1741617010000000 + k * 1000000}`,
    `__MONOTONIC_TIMESTAMP=${100000000 + k * 1000000}`,
    '_BOOT_ID=0123456789abcdef0123456789abcdef', '_MACHINE_ID=fedcba9876543210fedcba9876543210',
    `_SYSTEMD_UNIT=${unit}`, 'SYSLOG_IDENTIFIER=python3', '_PID=4242', '_HOSTNAME=vps',
    `MESSAGE=${message}`, '', ''].join('\n'));
  execFileSync(JOURNAL_REMOTE, [`--output=${path.join(dir, `f${journalFiles++}.journal`)}`, src], { stdio: 'pipe' });
  fs.unlinkSync(src);
}

function git(cwd, ...args) {
  return execFileSync('git', ['-c', 'user.name=Setec Test', '-c', 'user.email=test@example.invalid',
    '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'pipe', encoding: 'utf8' });
}

// GET http://127.0.0.1:port/ with a Host header (Chromium cannot set Host).
function fetchHost(port, host, urlPath = '/') {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { Host: host }, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
  });
}

// A reload by signal returns before the new workers serve: poll a little.
async function fetchHostUntil(port, host, ok, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let r;
  do {
    r = await fetchHost(port, host);
    if (ok(r)) return r;
    await sleep(100);
  } while (Date.now() < deadline);
  return r;
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// A private nginx: absolute paths everywhere, vhosts from <prefix>/sites-enabled,
// a default server answering 404 on the port (only ever asked over 127.0.0.1).
async function startNginx(prefix, port) {
  for (const d of ['sites-available', 'sites-enabled', 'snippets', 'logs', 'tmp', 'run']) {
    fs.mkdirSync(path.join(prefix, d), { recursive: true });
  }
  const p = (...x) => path.join(prefix, ...x);
  const conf = p('nginx.conf');
  fs.writeFileSync(conf, [
    'worker_processes 1;',
    `pid ${p('run', 'nginx.pid')};`,
    `error_log ${p('logs', 'error.log')} info;`,
    'events { worker_connections 64; }',
    'http {',
    '    types { text/html html; text/css css; application/javascript js; }',
    '    default_type application/octet-stream;',
    `    access_log ${p('logs', 'access.log')};`,
    `    client_body_temp_path ${p('tmp', 'body')}; proxy_temp_path ${p('tmp', 'proxy')};`,
    `    fastcgi_temp_path ${p('tmp', 'fastcgi')}; uwsgi_temp_path ${p('tmp', 'uwsgi')}; scgi_temp_path ${p('tmp', 'scgi')};`,
    // the panel's vhosts say `listen <port>;` (every address): the default
    // server must listen the same way, or nginx would match connections to
    // 127.0.0.1 against the address-specific server alone
    `    server { listen ${port} default_server; server_name _; return 404; }`,
    `    include ${p('sites-enabled')}/*;`,
    '}', ''].join('\n'));
  let exit = null;
  const proc = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', p('logs', 'error.log'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => { stderr += c; });
  proc.on('exit', (code, signal) => { exit = signal || code; });
  proc.on('error', (err) => { exit = err.message; });
  const stop = async () => {
    if (exit !== null) return;
    proc.kill('SIGQUIT');
    for (let i = 0; i < 50 && exit === null; i++) await sleep(100);
    if (exit === null) proc.kill('SIGKILL');
  };
  for (let i = 0; i < 100 && exit === null; i++) {
    if (await portOpen(port)) return { conf, stop, pid: proc.pid };
    await sleep(50);
  }
  await stop();
  throw new Error(`nginx did not listen on ${port} (exit ${exit}): ${stderr.trim().slice(-400)}`);
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ui-sites-'));
  // nginx's workers run as nobody when the test runs as root: they must be
  // able to read the web root under the temp dir
  fs.chmodSync(work, 0o755);
  const prefix = path.join(work, 'nginx');
  const www = path.join(work, 'www');
  const certbot = path.join(work, 'certbot');
  const gitRoot = path.join(work, 'git');
  const bare = path.join(gitRoot, 'site.git');
  const src = path.join(work, 'src');
  const jdir = path.join(work, 'journal');
  for (const d of [prefix, www, certbot, gitRoot, src, jdir]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  const haveJournal = fs.existsSync(JOURNAL_REMOTE);
  if (haveJournal) {
    logEntry(jdir, 0, 'other.service', 'not this app');
    logEntry(jdir, 1, APP_UNIT, 'pyapp listening on :8123');
  } else {
    console.log(`# ${JOURNAL_REMOTE} missing: the log tail check will fail`);
  }

  // the site's code: a bare repository with one commit on main
  git(gitRoot, 'init', '--bare', '-q', bare);
  git(src, 'init', '-q');
  fs.writeFileSync(path.join(src, 'index.html'), `<!doctype html><title>ui site</title><p>${MARKER}</p>\n`);
  git(src, 'add', 'index.html');
  git(src, 'commit', '-q', '-m', 'first page');
  git(src, 'push', '-q', bare, 'HEAD:refs/heads/main');

  const q = (p) => JSON.stringify(p);
  let nginx = null;
  let panel = null;
  let browser = null;
  const httpPort = await freePort();
  try {
    await check('private nginx starts', async () => {
      nginx = await startNginx(prefix, httpPort);
      const r = await fetchHost(httpPort, DOMAIN);
      assert(r.status === 404, `before the site exists nginx answers ${r.status}`);
    });
    if (!nginx) return;

    await check('server starts', async () => {
      panel = await startPanel({
        extraYaml: [
          'nginx:',
          `  binary: ${q(NGINX)}`,
          `  conf: ${q(nginx.conf)}`,
          `  sites_available: ${q(path.join(prefix, 'sites-available'))}`,
          `  sites_enabled: ${q(path.join(prefix, 'sites-enabled'))}`,
          `  snippets: ${q(path.join(prefix, 'snippets'))}`,
          `  webroot: ${q(www)}`,
          `  certbot_webroot: ${q(certbot)}`,
          `  error_log: ${q(path.join(prefix, 'logs', 'error.log'))}`,
          `  access_log: ${q(path.join(prefix, 'logs', 'access.log'))}`,
          '  reload: signal',
          `  http_port: ${httpPort}`,
          // this prefix's own catch-all is the default server
          '  default_server: false',
          'systemd:',
          `  unit_dir: ${q(path.join(work, 'units'))}`,
          'git:',
          `  local_root: ${q(gitRoot)}`,
        ],
        env: { SETEC_JOURNAL_DIR: jdir, TZ: 'UTC' },
      });
    });
    if (!panel) return;
    const { base, adminPassword } = panel;
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    let siteId = null;
    let siteUrl = null;

    await login(page, base, 'admin', adminPassword);

    await check('sites list starts empty with a New site button', async () => {
      await page.goto(`${base}/sites`);
      await page.locator('h1', { hasText: 'Sites' }).waitFor();
      await page.locator('#sites-empty').waitFor();
      assert(await page.locator('#new-site').isVisible(), 'no New site button for the admin');
      assert((await page.locator('link[href="/css/pages/sites.css"]').count()) === 1, 'page css not loaded');
    });

    await check('the form shows entry and port only for app types', async () => {
      await Promise.all([page.waitForURL(`${base}/sites/new`), page.click('#new-site')]);
      await page.locator('#site-form').waitFor();
      assert(!(await page.locator('#site-app-entry').isVisible()), 'entry shown for a static site');
      assert(!(await page.locator('#site-app-port').isVisible()), 'port shown for a static site');
      await page.selectOption('#site-app-type', 'python');
      assert(await page.locator('#site-app-entry').isVisible(), 'entry hidden for python');
      assert(await page.locator('#site-app-port').isVisible(), 'port hidden for python');
      assert((await page.getAttribute('#site-app-entry', 'placeholder')) === 'app.py', 'python entry placeholder');
      await page.selectOption('#site-app-type', 'node');
      assert((await page.getAttribute('#site-app-entry', 'placeholder')) === 'server.js', 'node entry placeholder');
      assert((await page.getAttribute('#site-git-branch', 'placeholder')) === 'main', 'branch placeholder');
      // an AUTARCH site fronts the installed AUTARCH: no entry, port or repository to give
      await page.selectOption('#site-app-type', 'autarch');
      assert(!(await page.locator('#site-app-entry').isVisible()), 'entry shown for autarch');
      assert(!(await page.locator('#site-app-port').isVisible()), 'port shown for autarch');
      assert(!(await page.locator('#site-git-repo').isVisible()), 'repository shown for autarch');
      assert((await page.textContent('#site-type-hint')).includes('AUTARCH page'), 'autarch hint');
      await page.selectOption('#site-app-type', 'static');
      assert(await page.locator('#site-git-repo').isVisible(), 'repository hidden for static');
      await fitsPhone(page, '/sites/new');
    });

    await check('client-side checks stop a bad form before any request', async () => {
      let posted = false;
      const onReq = (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/sites') posted = true; };
      page.on('request', onReq);
      await page.fill('#site-domain', 'bad_domain..example');
      await page.fill('#site-git-branch', 'feature..x');
      await page.fill('#site-git-repo', '--upload-pack=evil');
      await page.click('#site-submit');
      // wait for the condition (the three field errors), not for a time
      await page.waitForFunction(() => ['domain', 'git_branch', 'git_repo'].every(
        (f) => (document.querySelector(`[data-error-for="${f}"]`)?.textContent || '').trim() !== ''));
      page.off('request', onReq);
      assert(!posted, 'the form was sent');
      const domainErr = (await page.textContent('[data-error-for="domain"]')).trim();
      assert(/domain/i.test(domainErr), `domain error "${domainErr}"`);
      assert(/git_branch/.test(await page.textContent('[data-error-for="git_branch"]')), 'no branch error');
      assert(/git_repo/.test(await page.textContent('[data-error-for="git_repo"]')), 'no repo error');
      assert((await page.getAttribute('#site-domain', 'aria-invalid')) === 'true', 'domain not marked invalid');
      await page.selectOption('#site-app-type', 'python');
      await page.fill('#site-app-port', '80');
      await page.click('#site-submit');
      assert(/app_port/.test(await page.textContent('[data-error-for="app_port"]')), 'no port error');
      await page.fill('#site-app-port', '');
      await page.selectOption('#site-app-type', 'static');
    });

    await check("the server's error is shown, naming the field", async () => {
      await page.fill('#site-domain', DOMAIN);
      await page.fill('#site-git-branch', '');
      await page.fill('#site-git-repo', bare);
      // absolute and normalised (passes the form) but outside nginx.webroot
      await page.fill('#site-app-root', '/etc/setec-not-webroot');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sites'),
        page.click('#site-submit'),
      ]);
      assert(res.status() === 400, `server answered ${res.status()}`);
      const body = await res.json();
      await page.locator('#site-form-error .alert-error').waitFor();
      const shown = (await page.textContent('#site-form-error')).trim();
      assert(shown === body.error, `shown "${shown}" vs server "${body.error}"`);
      assert(/app_root/.test(shown), `error does not name app_root: ${shown}`);
      assert(/app_root/.test(await page.textContent('[data-error-for="app_root"]')), 'app_root field not marked');
      assert(!(await page.isDisabled('#site-submit')), 'submit stays disabled');
      assert(!fs.existsSync(path.join(prefix, 'sites-enabled', DOMAIN)), 'a vhost was written for a rejected form');
    });

    await check('create a static site from the form: live log ends in success', async () => {
      await page.fill('#site-app-root', '');
      await page.fill('#site-aliases', `www.${DOMAIN}`);
      await page.fill('#site-git-branch', 'main');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sites'),
        page.click('#site-submit'),
      ]);
      assert(res.request().headers().prefer === 'respond-async', 'no Prefer: respond-async');
      assert(res.status() === 202, `create answered ${res.status()}: ${await res.text()}`);
      const body = await res.json();
      assert(Number.isInteger(body.id) && body.deployment_id !== undefined, JSON.stringify(body));
      siteId = body.id;
      siteUrl = `${base}/sites/${siteId}`;
      await page.locator('#provision-card').waitFor();
      await page.waitForFunction(() => ['success', 'failed'].includes(document.getElementById('provision-status')?.dataset.state), null, { timeout: 60000 });
      const state = await page.getAttribute('#provision-status', 'data-state');
      const log = await page.textContent('#provision-log');
      assert(state === 'success', `provisioning ${state}: ${(await page.textContent('#provision-result')).trim()}\n${log.slice(-600)}`);
      assert(log.trim().length > 0, 'the provisioning log stayed empty');
      assert(/clon/i.test(log), `the log does not mention the clone:\n${log.slice(0, 400)}`);
      assert(await page.locator('#open-site').isVisible(), 'no link to the site');
    });

    await check('lands on the site page', async () => {
      assert(siteUrl, 'no site');
      await page.waitForURL(siteUrl, { timeout: 10000 });
      await page.locator('#site-domain', { hasText: DOMAIN }).waitFor();
      const root = (await page.textContent('#site-info [data-field="app_root"]')).trim();
      assert(root === path.join(www, DOMAIN), `app_root shown "${root}"`);
      assert((await page.textContent('#site-info [data-field="git_repo"]')).trim() === bare, 'git_repo');
      assert((await page.textContent('#site-info [data-field="aliases"]')).trim() === `www.${DOMAIN}`, 'aliases');
      assert(await page.locator('#site-log-note').isVisible(), 'no "no app logs" note for a static site');
      assert((await page.locator('#site-start').count()) === 0, 'start button on a static site');
      assert(await page.locator('#site-delete').isVisible(), 'no delete button');
      const dep = page.locator('#deployments-table tbody tr[data-id]').first();
      await dep.waitFor();
      assert(['success', 'succeeded'].includes(await dep.getAttribute('data-status')), `deployment ${await dep.getAttribute('data-status')}`);
      await dep.locator('[data-action="output"]').click();
      const out = await page.textContent('#deployments-table tr.deployment-output pre');
      assert(out.trim().length > 0 && out !== '(no output)', 'deployment output empty');
      await fitsPhone(page, '/sites/{id}');
    });

    await check('nginx serves the site for its domain and alias', async () => {
      const r = await fetchHostUntil(httpPort, DOMAIN, (x) => x.status === 200);
      assert(r.status === 200 && r.body.includes(MARKER), `GET / Host ${DOMAIN}: ${r.status} ${r.body.slice(0, 200)}`);
      const a = await fetchHostUntil(httpPort, `www.${DOMAIN}`, (x) => x.status === 200);
      assert(a.status === 200 && a.body.includes(MARKER), `alias: ${a.status}`);
      const other = await fetchHost(httpPort, 'other.example.test');
      assert(other.status === 404, `another host gets ${other.status}`);
      assert(fs.existsSync(path.join(www, DOMAIN, 'index.html')), 'clone not in the web root');
    });

    await check('the list shows the site with its badges and links to it', async () => {
      await page.goto(`${base}/sites`);
      const row = page.locator(`#sites-table tbody tr[data-domain="${DOMAIN}"]`);
      await row.waitFor();
      assert((await row.locator('[data-field="ssl"]').textContent()).includes('HTTP only'), 'ssl badge');
      assert((await row.locator('[data-field="type"]').textContent()).includes('Static'), 'type badge');
      assert((await row.locator('[data-field="status"] .badge').count()) === 1, 'no status badge');
      assert((await page.textContent('#sites-count')).trim() === '1 site', 'count');
      // the list refreshes itself
      await page.waitForRequest((r) => new URL(r.url()).pathname === '/sites' && r.method() === 'GET'
        && r.resourceType() === 'fetch', { timeout: 8000 });
      await Promise.all([page.waitForURL(siteUrl), row.locator('a.site-link').click()]);
      await fitsPhone(page, '/sites');
    });

    await check('a duplicate domain shows the server\'s 409 error', async () => {
      await page.goto(`${base}/sites/new`);
      await page.fill('#site-domain', DOMAIN);
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sites'),
        page.click('#site-submit'),
      ]);
      assert(res.status() === 409, `duplicate answered ${res.status()}`);
      await page.locator('#site-form-error .alert-error').waitFor();
      assert((await page.locator('#provision-card').isVisible()) === false, 'provisioning shown for a refused create');
    });

    await check('edit sends only the changed field and nginx follows it', async () => {
      await page.goto(siteUrl);
      await page.locator('#site-domain', { hasText: DOMAIN }).waitFor();
      await page.click('#site-edit');
      const dialog = page.locator('dialog.modal');
      await dialog.waitFor();
      assert((await page.inputValue('#edit-git-repo')) === bare, 'the form is not filled in');
      await page.fill('#edit-aliases', `alt.${DOMAIN}`);
      const [req] = await Promise.all([
        page.waitForRequest((r) => r.method() === 'PUT' && new URL(r.url()).pathname === `/sites/${siteId}`),
        dialog.locator('[data-action="confirm"]').click(),
      ]);
      assert(req.postData() === JSON.stringify({ aliases: `alt.${DOMAIN}` }), `PUT body ${req.postData()}`);
      await dialog.waitFor({ state: 'detached' });
      await page.locator('#site-info [data-field="aliases"]', { hasText: `alt.${DOMAIN}` }).waitFor();
      const alt = await fetchHostUntil(httpPort, `alt.${DOMAIN}`, (x) => x.status === 200);
      assert(alt.status === 200 && alt.body.includes(MARKER), `new alias: ${alt.status}`);
      const old = await fetchHostUntil(httpPort, `www.${DOMAIN}`, (x) => x.status === 404);
      assert(old.status === 404, `old alias still served: ${old.status}`);
    });

    await check('an invalid edit shows the error in the dialog and changes nothing', async () => {
      await page.click('#site-edit');
      const dialog = page.locator('dialog.modal');
      await dialog.waitFor();
      await page.fill('#edit-app-root', '/etc/elsewhere');
      let sent = false;
      const onReq = (r) => { if (r.method() === 'PUT') sent = true; };
      page.on('request', onReq);
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'PUT'),
        dialog.locator('[data-action="confirm"]').click(),
      ]);
      page.off('request', onReq);
      assert(sent && res.status() === 400, `PUT answered ${res.status()}`);
      await dialog.locator('.alert-error', { hasText: 'app_root' }).waitFor();
      await dialog.locator('[data-action="cancel"]').click();
      await dialog.waitFor({ state: 'detached' });
      const r = await fetchHost(httpPort, DOMAIN);
      assert(r.status === 200 && r.body.includes(MARKER), `site broken after a refused edit: ${r.status}`);
    });

    await check('deploy pulls a new commit, its output followed in the table', async () => {
      const next = `second-commit-${crypto.randomBytes(4).toString('hex')}`;
      fs.writeFileSync(path.join(src, 'index.html'), `<!doctype html><title>ui site</title><p>${next}</p>\n`);
      git(src, 'commit', '-q', '-am', 'second page');
      git(src, 'push', '-q', bare, 'HEAD:refs/heads/main');
      const rows = page.locator('#deployments-table tbody tr[data-id]');
      const before = await rows.count();
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/sites/${siteId}/deploy`),
        page.click('#site-deploy'),
      ]);
      assert([200, 202].includes(res.status()), `deploy answered ${res.status()}: ${await res.text()}`);
      await page.waitForFunction((n) => {
        const r = document.querySelectorAll('#deployments-table tbody tr[data-id]');
        return r.length > n && ['success', 'failed'].includes(r[0].dataset.status) && !document.querySelector('#site-deploy')?.disabled;
      }, before, { timeout: 60000 });
      const status = await rows.first().getAttribute('data-status');
      const out = await page.textContent('#deployments-table tr.deployment-output pre').catch(() => '');
      assert(status === 'success', `deploy ${status}: ${out.slice(-400)}`);
      const r = await fetchHostUntil(httpPort, DOMAIN, (x) => x.body.includes(next));
      assert(r.status === 200 && r.body.includes(next), `after deploy: ${r.status} ${r.body.slice(0, 120)}`);
    });

    const viewerName = `stviewer${crypto.randomBytes(3).toString('hex')}`;
    const viewerPassword = crypto.randomBytes(18).toString('base64url');
    await check('viewer sees read-only pages', async () => {
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
      await page.goto(`${base}/sites`);
      await page.locator(`#sites-table tbody tr[data-domain="${DOMAIN}"]`).waitFor();
      assert((await page.locator('#new-site').count()) === 0, 'viewer sees New site');
      await page.goto(siteUrl);
      await page.locator('#site-domain', { hasText: DOMAIN }).waitFor();
      assert((await page.locator('#site-actions button').count()) === 0, 'viewer sees action buttons');
      await page.locator('#deployments-table tbody tr[data-id]').first().waitFor();
      await page.goto(`${base}/sites/new`);
      await page.locator('.alert-info', { hasText: 'only admins' }).waitFor();
      assert((await page.locator('#site-form').count()) === 0, 'viewer gets the form');
      await Promise.all([page.waitForURL(/\/login$/), page.click('#logout')]);
      await login(page, base, 'admin', adminPassword);
    });

    await check('delete: confirm, back to the list, vhost gone, files kept', async () => {
      await page.goto(siteUrl);
      await page.locator('#site-domain', { hasText: DOMAIN }).waitFor();
      await page.click('#site-delete');
      const dialog = page.locator('dialog.modal');
      await dialog.waitFor();
      assert(/kept/.test(await dialog.textContent()), 'the dialog does not say the files are kept');
      await Promise.all([page.waitForURL(`${base}/sites`), dialog.locator('[data-action="confirm"]').click()]);
      await page.locator('#sites-empty').waitFor();
      const r = await fetchHostUntil(httpPort, DOMAIN, (x) => x.status === 404);
      assert(r.status === 404, `after delete nginx answers ${r.status}`);
      assert(fs.existsSync(path.join(www, DOMAIN, 'index.html')), 'files removed');
    });

    await check('advanced nginx fields: checked next to the field, then in the vhost nginx serves', async () => {
      const ADV = 'adv.example.test';
      await page.goto(`${base}/sites/new`);
      await page.locator('#site-form').waitFor();
      assert(!(await page.locator('#site-max-body-size').isVisible()), 'advanced fields shown before they are asked for');
      await page.click('#site-advanced summary');
      await page.locator('#site-max-body-size').waitFor();
      // the server's default is the placeholder
      await page.waitForFunction(() => document.getElementById('site-max-body-size').placeholder === 'Server default: 64m');
      assert((await page.inputValue('#site-security-headers')) === 'default', 'headers mode not "default"');
      let posted = false;
      const onReq = (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/sites') posted = true; };
      page.on('request', onReq);
      await page.fill('#site-domain', ADV);
      for (const bad of ['10m; include /etc/shadow', '5g', '10mb']) {
        await page.fill('#site-max-body-size', bad);
        await page.click('#site-submit');
        await page.locator('[data-error-for="max_body_size"]', { hasText: 'max_body_size' }).waitFor();
        assert((await page.getAttribute('#site-max-body-size', 'aria-invalid')) === 'true', `${bad} not marked invalid`);
      }
      page.off('request', onReq);
      assert(!posted, 'a bad size was sent');
      // closed again, a field error opens the part it is in
      await page.click('#site-advanced summary');
      assert(!(await page.locator('#site-max-body-size').isVisible()), 'advanced part did not close');
      await page.click('#site-submit');
      await page.locator('#site-max-body-size').waitFor();

      await page.fill('#site-max-body-size', '200m');
      await page.selectOption('#site-security-headers', 'strict');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sites'),
        page.click('#site-submit'),
      ]);
      const sent = JSON.parse(res.request().postData());
      assert(sent.max_body_size === '200m' && sent.security_headers === 'strict', `POST body ${res.request().postData()}`);
      assert(res.status() === 202, `create answered ${res.status()}: ${await res.text()}`);
      const advId = (await res.json()).id;
      await page.waitForFunction(() => ['success', 'failed'].includes(document.getElementById('provision-status')?.dataset.state), null, { timeout: 60000 });
      assert((await page.getAttribute('#provision-status', 'data-state')) === 'success', 'provisioning failed');
      const vhost = () => fs.readFileSync(path.join(prefix, 'sites-available', ADV), 'utf8');
      assert(vhost().includes('    client_max_body_size 200m;\n'), `vhost:\n${vhost()}`);
      assert(vhost().includes('add_header X-Frame-Options DENY always;'), 'no DENY in the vhost');
      const r = await fetchHostUntil(httpPort, ADV, (x) => x.status === 200);
      assert(r.headers['x-frame-options'] === 'DENY', `X-Frame-Options ${r.headers['x-frame-options']}`);
      assert(r.headers['content-security-policy'] === "frame-ancestors 'none'", 'no frame-ancestors');

      // the site page shows them; the edit dialog changes the mode alone
      await page.goto(`${base}/sites/${advId}`);
      await page.locator('#site-info [data-field="max_body_size"]', { hasText: '200m' }).waitFor();
      assert((await page.textContent('#site-info [data-field="security_headers"]')).trim() === 'strict', 'mode shown');
      await page.click('#site-edit');
      const dialog = page.locator('dialog.modal');
      await dialog.waitFor();
      assert((await page.inputValue('#edit-max-body-size')) === '200m', 'size not filled in');
      assert((await page.inputValue('#edit-security-headers')) === 'strict', 'mode not filled in');
      // a bad size is refused next to the field, nothing sent
      await page.fill('#edit-max-body-size', '1.5m');
      let put = false;
      const onPut = (x) => { if (x.method() === 'PUT') put = true; };
      page.on('request', onPut);
      await dialog.locator('[data-action="confirm"]').click();
      await dialog.locator('[data-error-for="max_body_size"]', { hasText: 'max_body_size' }).waitFor();
      page.off('request', onPut);
      assert(!put, 'a bad size was sent');
      await page.fill('#edit-max-body-size', '200m');
      await page.selectOption('#edit-security-headers', 'off');
      const [req] = await Promise.all([
        page.waitForRequest((x) => x.method() === 'PUT' && new URL(x.url()).pathname === `/sites/${advId}`),
        dialog.locator('[data-action="confirm"]').click(),
      ]);
      assert(req.postData() === JSON.stringify({ security_headers: 'off' }), `PUT body ${req.postData()}`);
      await dialog.waitFor({ state: 'detached' });
      await page.locator('#site-info [data-field="security_headers"]', { hasText: 'off' }).waitFor();
      assert(!vhost().includes('add_header'), 'headers left in the vhost');
      assert(vhost().includes('    client_max_body_size 200m;\n'), 'size lost');
      const off = await fetchHostUntil(httpPort, ADV, (x) => x.status === 200 && !x.headers['x-frame-options']);
      assert(!off.headers['x-frame-options'] && !off.headers['x-content-type-options'], 'headers still served');
    });

    await check('an app site: stop asks first, the live log tails its unit', async () => {
      assert(haveJournal, `${JOURNAL_REMOTE} missing`);
      const appRoot = path.join(www, APP_DOMAIN);
      fs.mkdirSync(appRoot, { recursive: true });
      const appId = insertRows(path.join(panel.tmp, 'data', 'setec.db'), 'sites', [{
        domain: APP_DOMAIN, app_type: 'python', app_root: appRoot, app_port: 8123, app_entry: 'app.py',
      }])[0];
      await page.goto(`${base}/sites/${appId}`);
      await page.locator('#site-domain', { hasText: APP_DOMAIN }).waitFor();
      assert((await page.textContent('#site-info [data-field="unit"]')).trim() === APP_UNIT, 'unit name');
      assert((await page.textContent('#site-info [data-field="app_port"]')).trim() === '8123', 'port');
      for (const a of ['deploy', 'start', 'stop', 'restart', 'edit', 'delete']) {
        assert(await page.locator(`#site-${a}`).isVisible(), `no ${a} button`);
      }
      assert((await page.locator('#site-log-note').count()) === 0, 'static note on an app site');

      let posted = false;
      const onReq = (r) => { if (r.method() === 'POST' && r.url().endsWith('/stop')) posted = true; };
      page.on('request', onReq);
      await page.click('#site-stop');
      const dialog = page.locator('dialog.modal');
      await dialog.waitFor();
      assert((await dialog.textContent()).includes(APP_UNIT), 'the dialog does not name the unit');
      await dialog.locator('[data-action="cancel"]').click();
      await dialog.waitFor({ state: 'detached' });
      await sleep(200);
      page.off('request', onReq);
      assert(!posted, 'stop was sent without confirmation');

      const out = page.locator('#site-log-output');
      const waitText = (needle) => page.waitForFunction(
        (n) => (document.getElementById('site-log-output')?.textContent || '').includes(n), needle, { timeout: 8000 });
      await waitText('pyapp listening on :8123');
      await page.waitForFunction(() => document.getElementById('site-log-status').textContent === 'Following');
      logEntry(jdir, 2, 'other.service', 'still not this app');
      logEntry(jdir, 3, APP_UNIT, 'GET / 200 live');
      await waitText('GET / 200 live');
      const t = await out.textContent();
      assert(!t.includes('not this app'), 'another unit leaked in');
      assert(t.indexOf(':8123') < t.indexOf('GET / 200 live'), 'order');

      await page.click('#site-log-pause');
      logEntry(jdir, 4, APP_UNIT, 'while paused');
      await sleep(1500);
      assert(!(await out.textContent()).includes('while paused'), 'shown while paused');
      await page.click('#site-log-pause');
      await waitText('while paused');
      await page.click('#site-log-clear');
      assert((await out.textContent()) === '', 'clear left text');
      logEntry(jdir, 5, APP_UNIT, 'after clear');
      await waitText('after clear');
      assert(!(await out.textContent()).includes('while paused'), 'cleared lines came back');
    });

    await check('no script errors or CSP violations', async () => {
      // the 400 and 409 of the validation checks are expected answers
      const real = problems.filter((p) => !/status of (400|409)\b/.test(p));
      assert(real.length === 0, real.join('\n'));
    });
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (panel) await panel.stop();
    if (nginx) await nginx.stop();
    if (!anyFailed() && !process.env.SETEC_UI_KEEP) {
      fs.rmSync(work, { recursive: true, force: true });
      if (panel) fs.rmSync(panel.tmp, { recursive: true, force: true });
    } else {
      console.log(`# kept ${work}${panel ? ` and ${panel.tmp}` : ''}`);
    }
  }
}

await run(main);
