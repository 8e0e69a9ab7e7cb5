// Every form of the storefront in its error state, on a small phone (360 px) and on a desktop: the
// field hints and errors, alerts and buttons fit where they are shown (harness.mjs layoutProblems),
// and no error text overlaps the fields, labels, buttons or messages around it or is cut off by its
// box (harness.mjs errorTextProblems).
// Run: node --test tests/e2e/forms.test.mjs   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/form-errors-*.png.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assertClean, errorTextProblems, eventually, launchBrowser, layoutProblems, screenshot, startShop, watchPage } from './harness.mjs';

const T = { timeout: 120_000 };
const run = crypto.randomBytes(4).toString('hex');
const seller = { email: `seller.${run}@example.com`, password: 'seller-pass-0001', role: 'seller', name: 'Sam Seller' };
const admin = { email: `admin.${run}@example.com`, password: 'admin-pass-00001', role: 'admin', name: 'Ada Admin' };

const SIZES = [
  { label: 'desktop', options: { viewport: { width: 1366, height: 900 } } },
  { label: 'phone', options: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } },
];

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 40, users: [seller, admin] });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

/** Writes from a context's own request API carry its CSRF cookie, as the page's do. */
async function post(context, path, data) {
  const cookie = (await context.cookies(shop.base)).find((c) => c.name === 'emporium_csrf');
  const headers = cookie ? { 'X-CSRF-Token': cookie.value } : {};
  const res = await context.request.post(shop.base + path, { data, headers });
  assert.ok(res.ok(), `POST ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** Waits for the page to show `texts`, then asserts everything fits and takes a picture. */
async function errorsFit(page, file, texts, { fullPage = true } = {}) {
  for (const text of texts) await page.getByText(text).first().waitFor();
  // Vuetify slides messages in and out: the layout is judged once that has settled (or fails).
  await eventually(
    async () => {
      assert.deepEqual([...(await layoutProblems(page)), ...(await errorTextProblems(page))], []);
      return true;
    },
    { timeout: 5000, message: `${file}: everything fits` },
  );
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, file, { fullPage });
}

test('the error-text check sees an overlapping and a cut-off message', T, async () => {
  // A page of its own (not the shop's): one message drawn over its field, one in a box too small.
  const page = await browser.newPage();
  try {
    await page.setContent(`
      <form style="width: 300px">
        <label for="a">Name</label><input id="a" style="display: block; height: 40px">
        <p class="field-error" style="margin-top: -30px">Enter your name.</p>
        <div style="height: 10px; overflow: hidden"><p class="field-error">Use the international format.</p></div>
      </form>`);
    const problems = await errorTextProblems(page);
    assert.ok(problems.some((p) => /"Enter your name\." overlaps input/.test(p)), problems.join('; '));
    assert.ok(problems.some((p) => /"Use the international format\." is cut off/.test(p)), problems.join('; '));
  } finally {
    await page.close();
  }
});

for (const size of SIZES) {
  describe(`form errors on a ${size.label}`, () => {
    let context, page, watch;
    before(async () => {
      context = await browser.newContext(size.options);
      page = await context.newPage();
      watch = watchPage(page);
    });
    after(async () => {
      await context?.close();
    });

    test('sign-up and sign-in', T, async () => {
      await page.goto(`${shop.base}/signup`);
      await page.getByRole('button', { name: 'Create account' }).click();
      await errorsFit(page, `form-errors-signup-empty-${size.label}.png`, ['Enter your name.', 'Enter your email address.', 'Enter a password.']);
      await page.getByRole('textbox', { name: 'Email' }).fill('not-an-email');
      await page.getByLabel('Password', { exact: true }).fill('short');
      await page.getByRole('textbox', { name: 'Mobile phone (optional)' }).fill('12345');
      await page.getByRole('button', { name: 'Create account' }).click();
      await errorsFit(page, `form-errors-signup-${size.label}.png`, [
        'Enter an email address like name@example.com.',
        'Password must be at least 10 characters.',
        /Use the international format/,
      ]);

      await page.goto(`${shop.base}/signin`);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await errorsFit(page, `form-errors-signin-${size.label}.png`, ['Enter your email address.', 'Enter your password.']);
      assertClean(watch);
    });

    test("the catalog's price filter", T, async () => {
      await page.goto(`${shop.base}/catalog`);
      let form = page;
      if (size.label === 'phone') {
        await page.getByRole('button', { name: /Filters/ }).click();
        form = page.getByRole('dialog', { name: 'Filters' });
      }
      await form.getByRole('spinbutton', { name: 'Min price' }).fill('50');
      await form.getByRole('spinbutton', { name: 'Max price' }).fill('10');
      await form.getByRole('button', { name: 'Apply price' }).click();
      const message = await form.getByRole('alert').textContent();
      assert.ok(message.trim(), 'the price error says what is wrong');
      await errorsFit(page, `form-errors-price-${size.label}.png`, [message.trim()], { fullPage: size.label !== 'phone' });
      assertClean(watch);
    });

    test('the account page', T, async () => {
      await post(context, '/api/auth/signup', { email: `fit.${size.label}.${run}@example.com`, password: 'fitting-password-1', name: 'Fiona Fit' });
      await page.goto(`${shop.base}/account`);
      const phone = page.getByRole('textbox', { name: 'Mobile phone' });
      await phone.waitFor();
      await phone.fill('12345');
      await page.getByRole('textbox', { name: 'Address line 1' }).fill('1 Raffles Place');
      await page.getByRole('textbox', { name: 'Postal code' }).fill('04#616');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await errorsFit(page, `form-errors-account-${size.label}.png`, [
        /Use the international format/,
        'Enter the city, or clear the whole address.',
        'Use at most 16 letters, digits, spaces or dashes.',
      ]);
      assertClean(watch);
    });

    test('checkout', T, async () => {
      const products = await (await context.request.get(`${shop.base}/api/products?per_page=5&sort=popular`)).json();
      const product = products.items.find((p) => p.stock > 0);
      await post(context, '/api/cart/items', { product_id: product.id, quantity: 1 });
      await page.goto(`${shop.base}/checkout`);
      await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
      await page.getByRole('textbox', { name: 'Full name' }).fill('');
      await page.getByRole('textbox', { name: 'Mobile phone' }).fill('12345');
      await page.getByRole('button', { name: 'Review order' }).click();
      await errorsFit(page, `form-errors-checkout-address-${size.label}.png`, [
        "Enter the recipient's name.",
        'Enter the street address.',
        'Enter the city.',
        /Use the international format/,
      ]);
      await page.getByRole('textbox', { name: 'Card number' }).fill('4242 4242 4242 4241');
      await page.getByRole('textbox', { name: 'Expiry date (MM/YY)' }).fill('01/20');
      await page.getByRole('textbox', { name: 'Security code (CVC)' }).fill('1');
      await page.getByRole('button', { name: /^Place order/ }).click();
      await errorsFit(page, `form-errors-checkout-${size.label}.png`, [
        'This card number is not valid. Check the digits.',
        'This card has expired.',
        'Enter the 3 or 4 digits on the back of the card.',
      ]);
      assertClean(watch);
    });

    test("the seller's product form and the admin's token and webhook forms", T, async () => {
      const staff = await browser.newContext(size.options);
      try {
        const staffPage = await staff.newPage();
        const staffWatch = watchPage(staffPage);
        await post(staff, '/api/auth/login', { email: seller.email, password: seller.password });
        await staffPage.goto(`${shop.base}/seller/products`);
        await staffPage.getByRole('button', { name: 'New product' }).click();
        const dialog = staffPage.getByRole('dialog');
        await dialog.getByRole('button', { name: 'Create product' }).click();
        // A dialog: the picture is of the screen, not of the page behind it.
        await errorsFit(staffPage, `form-errors-product-${size.label}.png`, ['Enter the product name.'], { fullPage: false });
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'detached' });

        await staff.clearCookies();
        await post(staff, '/api/auth/login', { email: admin.email, password: admin.password });
        await staffPage.goto(`${shop.base}/admin/webhooks`);
        await staffPage.getByRole('textbox', { name: 'Endpoint URL' }).fill('ftp://example.com/a-rather-long-path/that-goes-on-and-on/and-on');
        await staffPage.getByRole('button', { name: 'Add webhook' }).click();
        await errorsFit(staffPage, `form-errors-webhook-${size.label}.png`, ['Enter a full address starting with http:// or https://.']);

        await staffPage.goto(`${shop.base}/admin/tokens`);
        await staffPage.getByRole('button', { name: 'Issue token' }).click();
        await errorsFit(staffPage, `form-errors-token-${size.label}.png`, ['Enter a note.', 'Choose at least one scope.']);
        assertClean(staffWatch);
      } finally {
        await staff.close();
      }
    });
  });
}
