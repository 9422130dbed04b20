// Browser test of the nginx page against a real nginx in a private prefix
// (nginx.conf in the prefix root, absolute paths, a free port; the panel in
// `nginx.reload: signal` mode), like tests/api/nginx_prefix.py. Without nginx
// only the page itself is checked.
//
//   node tests/ui/test_nginx.mjs

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { assert, check, fitsPhone, freePort, launchBrowser, login, report, run, sleep, startPanel } from './harness.mjs';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

run(main);

function alive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(st.slice(st.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

async function startNginx() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setec-ngx-ui-'));
  fs.chmodSync(dir, 0o755);
  for (const d of ['sites-available', 'sites-enabled', 'snippets', 'www/a.test', 'certbot', 'logs', 'tmp', 'run']) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  }
  const port = await freePort();
  const user = process.getuid && process.getuid() === 0 ? 'user root root;\n' : '';
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `${user}worker_processes 1;
pid ${dir}/run/nginx.pid;
error_log ${dir}/logs/error.log notice;
events { worker_connections 64; }
http {
    default_type text/plain;
    access_log ${dir}/logs/access.log;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    server { listen ${port} default_server; return 404; }
    include ${dir}/sites-enabled/*;
}
`);
  fs.writeFileSync(path.join(dir, 'snippets', 'proxy-params.conf'), 'proxy_set_header Host $host;\n');
  fs.writeFileSync(path.join(dir, 'snippets', 'ssl-params.conf'), 'ssl_protocols TLSv1.2 TLSv1.3;\n');
  fs.writeFileSync(path.join(dir, 'www', 'a.test', 'index.html'), 'site A\n');
  const vhost = `# hand-written for the UI test\nserver {\n    listen ${port};\n    server_name a.test;\n    root ${dir}/www/a.test;\n}\n`;
  fs.writeFileSync(path.join(dir, 'sites-available', 'a.test'), vhost);
  fs.symlinkSync(path.join(dir, 'sites-available', 'a.test'), path.join(dir, 'sites-enabled', 'a.test'));
  const conf = path.join(dir, 'nginx.conf');
  const errlog = path.join(dir, 'logs', 'error.log');
  const proc = spawn(NGINX, ['-c', conf, '-e', errlog, '-g', 'daemon off;'], { stdio: 'ignore' });
  const pidFile = path.join(dir, 'run', 'nginx.pid');
  const masterPid = () => {
    try {
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      return pid && alive(pid) ? pid : 0;
    } catch {
      return 0;
    }
  };
  for (let i = 0; i < 200 && !masterPid(); i++) await sleep(25);
  assert(masterPid(), 'nginx did not start');
  const stop = async () => {
    const pids = new Set([masterPid(), proc.exitCode === null ? proc.pid : 0].filter(Boolean));
    for (const pid of pids) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    }
    for (let i = 0; i < 100 && [...pids].some(alive); i++) await sleep(50);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const yaml = [
    'nginx:',
    `  binary: ${JSON.stringify(NGINX)}`,
    `  conf: ${JSON.stringify(conf)}`,
    '  reload: signal',
    `  error_log: ${JSON.stringify(errlog)}`,
    `  access_log: ${JSON.stringify(path.join(dir, 'logs', 'access.log'))}`,
    `  sites_available: ${JSON.stringify(path.join(dir, 'sites-available'))}`,
    `  sites_enabled: ${JSON.stringify(path.join(dir, 'sites-enabled'))}`,
    `  snippets: ${JSON.stringify(path.join(dir, 'snippets'))}`,
    `  webroot: ${JSON.stringify(path.join(dir, 'www'))}`,
    `  certbot_webroot: ${JSON.stringify(path.join(dir, 'certbot'))}`,
    `  http_port: ${port}`,
    // this prefix's own catch-all is the default server
    '  default_server: false',
  ];
  return { dir, port, vhost, yaml, masterPid, stop };
}

