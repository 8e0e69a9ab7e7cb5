// Product photos in the browser (issue 18): a seller uploads two pictures through the product
// form (one chosen with the file picker, one dropped on the drop zone), describes one, makes the
// other the main photo, and the product page then shows it as a <picture> with AVIF and WebP
// sources and high fetch priority.
// Run: node --test tests/e2e/images.test.mjs   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/images-*.png.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { assertClean, eventually, imagesSettled, launchBrowser, makePng as png, screenshot, startShop, watchPage } from './harness.mjs';

const T = { timeout: 180_000 };
const run = crypto.randomBytes(4).toString('hex');
const seller = { email: `photos.${run}@example.com`, password: 'seller-pass-0001', role: 'seller', name: 'Pia Photos' };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 20, users: [seller] });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

async function post(context, path, data) {
  const cookie = (await context.cookies(shop.base)).find((c) => c.name === 'emporium_csrf');
  const res = await context.request.post(shop.base + path, { data, headers: cookie ? { 'X-CSRF-Token': cookie.value } : {} });
  assert.ok(res.ok(), `POST ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

test('a seller uploads photos in the product form and the product page shows the main one', T, async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  try {
    const page = await context.newPage();
    const watch = watchPage(page);
    await post(context, '/api/auth/login', { email: seller.email, password: seller.password });
    const name = `Sunset Print ${run}`;
    const product = await post(context, '/api/products', {
      sku: `PHOTO-${run}`, name, category: 'consoles', price_cents: 1500, stock: 4,
    });

    await page.goto(`${shop.base}/seller/products`);
    await page.getByRole('button', { name: `Edit ${name}` }).click();
    const dialog = page.getByRole('dialog');
    const items = dialog.locator('[data-testid="image-item"]');
    assert.equal(await items.count(), 0);

    // One picture through the file picker, one dropped on the drop zone.
    await dialog.locator('[data-testid="image-input"]').setInputFiles({ name: 'warm.png', mimeType: 'image/png', buffer: png(900, 700, [255, 140, 40]) });
    await eventually(async () => (await items.count()) === 1, { timeout: 60_000, message: 'the first photo is listed' });
    const dropped = await page.evaluateHandle((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'cool.png', { type: 'image/png' }));
      return transfer;
    }, png(800, 800, [60, 120, 255]).toString('base64'));
    await dialog.locator('[data-testid="image-drop"]').dispatchEvent('drop', { dataTransfer: dropped });
    await eventually(async () => (await items.count()) === 2, { timeout: 60_000, message: 'the dropped photo is listed' });

    const alt = dialog.getByRole('textbox', { name: 'Photo 2 description' });
    await alt.fill('A blue gradient print');
    await alt.press('Tab');
    await dialog.getByRole('button', { name: 'Make photo 2 the main photo' }).click();
    await eventually(async () => (await dialog.getByRole('button', { name: 'Make photo 2 the main photo' }).getAttribute('aria-pressed')) === 'true',
      { message: 'photo 2 is the main photo' });
    await dialog.getByRole('button', { name: 'Move photo 2 earlier' }).click();
    await eventually(async () => (await items.first().getAttribute('data-image-id')) !== null &&
      (await dialog.getByRole('button', { name: 'Make photo 1 the main photo' }).getAttribute('aria-pressed')) === 'true',
    { message: 'the main photo moved first' });
    await screenshot(page, 'images-product-form.png', { fullPage: false });

    const answer = await (await context.request.get(`${shop.base}/api/products/${product.id}`)).json();
    assert.equal(answer.images.length, 2);
    const main = answer.images[0];
    assert.equal(main.is_main, true);
    assert.equal(main.alt, 'A blue gradient print');
    assert.deepEqual([main.width, main.height], [800, 800]);
    assert.match(answer.image_url, new RegExp(`/images/${main.id}/640-`));

    await page.goto(`${shop.base}/products/${product.id}`);
    const picture = page.locator('[data-testid="product-detail"] picture').first();
    await picture.waitFor();
    assert.deepEqual(await picture.locator('source').evaluateAll((s) => s.map((x) => x.type)), ['image/avif', 'image/webp']);
    const img = picture.locator('img');
    assert.equal(await img.getAttribute('fetchpriority'), 'high');
    assert.equal(await img.getAttribute('loading'), 'eager');
    assert.equal(await img.getAttribute('alt'), 'A blue gradient print');
    await imagesSettled(page);
    const shown = await img.evaluate((el) => ({ src: el.currentSrc, width: el.naturalWidth }));
    assert.match(shown.src, new RegExp(`/images/${main.id}/\\d+-[0-9a-f]{16}\\.avif$`), 'Chromium picks the AVIF variant');
    assert.ok(shown.width > 0);
    // The other photo is a lazy thumbnail that shows it on a press.
    const thumbs = page.getByRole('button', { name: /Show photo \d of 2/ });
    assert.equal(await thumbs.count(), 2);
    assert.equal(await thumbs.nth(1).locator('img').getAttribute('loading'), 'lazy');
    await thumbs.nth(1).click();
    await eventually(async () => (await page.locator('[data-testid="product-detail"] .image-card img').getAttribute('alt')) === name,
      { message: 'the second photo is shown' });
    await screenshot(page, 'images-product-page.png');
    assertClean(watch);
  } finally {
    await context.close();
  }
});
