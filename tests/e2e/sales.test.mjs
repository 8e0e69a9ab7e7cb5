// Browser test of the Sales page (seller analytics) against a real `emporium serve` seeded with
// the games preset, whose year of generated orders (with discounts, refunds and cancellations)
// fills the reports. Every number the page shows is checked against the API's answer for the
// same days; screenshots on a desktop and a phone, for a seller and for the admin.
// Run: node --test tests/e2e/sales.test.mjs   (needs build/emporium, web/dist, /usr/bin/chromium)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertClean, eventually, launchBrowser, menuPick, money, pickOption, screenshot, startShop, watchPage } from './harness.mjs';

const T = { timeout: 180_000 };
const password = 'demo password 123';
const seller = { email: 'seller1@gitgoods.example', password };
const admin = { email: 'admin@gitgoods.example', password };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 120 });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

async function signIn(page, { email, password }) {
  await page.goto(shop.base + '/signin');
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  // The home page's own requests finish before a test moves on: a page.goto in the middle of them
  // cancels them, which the page watcher reports.
  const pending = new Set();
  let products = false;
  const start = (r) => {
    pending.add(r);
    products ||= r.url().includes('/api/products?');
  };
  const end = (r) => pending.delete(r);
  page.on('request', start);
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await eventually(() => products && pending.size === 0, { message: 'the home page finished loading' });
  page.off('request', start);
  page.off('requestfinished', end);
  page.off('requestfailed', end);
}

