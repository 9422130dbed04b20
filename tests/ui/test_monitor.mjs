// Browser test of the monitor page: live figures, each labelled, sizes in one
// unit style (KiB, MiB, GiB), the load averages over 1/5/15 min, SVG history
// charts drawn by the page itself with their axis labels inside the chart at
// desktop and phone widths, the per-core, filesystem and service tables (the
// panel itself running outside systemd), the history range selector, and no
// script errors or CSP violations.
//
//   SETEC_BIN=build/setec-manager node tests/ui/test_monitor.mjs

import fs from 'node:fs';
import path from 'node:path';
import { anyFailed, assert, check, fitsPhone, launchBrowser, login, PHONE_WIDTH, run, startPanel } from './harness.mjs';

const SIZE = /^\d+(\.\d)? (B|KiB|MiB|GiB|TiB|PiB)$/;

// Every axis label of every chart lies inside its chart ("100%" was cut to
// ".00%"); the CPU chart's top label reads 100%.
async function axisLabelsInside(page, what) {
  const labels = await page.locator('#chart-cpu text.axis-label').allTextContents();
  assert(labels.includes('100%'), `${what}: CPU axis labels ${JSON.stringify(labels)}`);
  const bad = await page.evaluate(() => {
    const out = [];
    for (const svg of document.querySelectorAll('#monitor-charts svg.chart')) {
      const box = svg.getBoundingClientRect();
      const slot = svg.parentElement.getBoundingClientRect();
      const left = Math.max(box.left, slot.left) - 0.5;
      const right = Math.min(box.right, slot.right) + 0.5;
      for (const t of svg.querySelectorAll('text.axis-label')) {
        const r = t.getBoundingClientRect();
        if (r.width === 0 || r.left < left || r.right > right) {
          out.push(`${svg.getAttribute('class')} "${t.textContent}" at ${r.left.toFixed(1)}..${r.right.toFixed(1)}, chart ${left.toFixed(1)}..${right.toFixed(1)}`);
        }
      }
    }
    return out;
  });
  assert(bad.length === 0, `${what}: ${bad.join('; ')}`);
}

// The trimmed text of `sel` once it matches `re` (and not `not`), waiting for
// the condition itself up to a deadline; the failure names the last text seen.
async function waitText(page, sel, re, { not = null, timeout = 10000 } = {}) {
  try {
    // the matching text itself is the result: no second read that could differ
    const handle = await page.waitForFunction(([s, src, flags, nsrc]) => {
      const t = (document.querySelector(s)?.textContent || '').trim();
      return new RegExp(src, flags).test(t) && !(nsrc && new RegExp(nsrc).test(t)) ? t : null;
    }, [sel, re.source, re.flags, not ? not.source : null], { timeout });
    return await handle.jsonValue();
  } catch (e) {
    const last = await page.locator(sel).first().textContent().catch(() => null);
    throw new Error(`${sel} never matched ${re} (last "${(last || '').trim()}"): ${e.message}`);
  }
}

