// Browser test of the site DNS parts (issue 14): the site page's DNS row
// (GET /sites/{id}/dns: the addresses the domain resolves to and whether
// one is this server's) and the new-site form's "DNS records" choice, which
// lists the configured providers with DNS and sends dns_provider.
//
//   SETEC_BIN=build/setec-manager node tests/ui/test_site_dns.mjs

import fs from 'node:fs';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, insertRows, launchBrowser, login, run, startPanel } from './harness.mjs';

async function main() {
  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel();
  });
  if (!panel) return;
  const { base, tmp, adminPassword } = panel;
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;
    await login(page, base, 'admin', adminPassword);

    await check('site page shows where the domain points', async () => {
      // localhost resolves through /etc/hosts: no DNS server needed
      const id = insertRows(path.join(tmp, 'data', 'setec.db'), 'sites', [{
        domain: 'localhost', app_type: 'static', app_root: path.join(tmp, 'www', 'localhost'), dns_provider: 'hostinger',
      }])[0];
      const api = await page.request.get(`${base}/sites/${id}/dns`);
      assert(api.status() === 200, `GET /sites/${id}/dns: ${api.status()}`);
      const want = await api.json();
      assert(want.addresses.includes('127.0.0.1'), `addresses ${JSON.stringify(want.addresses)}`);
      await page.goto(`${base}/sites/${id}`);
      const row = page.locator('#site-info [data-field="dns"] #site-dns .badge');
      await row.waitFor();
      const label = (await row.textContent()).trim();
      assert(label === (want.points_here ? 'points here' : 'points elsewhere'), `badge "${label}" for ${JSON.stringify(want)}`);
      const text = await page.textContent('#site-info [data-field="dns"]');
      assert(text.includes('127.0.0.1'), `row text "${text}"`);
      assert((await page.textContent('#site-info [data-field="dns_provider"]')).trim() === 'hostinger', 'dns_provider row');
      await fitsPhone(page, '/sites/{id}');
    });

    await check('new-site form offers the configured DNS providers', async () => {
      const dir = path.join(tmp, 'data', 'hosting');
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'hostinger.json'),
        JSON.stringify({ api_key: 'ui-test-key', base_url: 'http://127.0.0.1:9', connected: false }), { mode: 0o600 });
      await page.goto(`${base}/sites/new`);
      await page.locator('#site-dns-provider option[value="hostinger"]').waitFor({ state: 'attached' });
      const values = await page.$$eval('#site-dns-provider option', (os) => os.map((o) => o.value));
      assert(JSON.stringify(values) === JSON.stringify(['', 'hostinger']), `options ${JSON.stringify(values)}`);
      // the server's answer for a provider it cannot reach fails the dns step; here
      // only the request the form sends is checked
      let sent = null;
      await page.route('**/sites', (route) => {
        if (route.request().method() === 'POST') {
          sent = route.request().postDataJSON();
          route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: 'dns_provider: stop here' }) });
        } else route.continue();
      });
      await page.fill('#site-domain', 'form.example.test');
      await page.selectOption('#site-dns-provider', 'hostinger');
      await page.click('#site-submit');
      await page.locator('#site-dns-provider-error', { hasText: 'stop here' }).waitFor();
      assert(sent && sent.dns_provider === 'hostinger' && sent.domain === 'form.example.test', `sent ${JSON.stringify(sent)}`);
      await page.unroute('**/sites');
      await fitsPhone(page, '/sites/new');
    });

    await check('no script errors or CSP violations', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
  } finally {
    if (browser) await browser.close();
    await panel.stop();
    if (!anyFailed()) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

run(main);
