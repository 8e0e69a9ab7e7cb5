// Browser test of accounts, the seller area and the admin area against a real
// `emporium serve` on loopback, with a seller and an admin made by `emporium user create`.
// Run: node --test tests/e2e/   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BUSY_ANSWER,
  accountMenu,
  apiJson,
  assertClean,
  eventually,
  launchBrowser,
  layoutProblems,
  menuPick,
  money,
  pickOption,
  screenshot,
  startShop,
  watchPage,
} from './harness.mjs';

const T = { timeout: 90_000 };
const run = crypto.randomBytes(4).toString('hex');
const customer = {
  name: 'Grace Hopper',
  email: `grace.${run}@example.com`,
  password: 'cobol-compiler-1959',
  newName: 'Grace Brewster Hopper',
  phone: '+6591234567',
  address: { line1: '1 Raffles Place', city: 'Singapore', postal_code: '048616', country: 'SG' },
};
const seller = { email: `seller.${run}@example.com`, password: 'seller-pass-0001', role: 'seller', name: 'Sam Seller' };
const admin = { email: `admin.${run}@example.com`, password: 'admin-pass-00001', role: 'admin', name: 'Ada Admin' };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 60, users: [seller, admin] });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});


const signInLink = (page) => page.locator('header [data-testid="sign-in-link"]');