async function getJson(context, path) {
  const res = await context.request.get(shop.base + path);
  assert.equal(res.status(), 200, `GET ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** The days the page shows, read from its status line ("2026-10-31 to 2026-11-29 · ..."). */
async function shownRange(page) {
  const status = page.locator('[data-testid="sales-status"]');
  let text = '';
  await eventually(async () => /^\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d/.test((text = (await status.textContent()).trim())), {
    message: 'the status line names the days',
  });
  const [, from, to] = /^(\S+) to (\S+)/.exec(text);
  return { from, to };
}

/** Waits until the page's cards show the API's summary for the days on screen, then checks each. */
async function cardsMatchApi(page, context, extra = '') {
  const { from, to } = await shownRange(page);
  const api = await getJson(context, `/api/seller/analytics/summary?from=${from}&to=${to}&compare=previous_period${extra}`);
  const card = (key) => page.locator(`section[aria-busy="false"] [data-testid="sales-card"][data-key="${key}"]`);
  await eventually(async () => (await card('net_cents').getAttribute('data-value')) === String(api.net_cents), {
    message: `net sales card shows ${api.net_cents}`,
  });
  for (const key of ['net_cents', 'gross_cents', 'discounts_cents', 'refunds_cents', 'average_order_cents']) {
    assert.equal(await card(key).getAttribute('data-value'), String(api[key]), key);
    assert.equal((await card(key).locator('.value').textContent()).trim(), money(api[key], api.currency), `${key} on screen`);
  }
  for (const key of ['orders', 'units']) {
    assert.equal((await card(key).locator('.value').textContent()).trim(), String(api[key]), `${key} on screen`);
  }
  assert.equal(
    (await card('repeat_customer_rate').locator('.value').textContent()).trim(),
    `${(api.repeat_customer_rate * 100).toFixed(1)}%`,
  );
  // Each card's change is the API's percentage.
  const change = await card('gross_cents').locator('[data-testid="sales-change"]').getAttribute('data-change');
  assert.equal(change === '' || change === null ? null : Number(change), api.change.gross_cents);
  return { from, to, api };
}

describe('the Sales page', () => {
  let context, page, watch;
  before(async () => {
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => {
    await context?.close();
  });

  test('a seller sees their last 30 days, every figure as the API says', T, async () => {
    await signIn(page, seller);
    await menuPick(page, 'Sales');
    await page.waitForURL((url) => url.pathname === '/seller/sales');
    await page.getByRole('heading', { level: 1, name: 'Sales' }).waitFor();
    const { from, to, api } = await cardsMatchApi(page, context);
    assert.ok(api.orders > 0, 'the seeded history gives the last 30 days some orders');

    // The chart's table: one row per day, each day's net as the API's series.
    const sales = await getJson(context, `/api/seller/analytics/sales?from=${from}&to=${to}&granularity=day&compare=previous_period`);
    const rows = page.locator('[data-testid="sales-table"] tbody tr');
    await eventually(async () => (await rows.count()) === sales.series.length, { message: 'a row for every day' });
    const nets = await rows.evaluateAll((els) => els.map((e) => [e.dataset.period, Number(e.dataset.net)]));
    assert.deepEqual(nets, sales.series.map((p) => [p.period, p.net_cents]));
    assert.equal(sales.series.length, 30);
    assert.ok(await page.locator('canvas[data-testid="sales-chart"]').isVisible());

    const top = await getJson(context, `/api/seller/analytics/top-products?from=${from}&to=${to}&limit=10`);
    const shown = await page
      .locator('[data-testid="sales-top-products"] tbody tr[data-product-id]')
      .evaluateAll((els) => els.map((e) => [Number(e.dataset.productId), Number(e.dataset.net)]));
    assert.deepEqual(shown, top.items.map((p) => [p.product_id, p.net_cents]));

    const cats = await getJson(context, `/api/seller/analytics/categories?from=${from}&to=${to}`);
    const shownCats = await page
      .locator('[data-testid="sales-categories"] tbody tr[data-slug]')
      .evaluateAll((els) => els.map((e) => [e.dataset.slug, Number(e.dataset.net)]));
    assert.deepEqual(shownCats, cats.items.map((c) => [c.slug, c.net_cents]));

    const refunds = await getJson(context, `/api/seller/analytics/refunds?from=${from}&to=${to}&limit=5`);
    assert.equal(await page.locator('[data-testid="refunds-total"]').getAttribute('data-cents'), String(refunds.refunds_cents));

    const funnel = await getJson(context, `/api/seller/analytics/funnel?from=${from}&to=${to}`);
    for (const [step, key] of [['views', 'views'], ['carts', 'add_to_carts'], ['orders', 'orders']]) {
      assert.equal(await page.locator(`[data-testid="sales-funnel"] [data-step="${step}"]`).getAttribute('data-count'), String(funnel[key]));
    }
    await page.locator('[data-testid="sales-lag"]').getByText('up to date').waitFor();
    await screenshot(page, 'sales-seller-30-days.png', { fullPage: true });
    assertClean(watch);
  });

  test('"This year" reloads the figures, and the CSV adds up to them', T, async () => {
    await pickOption(page, page.locator('[data-testid="sales-preset"] .v-field'), 'This year', async () =>
      /^\d{4}-01-01 to /.test((await page.locator('[data-testid="sales-status"]').textContent()).trim()),
    );
    const { from, to, api } = await cardsMatchApi(page, context);
    assert.match(from, /-01-01$/);
    const href = await page.locator('[data-testid="sales-csv"]').getAttribute('href');
    assert.ok(href.includes(`from=${from}`) && href.includes(`to=${to}`), href);
    const csv = await context.request.get(shop.base + href);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'], /^text\/csv; charset=utf-8/);
    const lines = (await csv.text()).trim().split('\r\n');
    const header = lines[0].split(',');
    const net = header.indexOf('net_cents');
    const currency = header.indexOf('currency');
    // The last columns are numbers; quoted names may hold commas, so read from the right.
    let sum = 0;
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      if (cells[cells.length - (header.length - currency)] !== api.currency) continue;
      sum += Number(cells[cells.length - (header.length - net)]);
    }
    assert.equal(sum, api.net_cents, 'the export adds up to the net sales card');
    await screenshot(page, 'sales-seller-this-year.png', { fullPage: true });
    assertClean(watch);
  });

  test('on a phone the page fits the screen', T, async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      const p = await phone.newPage();
      const w = watchPage(p);
      await signIn(p, seller);
      await p.goto(shop.base + '/seller/sales');
      await cardsMatchApi(p, phone);
      await eventually(() => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
        message: 'no sideways scrolling',
      });
      await screenshot(p, 'sales-seller-phone.png', { fullPage: true });
      assertClean(w);
    } finally {
      await phone.close();
    }
  });

  test('a seller picks their own time zone, and the days and figures follow it', T, async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const page = await context.newPage();
      const watch = watchPage(page);
      await signIn(page, seller);
      await page.goto(shop.base + '/seller/sales');
      await cardsMatchApi(page, context);
      const before = await getJson(context, '/api/seller/analytics/settings');
      const target = before.time_zone === 'Pacific/Auckland' ? 'Asia/Tokyo' : 'Pacific/Auckland';
      const input = page.locator('[data-testid="sales-zone"] input');
      const save = page.locator('[data-testid="sales-zone-save"]');
      // Typed, then picked from the filtered list (the whole list of zones is too long to show).
      await eventually(
        async () => {
          if (await save.isEnabled()) return true;
          await input.click();
          await input.fill(target.split('/')[1]);
          await page.getByRole('option', { name: target, exact: true }).click({ timeout: 5000 });
          return save.isEnabled();
        },
        { timeout: 30000, interval: 300, message: `time zone ${target} picked` },
      );
      await save.click();
      await eventually(
        async () => (await page.locator('[data-testid="sales-status"]').textContent()).includes(`${target} time`),
        { message: `the page counts in ${target} time` },
      );
      const after = await getJson(context, '/api/seller/analytics/settings');
      assert.equal(after.time_zone, target);
      assert.notEqual(after.time_zone, before.time_zone);
      await cardsMatchApi(page, context);
      await screenshot(page, 'sales-seller-time-zone.png', { fullPage: true });
      assertClean(watch);
    } finally {
      await context.close();
    }
  });
});

describe('the admin Sales view', () => {
  test('the whole shop, then one seller, each as the API says', T, async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const page = await context.newPage();
      const watch = watchPage(page);
      await signIn(page, admin);
      await page.goto(shop.base + '/admin/sales');
      await page.getByRole('heading', { level: 1, name: 'Sales' }).waitFor();
      const whole = await cardsMatchApi(page, context);
      assert.equal(whole.api.seller_id, null);
      await screenshot(page, 'sales-admin-shop.png', { fullPage: true });

      // The seller's id, from a sign-in of their own (not this context's: it stays the admin's).
      const login = await fetch(shop.base + '/api/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(seller),
      });
      const sellerId = (await login.json()).user.id;
      const field = page.locator('[data-testid="sales-seller"] .v-field');
      await eventually(
        async () => {
          if ((await page.locator('[data-testid="sales-seller"]').textContent()).includes(`(#${sellerId})`)) return true;
          if (!(await page.getByRole('option', { name: new RegExp(`\\(#${sellerId}\\)$`) }).isVisible())) await field.click();
          await page.getByRole('option', { name: new RegExp(`\\(#${sellerId}\\)$`) }).click({ timeout: 5000 });
          return false;
        },
        { timeout: 30000, interval: 300, message: `seller #${sellerId} picked` },
      );
      const one = await cardsMatchApi(page, context, `&seller_id=${sellerId}`);
      assert.equal(one.api.seller_id, sellerId);
      assert.ok(one.api.gross_cents < whole.api.gross_cents || whole.api.gross_cents === 0);
      await screenshot(page, 'sales-admin-seller.png', { fullPage: true });
      assertClean(watch);
    } finally {
      await context.close();
    }
  });
});
