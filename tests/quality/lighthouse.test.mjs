// Lighthouse 12.8 with its own phone and desktop settings (simulated throttling) on the shopper's
// pages of both demo shops: 95 or more in performance, accessibility, best practices and SEO.
// One change, the one Lighthouse's docs ask for on a slower host: the phone's CPU slowdown follows
// this host's benchmark index (4x at 1500 or more; quality.mjs, phoneCpuSlowdown and phoneRun), so
// a machine busy with other jobs emulates about the same phone as a quiet one.
// The performance score still moves with the machine's load, so each page is audited QUALITY_RUNS
// times (3 by default) and its median is compared; the spread is reported with it.
// Scores go to build/quality/lighthouse.md, the median run of each page to build/quality/*.json.
// Run: node --test tests/quality/lighthouse.test.mjs   (needs build/emporium and web/dist, /usr/bin/chromium)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CATEGORIES,
  apiJson,
  launchBrowser,
  launchLighthouseChrome,
  lighthouseRun,
  median,
  phoneRun,
  reportDir,
  startShop,
} from './quality.mjs';

const THRESHOLD = 95;
// The performance score alone moves with the machine's load. `make test-quality` holds it to 95 like
// the other categories; `make test`, which runs it beside compilers and servers on the same cores,
// sets QUALITY_PERFORMANCE_MIN lower so that only a real regression fails there.
const PERFORMANCE_MIN = Number.parseInt(process.env.QUALITY_PERFORMANCE_MIN || String(THRESHOLD), 10);
const RUNS = Math.max(1, Number.parseInt(process.env.QUALITY_RUNS || '3', 10));
// Phone and desktop by default; `make test` audits the phone alone (QUALITY_FORM_FACTORS=mobile), the
// harder of the two: the same pages' accessibility, practices and SEO, and a performance score that
// has been 100 on every desktop run. `make test-quality` audits both.
const FORM_FACTORS = (process.env.QUALITY_FORM_FACTORS || 'mobile,desktop').split(',').map((f) => f.trim());
assert.ok(FORM_FACTORS.length > 0 && FORM_FACTORS.every((f) => f === 'mobile' || f === 'desktop'), 'QUALITY_FORM_FACTORS: mobile, desktop or both');
const T = { timeout: 60 * 60_000 };
const rows = [];

let chrome, browser; // browser: a second Chromium, for the host's CPU benchmark
before(async () => {
  chrome = await launchLighthouseChrome();
  browser = await launchBrowser();
});
after(async () => {
  await chrome?.kill();
  await browser?.close();
  fs.mkdirSync(reportDir, { recursive: true });
  const head = `| shop | form factor | page | ${CATEGORIES.join(' | ')} | FCP / LCP / TBT ms (median) | benchmark index | CPU slowdown |\n|---|---|---|${CATEGORIES.map(() => '---|').join('')}---|---|---|\n`;
  const note = `Lighthouse 12.8.2, ${RUNS} run(s) per page: median score (lowest-highest).\n\n`;
  fs.writeFileSync(path.join(reportDir, 'lighthouse.md'), note + head + rows.join('\n') + '\n');
});

for (const preset of ['games', 'grocery']) {
  describe(`Lighthouse (${preset} preset)`, () => {
    let shop, pages;
    before(async () => {
      // The shop waits up to 2 s for a worker before it sheds with 503 (250 ms by default): on a
      // shared, busy test machine the first load's two dozen pictures can wait that long, and a
      // shed picture is a console error to Lighthouse, not a property of the page.
      shop = await startShop({ preset, products: 1000, args: ['--max-queue-wait-ms', '2000'] });
      const popular = await apiJson(shop, '/api/products?sort=popular&per_page=1');
      pages = { home: '/', catalog: '/catalog', product: `/products/${popular.items[0].id}`, cart: '/cart' };
    });
    after(async () => {
      await shop?.stop();
    });

    for (const formFactor of FORM_FACTORS) {
      test(`${formFactor}: ${THRESHOLD}+ in every category on home, catalog, product and cart`, T, async () => {
        const failures = [];
        for (const [name, address] of Object.entries(pages)) {
          const runs = [];
          for (let i = 0; i < RUNS; i++) {
            const url = shop.base + address;
            runs.push(formFactor === 'mobile' ? await phoneRun(chrome, browser, url) : await lighthouseRun(chrome, url, 'desktop'));
          }
          const cells = CATEGORIES.map((c) => {
            const scores = runs.map((r) => r.scores[c]);
            const mid = median(scores);
            if (mid < (c === 'performance' ? PERFORMANCE_MIN : THRESHOLD)) {
              const failing = [...new Set(runs.flatMap((r) => r.failing))].join('; ');
              failures.push(`${preset} ${formFactor} ${name}: ${c} ${mid} (runs ${scores.join(', ')}); not passing: ${failing}`);
            }
            return RUNS > 1 ? `${mid} (${Math.min(...scores)}-${Math.max(...scores)})` : String(mid);
          });
          // The run with the median performance score, in full, for a look at what it found.
          const byPerformance = [...runs].sort((a, b) => a.scores.performance - b.scores.performance);
          fs.mkdirSync(reportDir, { recursive: true });
          fs.writeFileSync(
            path.join(reportDir, `lighthouse-${preset}-${formFactor}-${name}.json`),
            JSON.stringify(byPerformance[Math.floor(runs.length / 2)].lhr),
          );
          const metric = (m) => median(runs.map((r) => r.metrics[m]));
          const bench = runs.map((r) => r.benchmarkIndex).join(', ');
          const slowdowns = runs.map((r) => r.cpuSlowdown).join(', ');
          rows.push(`| ${preset} | ${formFactor} | ${name} | ${cells.join(' | ')} | ${metric('FCP')} / ${metric('LCP')} / ${metric('TBT')} | ${bench} | ${slowdowns} |`);
          console.log(rows[rows.length - 1]);
        }
        assert.deepEqual(failures, [], `median scores under ${THRESHOLD}`);
      });
    }
  });
}
