// Browser test of the admin operations page (the shop's own alert rules and its database
// backups) against a real `emporium serve` seeded with the games preset. The server takes a
// backup when it starts; the admin takes another with "Back up now".
// Run: node --test tests/e2e/   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  accountMenu,
  assertClean,
  eventually,
  launchBrowser,
  menuPick,
  notice,
  screenshot,
  startShop,
  watchPage,
} from './harness.mjs';

const T = { timeout: 120_000 };
const run = crypto.randomBytes(4).toString('hex');
const admin = { email: 'admin@gitgoods.example', password: 'demo password 123' };
const seller = { email: `seller.${run}@example.com`, password: 'seller-pass-0001', role: 'seller', name: 'Sam Seller' };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 60, users: [seller] });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});




async function signIn(page, { email, password }) {
  await page.goto(shop.base + '/signin');
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await accountMenu(page).waitFor();
}

async function getJson(context, path) {
  const res = await context.request.get(shop.base + path);
  assert.equal(res.status(), 200, `GET ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

const noSideScroll = (p) =>
  eventually(() => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
    message: 'no horizontal overflow',
  });

describe('the admin operations page', () => {
  let context, page, watch;

  before(async () => {
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: shop.base });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => {
    await context?.close();
  });

  test('the seeded admin sees every alert rule, with the error ratio ok', T, async () => {
    await signIn(page, admin);
    await menuPick(page, 'Admin');
    await page.waitForURL((url) => url.pathname === '/admin/users');
    await page.getByRole('tab', { name: 'Operations' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/operations');
    await page.getByRole('heading', { level: 1, name: 'Operations' }).waitFor();
    assert.match(await page.title(), /^Operations · Admin · /);
    await page.getByRole('region', { name: 'Alerts' }).waitFor();
    await page.getByRole('region', { name: 'Backups' }).waitFor();

    const table = page.locator('[data-testid="alerts"][aria-busy="false"]');
    const errors = table.locator('[data-testid="alert-row"][data-rule="high_error_ratio"]');
    await errors.waitFor();
    assert.equal(await errors.getAttribute('data-state'), 'ok');
    const errorsRow = table.locator('tr', { has: page.locator('[data-testid="alert-row"][data-rule="high_error_ratio"]') });
    await errorsRow.getByText('Server errors', { exact: true }).waitFor();
    await errorsRow.locator('[data-testid="alert-state"][data-state="ok"]').getByText('OK', { exact: true }).waitFor();
    await errorsRow.locator('[data-testid="alert-threshold"]').getByText('Alerts above 5%', { exact: true }).waitFor();

    // Every rule the server reports is a row, in its order, with the server's state.
    const api = await getJson(context, '/api/admin/alerts');
    assert.ok(api.items.some((a) => a.rule === 'high_error_ratio'), JSON.stringify(api.items));
    const rows = await table.locator('[data-testid="alert-row"]').evaluateAll((els) => els.map((e) => e.dataset.rule));
    assert.deepEqual(rows, api.items.map((a) => a.rule), 'every rule, in the order the server gives');
    for (const rule of ['slow_catalog', 'not_ready', 'backup_stale', 'db_pool_saturated', 'disk_low']) {
      assert.ok(rows.includes(rule), `a row for ${rule}`);
    }
    // Figures read as people read them: readiness in words, latency thresholds in ms, free disk in %.
    const row = (rule) => table.locator('tr', { has: page.locator(`[data-testid="alert-row"][data-rule="${rule}"]`) });
    await row('not_ready').locator('[data-testid="alert-value"]').getByText('Ready', { exact: true }).waitFor();
    await row('not_ready').getByText('Alerts when not ready', { exact: true }).waitFor();
    await row('slow_catalog').getByText('Alerts above 500 ms', { exact: true }).waitFor();
    await row('disk_low').locator('[data-testid="alert-value"]').getByText(/^\d+(\.\d)?% free$/).waitFor();
    await row('disk_low').getByText('Alerts below 5% free', { exact: true }).waitFor();
    await row('db_pool_saturated').getByText('Database connections', { exact: true }).waitFor();
    await row('db_pool_saturated').getByText('Alerts above 90%', { exact: true }).waitFor();
    const summary = page.locator('[data-testid="alerts-summary"]');
    await summary.waitFor();
    if (api.items.every((a) => a.state === 'ok')) await summary.getByText(/^All clear/).waitFor();
    assertClean(watch);
  });

  test('the backup taken at start is listed, and "Back up now" adds one', T, async () => {
    const table = page.locator('[data-testid="backups"]');
    const rows = table.locator('[data-testid="backup-row"]');
    const refresh = page.getByRole('button', { name: 'Refresh', exact: true });

    // The server takes its first backup as it starts: refresh until the page lists it.
    await eventually(
      async () => {
        if ((await rows.count()) > 0) return true;
        await refresh.click();
        await page.locator('[data-testid="backups"][aria-busy="false"]').waitFor();
        return (await rows.count()) > 0;
      },
      { timeout: 30000, interval: 500, message: 'the backup taken at start' },
    );
    const before = await getJson(context, '/api/admin/backups');
    await eventually(async () => (await rows.count()) === before.items.length, { message: 'the page lists what the API lists' });
    const names = await rows.evaluateAll((els) => els.map((e) => e.dataset.name));
    assert.deepEqual(names, before.items.map((b) => b.name), 'newest first, as the server lists them');
    const n = names.length;
    await page.locator('[data-testid="backup-count"]').getByText(`${n} backup${n === 1 ? '' : 's'} kept`, { exact: true }).waitFor();

    // The newest backup's figures and its shortened checksum, which copies in full.
    const newest = before.items[0];
    assert.match(newest.sha256, /^[0-9a-f]{64}$/);
    const first = table.locator('tr', { has: page.locator(`[data-testid="backup-row"][data-name="${newest.name}"]`) });
    const sha = first.locator('[data-testid="backup-sha"]');
    assert.equal((await sha.textContent()).trim(), `${newest.sha256.slice(0, 12)}…`);
    assert.equal(await sha.getAttribute('title'), newest.sha256);
    await first.getByText(/ database$/).waitFor();
    await first.getByText(newest.orders.toLocaleString('en-US'), { exact: true }).waitFor();
    await first.getByRole('button', { name: `Copy the SHA-256 of ${newest.name}` }).click();
    await notice(page).getByText(`The SHA-256 of ${newest.name} is on your clipboard.`).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), newest.sha256);

    // "Back up now" from the keyboard: the new backup heads the list and a notice says so.
    const button = page.getByRole('button', { name: 'Back up now' });
    await button.focus();
    await page.keyboard.press('Enter');
    await notice(page).getByText(/Backup emporium-\S+ is taken: \d.* [KMG]?B, [\d,]+ orders\./).waitFor();
    assert.equal(await button.evaluate((el) => el === document.activeElement), true, 'the button keeps the focus');
    await eventually(async () => (await rows.count()) === n + 1, { message: `${n + 1} backup rows` });
    await page.locator('[data-testid="backup-count"]').getByText(`${n + 1} backups kept`, { exact: true }).waitFor();
    await button.waitFor(); // back to its resting label

    const afterList = await getJson(context, '/api/admin/backups');
    assert.equal(afterList.items.length, n + 1, 'the server lists one more backup');
    const taken = afterList.items[0];
    assert.ok(!names.includes(taken.name), `a new backup: ${taken.name}`);
    const noticeText = (await notice(page).textContent()) || '';
    assert.ok(noticeText.includes(`Backup ${taken.name} is taken`), `the notice names the new backup: ${noticeText}`);
    assert.equal(await rows.first().getAttribute('data-name'), taken.name, 'the new backup comes first');
    await page.locator('[data-testid="backups"][aria-busy="false"]').waitFor();
    // Both cards in one picture (a full-page capture would paint the fixed app bar mid-page).
    await page.setViewportSize({ width: 1366, height: 2200 });
    await screenshot(page, 'admin-operations.png');

    // Fits a phone screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await noSideScroll(page);
    await page.setViewportSize({ width: 1366, height: 900 });
    assertClean(watch);
  });

  test('sellers get neither the page nor the API', T, async () => {
    const sellerContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const sellerPage = await sellerContext.newPage();
      const sellerWatch = watchPage(sellerPage);
      await signIn(sellerPage, seller);
      await sellerPage.goto(shop.base + '/admin/operations');
      await sellerPage.locator('[data-testid="forbidden"]').waitFor();
      assert.equal(new URL(sellerPage.url()).pathname, '/admin/operations', 'the address stays');
      for (const path of ['/api/admin/backups', '/api/admin/alerts']) {
        const res = await sellerContext.request.get(shop.base + path);
        assert.equal(res.status(), 403, `GET ${path} as a seller: ${res.status()}`);
      }
      assertClean(sellerWatch);
    } finally {
      await sellerContext.close();
    }
  });
});
