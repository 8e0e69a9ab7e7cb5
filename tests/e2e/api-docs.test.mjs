// Browser test of the API reference page (/api/docs): Redoc, bundled with the web page, renders
// the document the server serves at /api/openapi.json, offline (every request stays on the shop)
// and within the page's Content-Security-Policy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, startShop, watchPage } from './harness.mjs';

let browser;
let shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 20 });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

test('the reference page renders the documented operations from this shop alone', { timeout: 90_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const watch = watchPage(page);
  const origin = shop.base;
  // Redoc's side menu links to Redocly with a logo from their CDN: the page's policy (img-src
  // 'self' data:) blocks it, so nothing is ever fetched from elsewhere.
  const fetchedElsewhere = [];
  const blockedElsewhere = [];
  const elsewhere = (req) => !req.url().startsWith(origin) && !req.url().startsWith('data:');
  page.on('requestfinished', (req) => elsewhere(req) && fetchedElsewhere.push(req.url()));
  page.on('requestfailed', (req) => elsewhere(req) && blockedElsewhere.push(`${req.url()} ${req.failure()?.errorText}`));
  const document = await (await fetch(`${origin}/api/openapi.json`)).json();

  await page.goto(`${shop.base}/api/docs`);
  // Redoc gives every operation an anchor named after its tag and operationId.
  const checkout = page.locator('[id="tag/Cart-and-checkout/operation/checkout"]');
  await checkout.waitFor({ timeout: 30_000 });
  await assert.doesNotReject(
    checkout.getByRole('heading', { name: document.paths['/api/checkout'].post.summary }).waitFor({ timeout: 10_000 }),
  );
  // Every operation of the document is in the page's menu, and the title is the document's.
  const operations = Object.values(document.paths).flatMap((item) => Object.keys(item).filter((k) => k !== 'parameters'));
  const menuItems = await page.locator('li[data-item-id*="/operation/"]').count();
  assert.ok(menuItems >= operations.length, `${menuItems} menu items for ${operations.length} operations`);
  await assert.doesNotReject(page.getByRole('heading', { name: document.info.title }).first().waitFor({ timeout: 10_000 }));
  await screenshot(page, 'api-docs.png');
  assert.deepEqual(fetchedElsewhere, [], 'answers from other origins');
  for (const blocked of blockedElsewhere) assert.match(blocked, / csp$/);
  const problems = watch.take().filter((p) => !blockedElsewhere.some((b) => p.includes(b.split(' ')[0])));
  assert.deepEqual(problems, [], 'console errors or failed requests');
  await context.close();
});