async function main() {
  let ng = null;
  if (NGINX) {
    await check('a private nginx starts', async () => {
      ng = await startNginx();
    });
  } else {
    report(true, 'nginx not installed: only the page is checked');
  }
  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({ extraYaml: ng ? ng.yaml : [] });
  });
  if (!panel) {
    if (ng) await ng.stop();
    return;
  }
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    await login(page, panel.base, 'admin', panel.adminPassword);
    const loaded = () => page.waitForFunction(() => !/loading/.test(document.querySelector('#ngx-running')?.textContent || 'loading'));

    await check('nginx page shows status and the config test', async () => {
      await page.goto(`${panel.base}/nginx`);
      await page.locator('h1', { hasText: 'Nginx' }).waitFor();
      await loaded();
      const st = (await page.locator('#ngx-running').textContent()).trim();
      const cfg = (await page.locator('#ngx-config-ok').textContent()).trim();
      if (ng) {
        assert(st === 'active', `status reads "${st}"`);
        assert(cfg === 'valid', `config reads "${cfg}"`);
        assert(/syntax is ok/.test(await page.locator('#ngx-output').textContent()), 'no test output');
      } else {
        assert(st.length > 0 && cfg === 'invalid', `status "${st}", config "${cfg}"`);
      }
      for (const id of ['#ngx-test', '#ngx-reload', '#ngx-restart']) await page.locator(id).waitFor();
      await fitsPhone(page, '/nginx');
    });

    await check('an invalid domain is refused in the viewer, nothing sent', async () => {
      let asked = false;
      const spy = (rq) => { if (rq.url().includes('/nginx/config/')) asked = true; };
      page.on('request', spy);
      await page.fill('#ngx-domain', 'a;b');
      await page.click('#ngx-view');
      const msg = (await page.locator('#ngx-vhost-error').textContent()).trim();
      assert(/domain/.test(msg), `error says "${msg}"`);
      assert(await page.locator('#ngx-vhost').isHidden(), 'a config is shown');
      page.off('request', spy);
      assert(!asked, 'an invalid domain was sent');
    });

    if (ng) {
      await check('the vhost viewer shows the file', async () => {
        await page.fill('#ngx-domain', 'A.test');
        await page.click('#ngx-view');
        await page.locator('#ngx-vhost').waitFor();
        const text = await page.locator('#ngx-vhost').textContent();
        assert(text === ng.vhost, `shown:\n${text}`);
        await fitsPhone(page, '/nginx (vhost)');
      });

      await check('an absent vhost says so', async () => {
        await page.fill('#ngx-domain', 'nope.test');
        await page.click('#ngx-view');
        await page.waitForFunction(() => /config not found for nope.test/.test(document.querySelector('#ngx-vhost-error')?.textContent || ''));
        assert(await page.locator('#ngx-vhost').isHidden(), 'a config is still shown');
      });

      await check('Test and Reload buttons', async () => {
        await page.click('#ngx-test');
        await page.waitForFunction(() => /test is successful/.test(document.querySelector('#ngx-output')?.textContent || ''));
        await page.click('#ngx-reload');
        await page.locator('.toast', { hasText: 'nginx reloaded' }).waitFor();
        // the buttons come back once the status has been refreshed
        await page.waitForFunction(() => !document.querySelector('#ngx-reload')?.disabled);
      });

      await check('a broken config: the reload is refused with nginx\'s output', async () => {
        const broken = path.join(ng.dir, 'sites-enabled', 'broken');
        fs.writeFileSync(broken, 'bogus_directive on;\n');
        try {
          await page.click('#ngx-reload');
          // (the status refresh after the previous reload may also show the broken test)
          await page.waitForFunction(() => document.querySelector('#ngx-output-title')?.textContent === 'Reload refused'
            && /bogus_directive/.test(document.querySelector('#ngx-output')?.textContent || ''));
          assert(/not reloading/.test(await page.locator('#ngx-error').textContent()), 'no error box');
          await page.click('#ngx-test');
          await page.waitForFunction(() => /invalid/.test(document.querySelector('#ngx-config-ok')?.textContent || ''));
        } finally {
          fs.unlinkSync(broken);
        }
      });

      await check('restart asks first; cancel changes nothing, confirm restarts', async () => {
        const before = ng.masterPid();
        await page.click('#ngx-restart');
        const dlg = page.locator('dialog.modal');
        await dlg.locator('[data-action="cancel"]').click();
        await dlg.waitFor({ state: 'detached' });
        assert(ng.masterPid() === before, 'restarted without confirmation');
        await page.click('#ngx-restart');
        await page.locator('dialog.modal [data-action="confirm"]').click();
        await page.locator('.toast', { hasText: 'nginx restarted' }).waitFor({ timeout: 20000 });
        const after = ng.masterPid();
        assert(after && after !== before, `master ${before} -> ${after}`);
      });
    }

    await check('no CSP violations or script errors', async () => {
      // expected: the 404 of nope.test, the 400 of the refused reload, and a
      // 501 for GET /sites on a build without the sites area
      const other = problems.filter((p) => !/status of (400|404|501)/.test(p));
      assert(other.length === 0, problems.join('\n'));
    });
  } finally {
    if (browser) await browser.close();
    await panel.stop();
    if (ng) await ng.stop();
    if (!process.env.SETEC_UI_KEEP) fs.rmSync(panel.tmp, { recursive: true, force: true });
  }
}