async function signIn(page, { email, password }) {
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signOut(page) {
  await menuPick(page, 'Sign out');
  await signInLink(page).waitFor();
  await accountMenu(page).waitFor({ state: 'detached' });
  await page.locator('[data-testid="notice"]').getByText('You are signed out.').waitFor();
}

/** The session's own view of itself: GET /api/me with the page's cookies. */
async function me(page) {
  const res = await page.request.get(shop.base + '/api/me');
  assert.equal(res.status(), 200, `GET /api/me: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** The CSRF cookie's value in a browser context (writes from page.request need it too). */
async function csrf(context) {
  const cookie = (await context.cookies(shop.base)).find((c) => c.name === 'emporium_csrf');
  assert.ok(cookie, 'the emporium_csrf cookie is set');
  return cookie.value;
}

const noSideScroll = (p) =>
  eventually(() => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
    message: 'no horizontal overflow',
  });

describe('customer accounts', () => {
  let context, page, watch, customerId;

  before(async () => {
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => {
    await context?.close();
  });

  test('sign-up checks the fields, then lands signed in', T, async () => {
    await page.goto(shop.base + '/');
    await signInLink(page).click();
    await page.waitForURL((url) => url.pathname === '/signin');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL((url) => url.pathname === '/signup');
    await page.getByRole('heading', { level: 1, name: 'Create your account' }).waitFor();

    // Empty and bad fields are named next to the field, and nothing is sent.
    await page.getByRole('button', { name: 'Create account' }).click();
    const name = page.getByRole('textbox', { name: 'Full name' });
    const email = page.getByRole('textbox', { name: 'Email' });
    const password = page.getByLabel('Password', { exact: true });
    const phone = page.getByRole('textbox', { name: 'Mobile phone (optional)' });
    await page.getByText('Enter your name.').waitFor();
    await page.getByText('Enter your email address.').waitFor();
    await page.getByText('Enter a password.').waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    // The message is tied to its field for screen readers.
    const describedBy = await name.getAttribute('aria-describedby');
    assert.match(await page.locator(`[id="${describedBy}"]`).textContent(), /Enter your name\./);

    await name.fill(customer.name);
    await email.fill(customer.email);
    await password.fill('short');
    await phone.fill('91234567');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Password must be at least 10 characters.').waitFor();
    await page.getByText(/Use the international format/).waitFor();

    await password.fill(customer.password);
    await phone.fill('');
    await page.getByText('Password must be at least 10 characters.').waitFor({ state: 'detached' });
    await screenshot(page, 'signup.png');
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.waitForURL((url) => url.pathname === '/');
    await accountMenu(page).getByText('Grace', { exact: true }).waitFor();
    const profile = await me(page);
    assert.equal(profile.email, customer.email);
    assert.equal(profile.name, customer.name);
    assert.equal(profile.role, 'customer');
    customerId = profile.id;

    // The session is an HttpOnly cookie; nothing is kept in web storage.
    const cookies = await context.cookies(shop.base);
    const session = cookies.find((c) => c.name === 'emporium_session');
    assert.ok(session && session.httpOnly, 'emporium_session is an HttpOnly cookie');
    assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0, 'nothing in web storage');
    assertClean(watch);
  });

  test('the account page edits name and phone, and keeps them after a reload', T, async () => {
    await menuPick(page, 'Account');
    await page.waitForURL((url) => url.pathname === '/account');
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    const name = page.getByRole('textbox', { name: 'Full name' });
    const phone = page.getByRole('textbox', { name: 'Mobile phone' });
    await eventually(async () => (await name.inputValue()) === customer.name, { message: 'name in the form' });
    assert.equal(await page.getByRole('textbox', { name: 'Email' }).inputValue(), customer.email);
    const sms = page.getByRole('checkbox', { name: 'Text me about my orders (SMS)' });
    assert.equal(await sms.isDisabled(), true, 'SMS needs a phone first');

    // A phone number that is not E.164 is refused next to the field.
    await phone.fill('12345');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Use the international format/).waitFor();

    await name.fill(customer.newName);
    await phone.fill(customer.phone);
    // A partly filled address names the missing parts; a whole one is saved.
    await page.getByRole('textbox', { name: 'Address line 1' }).fill(customer.address.line1);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Enter the city, or clear the whole address.').waitFor();
    await page.getByRole('textbox', { name: 'City' }).fill(customer.address.city);
    await page.getByRole('textbox', { name: 'Postal code' }).fill(customer.address.postal_code);
    const country = page.locator('.v-input', { has: page.getByRole('combobox', { name: 'Country' }) });
    await country.getByRole('combobox', { name: 'Country' }).fill('Singap');
    await pickOption(page, country.locator('.v-field'), 'Singapore', async () =>
      (await country.locator('.v-autocomplete__selection').allTextContents()).some((t) => t.trim() === 'Singapore'),
    );
    await eventually(async () => !(await sms.isDisabled()), { message: 'SMS switch enabled by a phone' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('[data-testid="notice"]').getByText('Your profile is saved.').waitFor();

    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await eventually(async () => (await name.inputValue()) === customer.newName, { message: 'new name after reload' });
    assert.equal(await phone.inputValue(), customer.phone);
    await page.locator('[data-testid="account-phone"]').getByText(customer.phone).waitFor();
    await accountMenu(page).getByText('Grace', { exact: true }).waitFor();
    const profile = await me(page);
    assert.equal(profile.name, customer.newName);
    assert.equal(profile.phone, customer.phone);
    assert.equal(profile.sms_notifications, true, 'SMS notices are on once a phone is given');
    assert.deepEqual(
      { line1: profile.address?.line1, city: profile.address?.city, postal_code: profile.address?.postal_code, country: profile.address?.country },
      customer.address,
    );
    assert.equal(profile.address.name, customer.newName, 'the recipient defaults to the profile name');
    assert.equal(await page.getByRole('textbox', { name: 'City' }).inputValue(), customer.address.city);
    await screenshot(page, 'account.png', { fullPage: true });
    assertClean(watch);
  });

  test('sign-out ends the session; pages that need one ask to sign in; sign-in brings the user back', T, async () => {
    await signOut(page);
    assert.equal(page.url(), shop.base + '/', 'signing out of the account page goes home');
    assert.equal((await context.cookies(shop.base)).some((c) => c.name === 'emporium_session' && c.value), false, 'session cookie cleared');

    await page.goto(shop.base + '/account');
    await page.waitForURL((url) => url.pathname === '/signin' && url.searchParams.get('next') === '/account');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await signIn(page, customer);
    await page.waitForURL((url) => url.pathname === '/account');
    await eventually(async () => (await page.getByRole('textbox', { name: 'Full name' }).inputValue()) === customer.newName, {
      message: 'profile after signing in again',
    });
    await accountMenu(page).getByText('Grace', { exact: true }).waitFor();

    // A customer has no seller or admin entries, and those pages answer with a friendly 403.
    await accountMenu(page).click();
    const menu = page.getByRole('menu', { name: 'Account' });
    await menu.getByRole('menuitem', { name: 'Account', exact: true }).waitFor();
    assert.equal(await menu.getByRole('menuitem', { name: 'Seller area' }).count(), 0);
    assert.equal(await menu.getByRole('menuitem', { name: 'Admin' }).count(), 0);
    await page.keyboard.press('Escape');
    await page.goto(shop.base + '/admin/users');
    await page.locator('[data-testid="forbidden"]').getByText('This page is not open to your account').waitFor();
    assert.equal(new URL(page.url()).pathname, '/admin/users', 'the address stays');
    await page.goto(shop.base + '/seller/products');
    await page.locator('[data-testid="forbidden"]').waitFor();

    await signOut(page);
    assertClean(watch);
  });

  test('a wrong password shows the error message', T, async () => {
    watch.expect('/api/auth/login');
    const answer = await fetch(shop.base + '/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: customer.email, password: 'not-the-password' }),
    });
    assert.equal(answer.status, 401);
    const { error } = await answer.json();
    assert.equal(error.code, 'invalid_credentials');

    await page.goto(shop.base + '/signin');
    await signIn(page, { email: customer.email, password: 'still-not-the-password' });
    const alert = page.locator('[data-testid="form-error"]');
    await alert.getByText(error.message).waitFor();
    assert.equal(await alert.getAttribute('role'), 'alert');
    assert.equal(new URL(page.url()).pathname, '/signin', 'stays on the sign-in page');
    assert.equal(await signInLink(page).count(), 1, 'still signed out');
    assertClean(watch);
  });

  describe('a busy shop (503 with Retry-After)', () => {
    // The browser answers sign-up and sign-in with the 503 a shedding shop sends (nothing done,
    // Retry-After: 1) as often as a test needs, then lets the request through to the real server.
    let busyContext, busyPage, busyWatch;
    before(async () => {
      busyContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      busyPage = await busyContext.newPage();
      busyWatch = watchPage(busyPage);
    });
    after(async () => {
      await busyContext?.close();
    });

    test('sign-up waits out two 503s, shows that it is retrying, then succeeds', T, async () => {
      const page = busyPage;
      let calls = 0;
      await page.route('**/api/auth/signup', (route) => (++calls <= 2 ? route.fulfill(BUSY_ANSWER) : route.continue()));
      busyWatch.expect('/api/auth/signup');
      const email = `busy.${run}@example.com`;
      await page.goto(shop.base + '/signup');
      await page.getByRole('textbox', { name: 'Full name' }).fill('Barbara Liskov');
      await page.getByRole('textbox', { name: 'Email' }).fill(email);
      await page.getByLabel('Password', { exact: true }).fill('substitution-1987');
      await page.getByRole('button', { name: 'Create account' }).click();

      // The button says why it is still busy; a live region tells screen readers once per wait.
      await page.locator('[data-testid="busy-text"]').getByText(/^The shop is busy, retrying in [12] s…$/).waitFor();
      const status = page.locator('[data-testid="busy-status"]');
      assert.equal(await status.getAttribute('role'), 'status');
      assert.equal(await status.getAttribute('aria-live'), 'polite');
      await status.getByText(/^The shop is busy\. Trying again in [12] seconds? \(try [23] of 4\)\.$/).waitFor();
      assert.deepEqual(await layoutProblems(page), [], 'the busy button fits a phone');
      await screenshot(page, 'signup-busy-phone.png');

      await page.waitForURL((url) => url.pathname === '/');
      await accountMenu(page).waitFor();
      assert.equal(calls, 3, 'two refused tries, then the one the server answered');
      assert.equal((await me(page)).email, email);
      assertClean(busyWatch);
      await page.unroute('**/api/auth/signup');
    });

    test('sign-in gives up after four tries and says so', T, async () => {
      const page = busyPage;
      await busyContext.clearCookies();
      let calls = 0;
      await page.route('**/api/auth/login', (route) => {
        calls += 1;
        return route.fulfill(BUSY_ANSWER);
      });
      busyWatch.expect('/api/auth/login');
      await page.goto(shop.base + '/signin');
      await signIn(page, { email: `busy.${run}@example.com`, password: 'substitution-1987' });
      const alert = page.locator('[data-testid="form-error"]');
      await alert.getByText('The shop is still busy after 4 tries. Please wait a minute and try again.').waitFor();
      assert.equal(await alert.getAttribute('role'), 'alert');
      assert.equal(calls, 4);
      assert.equal(new URL(page.url()).pathname, '/signin');
      assert.equal(await page.locator('[data-testid="busy-text"]').count(), 0, 'the button is back to normal');
      assertClean(busyWatch);
      await page.unroute('**/api/auth/login');
    });
  });

  describe('seller area', () => {
    let sellerContext, sellerPage, sellerWatch, product;
    const sku = `GG-E2E-${run}`.toUpperCase();
    const productName = `Test Arcade Stick ${run}`;

    before(async () => {
      sellerContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      sellerPage = await sellerContext.newPage();
      sellerWatch = watchPage(sellerPage);
    });
    after(async () => {
      await sellerContext?.close();
    });

    test('a seller made on the command line signs in and creates a product', T, async () => {
      const page = sellerPage;
      await page.goto(shop.base + '/signin');
      await signIn(page, seller);
      await page.waitForURL((url) => url.pathname === '/');
      await menuPick(page, 'Seller area');
      await page.waitForURL((url) => url.pathname === '/seller/products');
      await page.getByRole('heading', { level: 1, name: 'Your products' }).waitFor();
      await page.locator('[data-testid="seller-products"][aria-busy="false"]').waitFor();

      await page.getByRole('button', { name: 'New product' }).click();
      const dialog = page.getByRole('dialog', { name: 'New product' });
      await dialog.waitFor();
      // Required fields are named next to each field.
      await dialog.getByRole('button', { name: 'Create product' }).click();
      await dialog.getByText('Enter the product name.').waitFor();
      await dialog.getByText('Enter a SKU.').waitFor();
      await dialog.getByText('Choose a category.').waitFor();
      await dialog.getByText('Enter a price.').waitFor();
      await dialog.getByText('Enter the stock.').waitFor();

      const categories = await apiJson(shop, '/api/categories');
      await dialog.getByRole('textbox', { name: 'Product name' }).fill(productName);
      await dialog.getByRole('textbox', { name: 'SKU' }).fill(sku);
      const category = dialog.locator('.v-input', { has: page.getByRole('combobox', { name: 'Category' }) });
      await pickOption(page, category.locator('.v-field'), categories[0].name, async () =>
        (await category.locator('.v-select__selection-text').allTextContents()).includes(categories[0].name),
      );
      const price = dialog.getByRole('textbox', { name: 'Price (USD)' });
      await price.fill('12.345');
      await dialog.getByRole('spinbutton', { name: 'Stock' }).fill('7');
      await dialog.getByRole('textbox', { name: 'Description' }).fill('A sturdy stick for fighting games, made for the e2e test.');
      await dialog.getByRole('button', { name: 'Create product' }).click();
      await dialog.getByText(/Enter the price like 12\.99/).waitFor();
      await price.fill('12.34');
      await dialog.getByRole('button', { name: 'Create product' }).click();
      await dialog.waitFor({ state: 'detached' });
      await page.locator('[data-testid="notice"]').getByText(`“${productName}” is now for sale.`).waitFor();

      const row = page.locator(`[data-testid="seller-row"][data-sku="${sku}"]`);
      await row.waitFor();
      product = { id: Number(await row.getAttribute('data-product-id')) };
      const stored = await apiJson(shop, `/api/products/${product.id}`);
      assert.equal(stored.name, productName);
      assert.equal(stored.price_cents, 1234, 'dollars on screen, cents to the API');
      assert.equal(stored.stock, 7);
      assert.equal(stored.category, categories[0].slug);
      assert.equal(stored.seller_id, (await me(page)).id, 'owned by the seller');
      await page.locator('tr', { has: row }).getByText(money(1234)).waitFor();
      await screenshot(page, 'seller-products.png');

      // It is on sale: its public product page shows it.
      await row.getByRole('link', { name: productName }).click();
      await page.waitForURL((url) => url.pathname === `/products/${product.id}`);
      await page.getByRole('heading', { level: 1, name: productName }).waitFor();
      await eventually(async () => (await page.locator('[data-testid="product-price"]').textContent()).trim() === money(1234), {
        message: 'price on the product page',
      });
      await page.waitForLoadState('networkidle'); // the related products finish loading before the next page
      assertClean(sellerWatch);
    });

    test('the seller edits the price and archives the product', T, async () => {
      const page = sellerPage;
      await page.goto(shop.base + '/seller/products');
      const row = page.locator(`[data-testid="seller-row"][data-sku="${sku}"]`);
      const tr = page.locator('tr', { has: row });
      await tr.getByRole('button', { name: `Edit ${productName}` }).click();
      const dialog = page.getByRole('dialog', { name: `Edit ${productName}` });
      const price = dialog.getByRole('textbox', { name: 'Price (USD)' });
      await eventually(async () => (await price.inputValue()) === '12.34', { message: 'price in the edit form' });
      await price.fill('15.99');
      await dialog.getByRole('button', { name: 'Save changes' }).click();
      await dialog.waitFor({ state: 'detached' });
      await tr.getByText(money(1599)).waitFor();
      assert.equal((await apiJson(shop, `/api/products/${product.id}`)).price_cents, 1599);

      await tr.getByRole('button', { name: `Archive ${productName}` }).click();
      const confirm = page.getByRole('alertdialog', { name: `Archive ${productName}?` });
      await confirm.getByRole('button', { name: 'Archive' }).click();
      await confirm.waitFor({ state: 'detached' });
      await row.waitFor({ state: 'detached' });
      await page.locator('[data-testid="notice"]').getByText(`“${productName}” is archived.`).waitFor();
      const gone = await fetch(`${shop.base}/api/products/${product.id}`);
      assert.equal(gone.status, 404, 'archived products leave the shop');
      assertClean(sellerWatch);
    });
  });

  describe('admin area', () => {
    let adminContext, adminPage, adminWatch;

    before(async () => {
      adminContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      await adminContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: shop.base });
      adminPage = await adminContext.newPage();
      adminWatch = watchPage(adminPage);
    });
    after(async () => {
      await adminContext?.close();
    });

    test("an admin sees the users and makes the customer a seller", T, async () => {
      const page = adminPage;
      await page.goto(shop.base + '/signin');
      await signIn(page, admin);
      await page.waitForURL((url) => url.pathname === '/');
      await menuPick(page, 'Admin');
      await page.waitForURL((url) => url.pathname === '/admin/users');
      await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
      await page.locator('[data-testid="admin-users"][aria-busy="false"] [data-testid="user-row"]').first().waitFor();

      const listed = await (await page.request.get(`${shop.base}/api/admin/users?per_page=100`)).json();
      assert.ok(listed.total >= 3, 'the seller, the admin and the customer are listed');
      const shown = await page.locator('[data-testid="user-email"]').allTextContents();
      for (const u of listed.items.slice(0, shown.length)) assert.ok(shown.includes(u.email), `${u.email} shown as the server sent it`);
      assert.ok(!shown.includes(customer.email), 'emails stay masked');

      const row = page.locator('tr', { has: page.locator(`[data-testid="user-row"][data-user-id="${customerId}"]`) });
      const select = row.locator('[data-testid="role-select"]');
      await select.getByText('Customer').waitFor();
      const confirm = page.getByRole('alertdialog');
      await pickOption(page, select.locator('.v-field'), 'Seller', () => confirm.isVisible());
      await confirm.getByText(/signed out on every device/).waitFor();
      await confirm.getByRole('button', { name: 'Make seller' }).click();
      await confirm.waitFor({ state: 'detached' });
      await select.getByText('Seller').waitFor();
      const after = await (await page.request.get(`${shop.base}/api/admin/users?per_page=100`)).json();
      assert.equal(after.items.find((u) => u.id === customerId).role, 'seller');

      // An admin's own role cannot be changed here.
      const self = page.locator('tr', { has: page.locator(`[data-testid="user-row"][data-user-id="${(await me(page)).id}"]`) });
      await self.getByText('You cannot change your own role.').waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
      await eventually(() => page.evaluate(() => window.scrollY === 0), { message: 'page scrolled to the top' });
      await screenshot(page, 'admin-users.png');
      assertClean(adminWatch);
    });

    test('an admin issues a staff token with analytics:read and sees it listed', T, async () => {
      const page = adminPage;
      await page.getByRole('tab', { name: 'Staff tokens' }).click();
      await page.waitForURL((url) => url.pathname === '/admin/tokens');
      await page.getByRole('heading', { level: 1, name: 'Staff tokens' }).waitFor();

      await page.getByRole('button', { name: 'Issue token' }).click();
      await page.getByText('Enter a note.').waitFor();
      await page.getByText('Choose at least one scope.').waitFor();

      const note = `Weekly sales report ${run}`;
      await page.getByRole('textbox', { name: 'What is it for?' }).fill(note);
      await page.getByRole('checkbox', { name: /analytics:read/ }).check();
      await page.getByRole('button', { name: 'Issue token' }).click();

      const dialog = page.getByRole('dialog', { name: 'Token issued' });
      await dialog.getByText(/shown only once/).waitFor();
      const token = await dialog.getByRole('textbox', { name: 'Staff token' }).inputValue();
      assert.ok(token.length >= 16, 'the token is shown');
      await dialog.getByRole('button', { name: 'Copy', exact: true }).click();
      await dialog.getByRole('button', { name: 'Copied', exact: true }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'the copy button copies the token');
      await dialog.getByRole('button', { name: 'I have copied it' }).click();
      await dialog.waitFor({ state: 'detached' });

      const row = page.locator('[data-testid="token-row"]', { hasText: note });
      await row.waitFor();
      const tr = page.locator('tr', { has: row });
      await tr.getByText('analytics:read', { exact: true }).waitFor();
      const listed = await (await page.request.get(`${shop.base}/api/admin/tokens`)).json();
      const item = listed.items.find((t) => t.note === note);
      assert.ok(item, 'the API lists the token');
      assert.deepEqual(item.scopes, ['analytics:read']);
      assert.ok(!JSON.stringify(listed).includes(token), 'the list never holds the secret');
      assert.ok(!(await page.content()).includes(token), 'the secret left the page');
      await screenshot(page, 'admin-tokens.png');
      assertClean(adminWatch);
    });
  });

  describe('on a phone (390x844)', () => {
    let phone, phonePage, phoneWatch;
    before(async () => {
      phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
      phonePage = await phone.newPage();
      phoneWatch = watchPage(phonePage);
    });
    after(async () => {
      await phone?.close();
    });

    test('the account page fits the screen; the new seller role shows', T, async () => {
      const page = phonePage;
      await page.goto(shop.base + '/account');
      await page.waitForURL((url) => url.pathname === '/signin');
      await signIn(page, customer);
      await page.waitForURL((url) => url.pathname === '/account');
      await eventually(async () => (await page.getByRole('textbox', { name: 'Full name' }).inputValue()) === customer.newName, {
        message: 'profile on the phone',
      });
      await page.locator('[data-testid="account-summary"]').getByText('Seller', { exact: true }).waitFor();
      await noSideScroll(page);
      await screenshot(page, 'account-phone.png', { fullPage: true });

      await page.getByRole('button', { name: /^Account menu/ }).click();
      await page.getByRole('menu', { name: 'Account' }).getByRole('menuitem', { name: 'Seller area' }).click();
      await page.waitForURL((url) => url.pathname === '/seller/products');
      await page.locator('[data-testid="seller-products"][aria-busy="false"]').waitFor();
      await noSideScroll(page);
      assertClean(phoneWatch);
    });
  });
});