async function main() {
  let panel = null;
  let browser = null;
  await check('server starts', async () => {
    panel = await startPanel({ extraYaml: ['monitor:', '  services: [nginx, "ufw", setec-manager]'] });
  });
  if (!panel) return;
  const { base, tmp, adminPassword } = panel;
  try {
    const b = await launchBrowser();
    browser = b.browser;
    const { page, problems } = b;

    await check('monitor page opens from the sidebar route', async () => {
      await login(page, base, 'admin', adminPassword);
      await page.goto(`${base}/monitor`);
      await page.locator('h1', { hasText: 'Monitor' }).waitFor();
      const sheet = await page.locator('link[rel="stylesheet"][href="/css/pages/monitor.css"]').count();
      assert(sheet === 1, 'monitor.css not loaded');
    });

    await check('CPU and memory figures appear', async () => {
      // CPU and memory come from two separate fetches: wait for each figure
      // itself (to a deadline), never read one because the other arrived.
      const cpu = await waitText(page, '[data-field="cpu_overall"]', /^\d+(\.\d)?%$/);
      assert(cpu, 'no CPU figure');
      // the second CPU figure says what its shares are
      const line = await waitText(page, '[data-field="cpu_line"]', /^user \d+\.\d% · system \d+\.\d% · idle \d+\.\d%$/);
      assert(line, 'no CPU line');
      const mem = await waitText(page, '[data-field="mem_used"]', SIZE);
      assert(mem, 'no memory figure');
      // Before the sampler's second sample the figures are zeros; the page
      // asks again after a second.
      const ready = await waitText(page, '[data-field="cpu_line"]', /idle \d+\.\d%$/, { not: /^user 0\.0% · system 0\.0% · idle 0\.0%$/ });
      const [, us, sy, id] = ready.match(/user (\d+\.\d)% · system (\d+\.\d)% · idle (\d+\.\d)%/).map(Number);
      assert(us + sy + id <= 100.2 && us + sy + id > 0, `cpu line "${ready}"`);
      const detail = await waitText(page, '[data-field="mem_detail"]', /^of \d/);
      const parts = detail.match(/^of (.+) · (.+) available · (.+) free$/);
      assert(parts && parts.slice(1).every((p) => SIZE.test(p)), `memory detail "${detail}"`);
      const swap = await waitText(page, '[data-field="swap_detail"]', /^of /);
      assert(/^of \d+(\.\d)? (B|KiB|MiB|GiB|TiB) · \d+(\.\d)? (B|KiB|MiB|GiB|TiB) free$/.test(swap), `swap detail "${swap}"`);
    });

    await check('load averages are labelled 1, 5 and 15 min', async () => {
      const load = await waitText(page, '[data-field="load_avg"]', /^1 min /);
      assert(/^1 min \d+\.\d\d · 5 min \d+\.\d\d · 15 min \d+\.\d\d$/.test(load), `load "${load}"`);
      const one = (await page.locator('[data-field="load_1"]').textContent()).trim();
      assert(load.startsWith(`1 min ${one} `), `1-min figure "${one}" vs "${load}"`);
    });

    await check('one row per CPU core with a meter', async () => {
      await page.locator('#cores-table tbody tr[data-core]').first().waitFor();
      const rows = await page.locator('#cores-table tbody tr[data-core]').count();
      const stat = fs.readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
      assert(rows === stat, `${rows} rows, /proc/stat has ${stat} cores`);
      const width = await page.locator('#cores-table .progress-bar').first().evaluate((e) => e.style.width);
      assert(/^\d+(\.\d+)?%$/.test(width), `meter width "${width}"`);
    });

    await check('filesystem table lists / and no pseudo filesystems', async () => {
      const root = page.locator('#disk-table tbody tr[data-mount="/"]');
      await root.waitFor();
      const cells = await root.locator('td').allTextContents();
      assert(cells.length === 6, `cells: ${cells}`);
      for (const i of [2, 3, 4]) assert(SIZE.test(cells[i].trim()), `size "${cells[i]}"`);
      assert(/^\d+%$/.test(cells[5].trim()), `use% "${cells[5]}"`);
      const mounts = await page.locator('#disk-table tbody tr[data-mount]').evaluateAll((rs) => rs.map((r) => r.dataset.mount));
      for (const p of ['/proc', '/sys', '/dev', '/dev/shm']) assert(!mounts.includes(p), `lists ${p}`);
    });

    await check('service table shows the configured units, the panel itself running', async () => {
      await page.locator('#services-table tbody tr[data-service="ufw"]').waitFor();
      const names = await page.locator('#services-table tbody tr[data-service]').evaluateAll((rs) => rs.map((r) => r.dataset.service));
      assert(JSON.stringify(names) === '["nginx","ufw","setec-manager"]', `services ${names}`);
      const state = (await page.locator('#services-table tbody tr[data-service="nginx"] .badge').textContent()).trim();
      assert(state.length > 0, 'no state badge');
      // this test starts the panel by hand: it answers, outside its unit
      const self = (await page.locator('#services-table tbody tr[data-service="setec-manager"] .badge').textContent()).trim();
      assert(self === 'running (not under systemd)', `the panel itself reads "${self}"`);
    });

    await check('four SVG charts get history points', async () => {
      // The sampler records its first point a second after start; the page
      // polls the history every 10 s.
      await page.waitForFunction(() => {
        const charts = [...document.querySelectorAll('#monitor-charts svg.chart')];
        return charts.length === 4 && charts.every((c) => Number(c.dataset.points) >= 1);
      }, null, { timeout: 20000 });
      for (const key of ['cpu', 'mem', 'disk', 'load']) {
        const svg = page.locator(`#chart-${key} svg.chart-${key}`);
        const shapes = await svg.locator('polyline.line, circle.point').count();
        assert(shapes >= 1, `${key} chart draws nothing`);
        const label = await svg.getAttribute('aria-label');
        assert(/last 60 minutes/.test(label), `${key} label "${label}"`);
        // the chart's figure says what it is (the CPU one differs from the summary's)
        const value = (await page.locator(`[data-field="last_${key}"]`).textContent()).trim();
        const re = key === 'cpu' ? /^last 10 s average: \d+(\.\d+)?%$/ : /^latest: \d+(\.\d+)?%?$/;
        assert(re.test(value), `${key} value "${value}"`);
      }
      // Titles carry the latest value for hover.
      const title = await page.locator('#chart-mem svg title').textContent();
      assert(/^Memory: \d+\.\d% at \d\d:\d\d:\d\d$/.test(title), `title "${title}"`);
    });

    await check(`axis labels stay inside the charts at desktop and ${PHONE_WIDTH}px widths`, async () => {
      await axisLabelsInside(page, '1280px');
      await page.setViewportSize({ width: PHONE_WIDTH, height: 844 });
      try {
        await axisLabelsInside(page, `${PHONE_WIDTH}px`);
      } finally {
        await page.setViewportSize({ width: 1280, height: 860 });
      }
      await fitsPhone(page, '/monitor');
    });

    await check('range selector reloads the history for 24 hours', async () => {
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/monitor/history?minutes=1440&max_points=720')),
        page.selectOption('#history-range', '1440'),
      ]);
      assert(resp.status() === 200, `status ${resp.status()}`);
      await page.waitForFunction(() => /last 1440 minutes/.test(document.querySelector('#chart-cpu svg')?.getAttribute('aria-label') || ''));
    });

    await page.screenshot({ path: path.join(tmp, 'monitor.png'), fullPage: true }).catch(() => {});

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
