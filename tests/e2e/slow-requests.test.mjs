// Browser test of the admin Slow requests page (issue 16): the requests a real `emporium serve`
// kept in the last hour, each opened as a waterfall of its spans; one failed request (the drill
// fault switch) is listed as failed.
// Run: node --test tests/e2e/slow-requests.test.mjs   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { accountMenu, assertClean, eventually, launchBrowser, screenshot, startShop, watchPage } from './harness.mjs';

const T = { timeout: 120_000 };
const admin = { email: 'admin@gitgoods.example', password: 'demo password 123' };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 40, args: ['--faults'] });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

async function put(path, body) {
  const res = await fetch(`http://127.0.0.1:${shop.internalPort}${path}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `PUT ${path}: ${res.status}`);
}

describe('the admin Slow requests page', () => {
  test('lists kept requests and opens one as a waterfall of its spans', T, async () => {
    // Requests the node keeps: catalog reads (database and cache spans), and one that fails.
    // The catalog reads are made slow (the drill's delay) so that they rank among the slowest kept
    // whatever else a busy machine delays: the page's own requests can outlast a quick read.
    await put('/internal/faults', { error_ratio: 0, slow_ratio: 1, delay_ms: 700 });
    try {
      for (const page of [1, 2, 3]) assert.equal((await fetch(`${shop.base}/api/products?page=${page}&per_page=5`)).status, 200);
    } finally {
      await put('/internal/faults', { slow_ratio: 0 });
    }
    await put('/internal/faults', { error_ratio: 1 });
    try {
      assert.equal((await fetch(`${shop.base}/api/products?page=9`)).status, 500);
    } finally {
      await put('/internal/faults', { error_ratio: 0 });
    }

    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const watch = watchPage(page);
    try {
      await page.goto(shop.base + '/signin');
      await page.getByRole('textbox', { name: 'Email' }).fill(admin.email);
      await page.getByLabel('Password', { exact: true }).fill(admin.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/');
      await accountMenu(page).waitFor();

      await page.goto(shop.base + '/admin/operations');
      await page.getByRole('tab', { name: 'Slow requests' }).click();
      await page.waitForURL((url) => url.pathname === '/admin/slow-requests');
      await page.getByRole('heading', { level: 1, name: 'Slow requests' }).waitFor();
      assert.match(await page.title(), /^Slow requests · Admin · /);

      // The page lists what the API answered it, in its order (Refresh asks again). The first load
      // ends first: the click waits for the button, which is disabled while a load runs, and the
      // answer awaited would be that first load's, not the one the page shows last.
      const refresh = page.getByRole('button', { name: 'Refresh', exact: true });
      await eventually(() => refresh.isEnabled(), { message: 'the page has loaded once' });
      const [res] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/api/admin/slow-requests'),
        refresh.click(),
      ]);
      assert.equal(res.status(), 200);
      const api = (await res.json()).items;
      assert.ok(api.length >= 2, JSON.stringify(api).slice(0, 500));
      const rows = page.locator('[data-testid="slow-request"]');
      await eventually(
        async () => {
          const traces = await rows.evaluateAll((els) => els.map((e) => e.dataset.trace));
          return JSON.stringify(traces) === JSON.stringify(api.map((i) => i.trace_id));
        },
        { message: 'every kept request listed, in the order the server gives' },
      );

      // The failed request shows its 500.
      const failed = api.find((i) => i.failed);
      assert.ok(failed, 'the failed request is kept');
      await page.locator(`[data-testid="slow-request"][data-trace="${failed.trace_id}"]`).getByText('500', { exact: true }).waitFor();

      // A catalog read opens as a waterfall: the request, then its database read beneath it.
      const withDb = api.find((i) => i.route === '/api/products' && i.spans.some((s) => s.name === 'db.read'));
      assert.ok(withDb, 'a catalog read with a database span');
      const panel = page.locator(`[data-testid="slow-request"][data-trace="${withDb.trace_id}"]`);
      await panel.getByRole('button').first().click();
      const waterfall = panel.locator('[data-testid="waterfall"]');
      await waterfall.waitFor();
      const names = await waterfall.locator('[data-testid="waterfall-row"]').evaluateAll((els) => els.map((e) => e.dataset.name));
      assert.equal(names[0], 'GET /api/products');
      assert.ok(names.includes('db.read'), names.join(', '));
      assert.equal(names.length, withDb.spans.length, 'a row per span');
      await waterfall.getByText(/db\.statements: \d+/).first().waitFor();
      await screenshot(page, 'admin-slow-requests.png');

      // Fits a phone screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await eventually(() => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
        message: 'no horizontal overflow',
      });
      assertClean(watch);
    } finally {
      await context.close();
    }
  });
});
