// Browser test of recommendations against a real `emporium serve` (games preset) whose model is
// trained with `emporium recs train` before the browser comes: "You may also like" on the product
// page, "Recommended for you" on the home page when signed in, "Often bought together" in the
// cart, clicks and add-to-carts counted for the model version, and the admin's Recommendations
// page (versions with their figures, retrain, roll back).
// Run: node --test tests/e2e/recommendations.test.mjs   (needs build/emporium, web/dist, chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  accountMenu,
  apiJson,
  assertClean,
  binary,
  eventually,
  launchBrowser,
  menuPick,
  notice,
  screenshot,
  startShop,
  watchPage,
} from './harness.mjs';

const T = { timeout: 180_000 };
const run = crypto.randomBytes(4).toString('hex');
const admin = { email: 'admin@gitgoods.example', password: 'demo password 123' };
const shopper = { email: `shopper.${run}@example.com`, password: 'shopper-pass-01', role: 'customer', name: 'Rita Recs' };

let browser, shop, version;

function train() {
  const r = spawnSync(binary, ['recs', 'train', '--data-dir', shop.dataDir], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function adminView(context) {
  const res = await context.request.get(shop.base + '/api/admin/recommendations');
  assert.equal(res.status(), 200);
  return res.json();
}

async function signIn(page, { email, password }) {
  await page.goto(shop.base + '/signin');
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await accountMenu(page).waitFor();
}

const cardIds = (section) => section.locator('[data-testid="product-card"]').evaluateAll((els) => els.map((e) => Number(e.dataset.productId)));

before(async () => {
  browser = await launchBrowser();
  shop = await startShop({
    preset: 'games',
    products: 300,
    users: [shopper],
    args: ['--recs-retrain-interval', '0', '--recs-poll', '1s'],
  });
  version = train().version;
  await eventually(
    async () => (await apiJson(shop, '/api/products/1/recommendations')).model_version === version,
    { timeout: 30000, message: `model v${version} live` },
  );
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

describe('recommendations in the storefront', () => {
  let context, page, watch;
  before(async () => {
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => context?.close());

  test('"You may also like" lists what the model recommends, never the product itself', T, async () => {
    const top = (await apiJson(shop, '/api/products?sort=popular&per_page=1')).items[0];
    await page.goto(`${shop.base}/products/${top.id}`);
    const shelf = page.locator('[data-testid="also-like"]');
    await shelf.getByRole('heading', { name: 'You may also like' }).waitFor();
    await eventually(async () => (await cardIds(shelf)).length === 4, { message: 'four recommended cards' });
    const api = await apiJson(shop, `/api/products/${top.id}/recommendations?limit=4`);
    assert.deepEqual(await cardIds(shelf), api.items.map((p) => p.id), 'the model\'s order');
    assert.ok(!(await cardIds(shelf)).includes(top.id));
    assert.equal(await shelf.getAttribute('data-model-version'), String(version));
    await shelf.scrollIntoViewIfNeeded();
    await screenshot(page, 'recs-product-page.png', { fullPage: true });
    assertClean(watch);
  });

  test('a click and an add-to-cart from a recommendation count for the model version', T, async () => {
    const adminContext = await browser.newContext();
    const adminPage = await adminContext.newPage();
    await signIn(adminPage, admin);
    const row = async () => (await adminView(adminContext)).versions.find((v) => v.version === version);
    const before = await row();

    const shelf = page.locator('[data-testid="also-like"]');
    const first = shelf.locator('[data-testid="product-card"]').first();
    const target = Number(await first.getAttribute('data-product-id'));
    await first.click();
    await page.waitForURL((url) => url.pathname === `/products/${target}`);
    await page.locator('[data-testid="product-detail"]').waitFor();
    await page.getByRole('button', { name: /add to cart/i }).click();
    await notice(page).getByText(/Added 1 ×/).waitFor();
    await eventually(
      async () => {
        const now = await row();
        return now.clicks === before.clicks + 1 && now.add_to_carts === before.add_to_carts + 1;
      },
      { message: 'one click and one add-to-cart counted' },
    );
    assert.ok((await row()).impressions > before.impressions);
    await adminContext.close();
    assertClean(watch);
  });

  test('signed in, the home page recommends for the shopper; the cart suggests what goes with it', T, async () => {
    await page.goto(shop.base + '/');
    await page.locator('[data-testid="featured"]').waitFor();
    assert.equal(await page.locator('[data-testid="for-you"]').count(), 0, 'nothing personal when signed out');

    await signIn(page, shopper);
    const forYou = page.locator('[data-testid="for-you"]');
    await forYou.getByRole('heading', { name: 'Recommended for you' }).waitFor();
    await eventually(async () => (await cardIds(forYou)).length === 8, { message: 'eight cards for the shopper' });
    await screenshot(page, 'recs-home-signed-in.png');

    // The signed-in cart merged the guest's item; its suggestions never repeat what is in it.
    await page.goto(shop.base + '/cart');
    const lines = page.locator('[data-testid="cart-line"]');
    await lines.first().waitFor();
    const inCart = await lines.evaluateAll((els) => els.map((e) => Number(e.dataset.productId)));
    const together = page.locator('[data-testid="bought-together"]');
    await together.getByRole('heading', { name: 'Often bought together' }).waitFor();
    await eventually(async () => (await cardIds(together)).length === 4, { message: 'four suggestions' });
    for (const id of await cardIds(together)) assert.ok(!inCart.includes(id), `${id} is in the cart`);
    await together.scrollIntoViewIfNeeded();
    await screenshot(page, 'recs-cart.png', { fullPage: true });
    assertClean(watch);
  });
});

describe('the admin Recommendations page', () => {
  let context, page, watch;
  before(async () => {
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
    await signIn(page, admin);
  });
  after(async () => context?.close());

  test('lists the versions with their figures; retrain makes a new live version; roll back returns', T, async () => {
    await menuPick(page, 'Admin');
    await page.getByRole('tab', { name: 'Recommendations' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/recommendations');
    await page.getByRole('heading', { level: 1, name: 'Recommendations' }).waitFor();
    const live = page.locator('[data-testid="live-version"]');
    await live.getByText(`Version ${version} is live.`).waitFor();
    const row = (v) => page.locator(`[data-testid="version-row"][data-version="${v}"]`);
    assert.equal(await row(version).getAttribute('data-state'), 'live');
    const view = await adminView(context);
    const mine = view.versions.find((v) => v.version === version);
    const recall = `${(mine.summary.blend.recall_at_10 * 100).toFixed(1)}%`;
    const versionRow = page.locator('tr', { has: row(version) });
    await versionRow.locator('[data-testid="version-recall"]').getByText(recall, { exact: true }).waitFor();
    await versionRow.getByText(/popular: \d+\.\d%/).waitFor();
    await versionRow.locator('[data-testid="version-ctr"]').getByText(/clicks? of \d+ shown/).waitFor();
    await screenshot(page, 'recs-admin.png', { fullPage: true });

    await page.getByRole('button', { name: 'Retrain now' }).click();
    await notice(page).getByText(/Training a new model/).waitFor();
    const next = await eventually(
      async () => {
        const v = (await adminView(context)).live_version;
        return v > version ? v : false;
      },
      { timeout: 60000, message: 'the retrained version live' },
    );
    await eventually(
      async () => {
        if (await live.getByText(`Version ${next} is live.`).isVisible()) return true;
        await page.reload();
        return false;
      },
      { timeout: 20000, interval: 1000, message: 'the page shows the new live version' },
    );
    assert.equal(await row(next).getAttribute('data-state'), 'live');

    await page.getByRole('button', { name: 'Roll back' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Roll back the model?' });
    await dialog.getByText(`Shoppers get v${version} again`).waitFor();
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await notice(page).getByText(`Version ${version} is live again.`).waitFor();
    await live.getByText(`Version ${version} is live.`).waitFor();
    await eventually(async () => (await row(next).getAttribute('data-state')) === 'rolled_back', {
      message: 'the withdrawn version marked rolled back',
    });
    await screenshot(page, 'recs-admin-rolled-back.png', { fullPage: true });
    assertClean(watch);
  });
});
