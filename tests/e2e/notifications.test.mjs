// Browser test of the admin pages about outgoing messages (webhooks, the notification send log
// and the event subscribers) against a real `emporium serve` seeded with the games preset.
// No Twilio credentials are set, so order texts stay in the local outbox with status "local".
// Run: node --test tests/e2e/   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  accountMenu,
  apiJson,
  assertClean,
  eventually,
  freePort,
  launchBrowser,
  menuPick,
  notice,
  pickOption,
  screenshot,
  startShop,
  watchPage,
} from './harness.mjs';

const T = { timeout: 120_000 };
const run = crypto.randomBytes(4).toString('hex');
const admin = { email: 'admin@gitgoods.example', password: 'demo password 123' };
const HOOK_URL = 'http://127.0.0.1:9/hook';
const customer = {
  name: 'Mary Jackson',
  email: `mary.${run}@example.com`,
  password: 'wind-tunnel-1958',
  phone: '+15555550123',
  address: { line1: '1 Raffles Place', city: 'Singapore', postal_code: '048616', country: 'SG' },
};

// A webhook receiver that is gone for good: it answers 410, which the shop does not retry by itself.
const gone = { calls: [], server: null, url: '' };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  // The 410 receiver listens on loopback, which a shop refuses as a webhook target unless told.
  shop = await startShop({ preset: 'games', products: 60, args: ['--webhook-private-targets'] });
  gone.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      gone.calls.push({ method: req.method, event: req.headers['x-emporium-event'], body });
      res.writeHead(410, { 'Content-Type': 'text/plain' }).end('gone');
    });
  });
  const port = await freePort(new Set([shop.port, shop.internalPort]));
  await new Promise((resolve) => gone.server.listen(port, '127.0.0.1', resolve));
  gone.url = `http://127.0.0.1:${port}/gone`;
});
after(async () => {
  await browser?.close();
  await shop?.stop();
  await new Promise((resolve) => (gone.server ? gone.server.close(resolve) : resolve()));
});


const cartLink = (page) => page.locator('header [data-testid="cart-button"]');


/** The CSRF cookie's value in a browser context (writes from context.request need it too). */
async function csrf(context) {
  const cookie = (await context.cookies(shop.base)).find((c) => c.name === 'emporium_csrf');
  assert.ok(cookie, 'the emporium_csrf cookie is set');
  return cookie.value;
}

async function getJson(context, path) {
  const res = await context.request.get(shop.base + path);
  assert.equal(res.status(), 200, `GET ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** Goes to an admin section by its tab and waits for the page heading. */
async function adminTab(page, tab, path, heading = tab) {
  await page.getByRole('tab', { name: tab }).click();
  await page.waitForURL((url) => url.pathname === path);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

const noSideScroll = (p) =>
  eventually(() => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
    message: 'no horizontal overflow',
  });

describe('webhooks, notifications and events in the admin area', () => {
  let adminContext, adminPage, adminWatch;
  let customerContext, customerPage, customerWatch, orderId;

  before(async () => {
    adminContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await adminContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: shop.base });
    adminPage = await adminContext.newPage();
    adminWatch = watchPage(adminPage);
    customerContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    customerPage = await customerContext.newPage();
    customerWatch = watchPage(customerPage);
  });
  after(async () => {
    await adminContext?.close();
    await customerContext?.close();
  });

  test('the seeded admin adds a webhook for order.placed, sees its secret once and deletes it', T, async () => {
    const page = adminPage;
    await page.goto(shop.base + '/signin');
    await page.getByRole('textbox', { name: 'Email' }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await menuPick(page, 'Admin');
    await page.waitForURL((url) => url.pathname === '/admin/users');
    await adminTab(page, 'Webhooks', '/admin/webhooks');
    await page.locator('[data-testid="webhooks"][aria-busy="false"]').waitFor();

    // The URL is checked next to the field before anything is sent.
    const url = page.getByRole('textbox', { name: 'Endpoint URL' });
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByText('Enter the endpoint URL.').waitFor();
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    await url.fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByText('Enter a full address starting with http:// or https://.').waitFor();

    // The server says the same about a URL that is not http(s), naming the field.
    const refused = await adminContext.request.post(shop.base + '/api/admin/webhooks', {
      data: { url: 'ftp://example.com/hook' },
      headers: { 'X-CSRF-Token': await csrf(adminContext) },
    });
    assert.equal(refused.status(), 422, await refused.text());
    const { error } = await refused.json();
    assert.equal(error.code, 'validation_failed');
    assert.ok(
      error.details.fields.some((f) => f.field === 'url'),
      `details.fields names url: ${JSON.stringify(error.details)}`,
    );

    await url.fill(HOOK_URL);
    const orderPlaced = page.getByRole('checkbox', { name: /order\.placed/ });
    await orderPlaced.check();
    assert.ok(await orderPlaced.isChecked());
    await page.getByRole('button', { name: 'Add webhook' }).click();

    const dialog = page.getByRole('dialog', { name: 'Webhook added' });
    await dialog.getByText(/it is not shown again/).waitFor();
    const secret = await dialog.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    assert.ok(secret.length >= 16, `the secret is shown (${secret.length} characters)`);
    await dialog.getByText('order.placed', { exact: true }).waitFor();
    await dialog.getByRole('button', { name: 'Copy', exact: true }).click();
    await dialog.getByRole('button', { name: 'Copied', exact: true }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the copy button copies the secret');
    await screenshot(page, 'admin-webhook-secret.png');

    // Shown once: after a reload the secret is nowhere, and the list never holds it.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    const row = page.locator('[data-testid="webhook-row"]', { hasText: HOOK_URL });
    await row.waitFor();
    assert.equal(await page.getByRole('dialog', { name: 'Webhook added' }).count(), 0, 'the secret dialog is gone');
    assert.ok(!(await page.content()).includes(secret), 'the secret left the page');
    const tr = page.locator('tr', { has: row });
    await tr.getByText('order.placed', { exact: true }).waitFor();
    await tr.getByText('Active', { exact: true }).waitFor();
    const listed = await getJson(adminContext, '/api/admin/webhooks');
    const hook = listed.items.find((w) => w.url === HOOK_URL);
    assert.ok(hook, 'the API lists the webhook');
    assert.deepEqual(hook.events, ['order.placed']);
    assert.equal(hook.active, true);
    assert.equal(await row.getAttribute('data-webhook-id'), String(hook.id));
    assert.ok(!JSON.stringify(listed).includes(secret), 'the list never holds the secret');
    await screenshot(page, 'admin-webhooks.png');

    await tr.getByRole('button', { name: `Delete webhook ${HOOK_URL}` }).click();
    const confirm = page.getByRole('alertdialog', { name: `Delete the webhook for ${HOOK_URL}?` });
    await confirm.getByText(/receives no more calls/).waitFor();
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await confirm.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    await notice(page).getByText('The webhook is deleted.').waitFor();
    const left = await getJson(adminContext, '/api/admin/webhooks');
    assert.ok(!left.items.some((w) => w.id === hook.id), 'the API no longer lists it');

    // A second webhook with no box ticked gets every event (it stays, for the retry below).
    await url.fill(gone.url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const second = page.getByRole('dialog', { name: 'Webhook added' });
    const secondSecret = await second.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    await second.getByText('Every event', { exact: true }).waitFor();
    await second.getByRole('button', { name: 'I have stored it' }).click();
    await second.waitFor({ state: 'detached' });
    const goneRow = page.locator('tr', { has: page.locator('[data-testid="webhook-row"]', { hasText: gone.url }) });
    await goneRow.getByText('Every event', { exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(secondSecret), 'closing the dialog drops the secret');
    assert.deepEqual((await getJson(adminContext, '/api/admin/webhooks')).items.find((w) => w.url === gone.url)?.events, []);
    assertClean(adminWatch);
  });

  test('a customer who signed up with a phone places an order', T, async () => {
    const page = customerPage;
    await page.goto(shop.base + '/signup');
    await page.getByRole('heading', { level: 1, name: 'Create your account' }).waitFor();
    await page.getByRole('textbox', { name: 'Full name' }).fill(customer.name);
    await page.getByRole('textbox', { name: 'Email' }).fill(customer.email);
    await page.getByLabel('Password', { exact: true }).fill(customer.password);
    await page.getByRole('textbox', { name: 'Mobile phone (optional)' }).fill(customer.phone);
    await page.getByRole('button', { name: 'Create account' }).click();
    await accountMenu(page).waitFor();
    const profile = await getJson(customerContext, '/api/me');
    assert.equal(profile.phone, customer.phone);
    assert.equal(profile.sms_notifications, true, 'order texts are on once a phone is given');

    // Customers have no way into these pages.
    await page.goto(shop.base + '/admin/notifications');
    await page.locator('[data-testid="forbidden"]').waitFor();

    const catalog = await apiJson(shop, '/api/products?per_page=60');
    const product = catalog.items.find((p) => p.stock >= 5);
    assert.ok(product, 'a product in stock');
    await page.goto(`${shop.base}/products/${product.id}`);
    await page.getByRole('heading', { level: 1, name: product.name, exact: true }).waitFor();
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await notice(page).getByText(`Added 1 × ${product.name} to your cart.`).waitFor();
    await cartLink(page).click();
    await page.waitForURL((url) => url.pathname === '/cart');
    await page.getByRole('button', { name: 'Checkout', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/checkout');
    await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();

    const field = (name) => page.getByRole('textbox', { name, exact: true });
    await eventually(async () => (await field('Mobile phone').inputValue()) === customer.phone, { message: 'phone from the profile' });
    await field('Address line 1').fill(customer.address.line1);
    await field('City').fill(customer.address.city);
    await field('Postal code').fill(customer.address.postal_code);
    const country = page.locator('.v-input', { has: page.getByRole('combobox', { name: 'Country' }) });
    await country.getByRole('combobox', { name: 'Country' }).fill('Singap');
    await pickOption(page, country.locator('.v-field'), 'Singapore', async () =>
      (await country.locator('.v-autocomplete__selection').allTextContents()).some((t) => t.trim() === 'Singapore'),
    );
    await page.getByRole('button', { name: 'Review order' }).click();
    await page.locator('[data-testid="review-ok"]').waitFor();
    await field('Card number').fill('4242 4242 4242 4242');
    await field('Expiry date (MM/YY)').fill('12/34');
    await field('Security code (CVC)').fill('123');
    await page.getByRole('button', { name: /^Place order/ }).click();
    await page.waitForURL((url) => /^\/orders\/\d+$/.test(url.pathname) && url.searchParams.get('placed') === '1');
    orderId = Number(new URL(page.url()).pathname.split('/').pop());
    await page.locator('[data-testid="order-confirmation"]').getByRole('heading', { level: 1, name: 'Thank you for your order!' }).waitFor();
    assertClean(customerWatch);
  });

  test('the admin sees the order text kept in the local outbox, with the number masked', T, async () => {
    assert.ok(orderId, 'the order was placed');
    const page = adminPage;
    await adminTab(page, 'Notifications', '/admin/notifications');
    const table = page.locator('[data-testid="admin-notifications"]');
    const row = page.locator('[data-testid="notification-row"][data-channel="sms"][data-template="order_placed"]');

    // The text is written by the notify subscriber after the order commits: refresh until it is there.
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh', exact: true }).click();
        await page.locator('[data-testid="admin-notifications"][aria-busy="false"]').waitFor();
        return (await row.count()) > 0 && (await row.first().getAttribute('data-status')) === 'local';
      },
      { timeout: 30000, interval: 500, message: 'an order_placed text with status local' },
    );
    const listed = await getJson(adminContext, '/api/admin/notifications?channel=sms&per_page=100');
    const item = listed.items.find((n) => n.template === 'order_placed' && n.status === 'local');
    assert.ok(item, `the API lists the text: ${JSON.stringify(listed.items)}`);
    assert.equal(item.channel, 'sms');
    assert.equal(item.event_type, 'order.placed');
    assert.ok(!item.recipient.includes(customer.phone.slice(2)), `the API masks the number: ${item.recipient}`);

    const shown = page.locator(`[data-testid="notification-row"][data-notification-id="${item.id}"]`);
    const tr = page.locator('tr', { has: shown });
    const recipient = (await tr.locator('[data-testid="notification-recipient"]').textContent()).trim();
    assert.equal(recipient, item.recipient, 'the recipient is shown as the server masked it');
    assert.ok(!recipient.includes(customer.phone) && !recipient.includes(customer.phone.slice(2)), `masked: ${recipient}`);
    assert.match(recipient, /\*/);
    const chip = tr.locator('[data-testid="status-chip"][data-status="local"]');
    await chip.getByText('Kept locally').waitFor();
    assert.equal(await tr.getByRole('button', { name: /^Retry/ }).count(), 0, 'nothing to retry for a kept text');

    // The banner says why texts are not sent and what to set.
    const banner = page.locator('[data-testid="local-outbox-banner"]');
    await banner.getByText(/No Twilio credentials are configured: texts are kept here instead of being sent\./).waitFor();
    for (const name of ['EMPORIUM_TWILIO_ACCOUNT_SID', 'EMPORIUM_TWILIO_AUTH_TOKEN', 'EMPORIUM_TWILIO_FROM']) {
      await banner.getByText(name, { exact: true }).waitFor();
    }

    // The text itself opens below the row, and the button says so to screen readers.
    const toggle = tr.getByRole('button', { name: `Show text of notification #${item.id}` });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    const body = page.locator('[data-testid="notification-body"]');
    await body.waitFor();
    assert.equal((await body.textContent()).trim(), item.body.trim());
    const open = tr.getByRole('button', { name: `Hide text of notification #${item.id}` });
    assert.equal(await open.getAttribute('aria-expanded'), 'true');
    assert.equal(await open.getAttribute('aria-controls'), await body.getAttribute('id'));
    assert.ok(!(await page.content()).includes(customer.phone), 'the full number is nowhere on the page');
    await screenshot(page, 'admin-notifications.png');
    await open.click();
    await body.waitFor({ state: 'detached' });

    // The channel filter asks the server and shows what it answers.
    const count = page.locator('[data-testid="notification-count"]');
    const channel = page.locator('[data-testid="channel-filter"]');
    await pickOption(page, channel.locator('.v-field'), 'Webhook', async () =>
      (await channel.locator('.v-select__selection-text').allTextContents()).includes('Webhook'),
    );
    const hooks = await getJson(adminContext, '/api/admin/notifications?channel=webhook');
    await count.getByText(`${hooks.total} notification${hooks.total === 1 ? '' : 's'}`, { exact: true }).waitFor();
    await page.locator('[data-testid="admin-notifications"][aria-busy="false"]').waitFor();
    assert.equal(await table.locator('[data-testid="notification-row"][data-channel="sms"]').count(), 0, 'no texts under Webhook');
    await pickOption(page, channel.locator('.v-field'), 'SMS', async () =>
      (await channel.locator('.v-select__selection-text').allTextContents()).includes('SMS'),
    );
    await shown.waitFor();

    // Fits a phone screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await noSideScroll(page);
    await page.setViewportSize({ width: 1366, height: 900 });
    assertClean(adminWatch);
  });

  test('a webhook call the receiver refused is sent again with Retry', T, async () => {
    const page = adminPage;
    await page.goto(shop.base + '/admin/notifications');
    await page.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    // The 410 receiver got the order.placed call once; the shop marks it failed and does not retry it.
    await eventually(() => gone.calls.length >= 1, { timeout: 30000, message: 'the webhook call' });
    const first = gone.calls[0];
    assert.equal(first.method, 'POST');
    assert.equal(first.event, 'order.placed');
    assert.equal(JSON.parse(first.body).data.order_id, orderId, 'the call names the order');

    const row = page.locator(`[data-testid="notification-row"][data-channel="webhook"][data-event-type="order.placed"]`);
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh', exact: true }).click();
        await page.locator('[data-testid="admin-notifications"][aria-busy="false"]').waitFor();
        return (await row.count()) > 0 && (await row.first().getAttribute('data-status')) === 'failed';
      },
      { timeout: 30000, interval: 500, message: 'a failed webhook call' },
    );
    const id = await row.first().getAttribute('data-notification-id');
    const tr = page.locator('tr', { has: page.locator(`[data-testid="notification-row"][data-notification-id="${id}"]`) });
    await tr.locator('[data-testid="notification-recipient"]').getByText(gone.url, { exact: true }).waitFor();
    await tr.locator('[data-testid="notification-error"]').getByText(/410/).waitFor();
    await tr.locator('[data-testid="status-chip"][data-status="failed"]').waitFor();

    // The body is the JSON the receiver got, shown indented.
    await tr.getByRole('button', { name: `Show body of notification #${id}` }).click();
    const body = page.locator('[data-testid="notification-body"]');
    assert.deepEqual(JSON.parse(await body.textContent()), JSON.parse(first.body));
    await tr.getByRole('button', { name: `Hide body of notification #${id}` }).click();
    await body.waitFor({ state: 'detached' });

    const calls = gone.calls.length;
    await tr.getByRole('button', { name: `Retry notification #${id}` }).click();
    await notice(page).getByText(`Notification #${id} is queued to be sent again.`).waitFor();
    await tr.locator('[data-testid="status-chip"][data-status="pending"]').getByText('Queued').waitFor();
    assert.equal(await tr.getByRole('button', { name: /^Retry/ }).count(), 0, 'no second retry while queued');
    await eventually(() => gone.calls.length > calls, { timeout: 30000, message: 'the call sent again' });
    await eventually(
      async () => (await getJson(adminContext, '/api/admin/notifications?channel=webhook&status=failed')).items.some((n) => String(n.id) === id),
      { timeout: 30000, interval: 250, message: 'refused again, so failed again' },
    );
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await tr.locator('[data-testid="status-chip"][data-status="failed"]').waitFor();
    await screenshot(page, 'admin-notifications-retry.png');
    assertClean(adminWatch);
  });

  test('the events page lists the notify subscriber and the dead letters', T, async () => {
    const page = adminPage;
    await adminTab(page, 'Events', '/admin/events');
    const subscribers = page.locator('[data-testid="event-subscribers"][aria-busy="false"]');
    await subscribers.locator('[data-testid="subscriber-row"][data-name="notify"]').waitFor();
    const api = await getJson(adminContext, '/api/admin/events/subscribers');
    const names = await subscribers.locator('[data-testid="subscriber-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    assert.deepEqual(names, api.items.map((s) => s.name), 'every subscriber the server reports, in its order');
    const notify = api.items.find((s) => s.name === 'notify');
    assert.ok(notify.last_event_id > 0, 'notify has handled events (the order)');
    assert.equal(typeof notify.backlog, 'number');
    // This shop sends its own texts: the workers card says so and lists no broker queues.
    const workers = page.locator('[data-testid="event-broker"]');
    await workers.getByText('This shop sends its texts and webhook calls itself').waitFor();
    assert.equal(await workers.locator('[data-testid="broker-queue"]').count(), 0);

    const dead = page.locator('[data-testid="dead-letters"][aria-busy="false"]');
    await dead.waitFor();
    const letters = await getJson(adminContext, '/api/admin/events/dead-letters?per_page=25');
    assert.equal(typeof letters.total, 'number');
    if (letters.items.length) {
      await dead.locator(`[data-testid="dead-letter-row"][data-dead-letter-id="${letters.items[0].id}"]`).waitFor();
    } else {
      await dead.getByText('No dead letters: every event was handled.').waitFor();
    }
    assert.equal(await dead.locator('[data-testid="dead-letter-row"]').count(), letters.items.length);
    await screenshot(page, 'admin-events.png', { fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await noSideScroll(page);
    await page.setViewportSize({ width: 1366, height: 900 });
    assertClean(adminWatch);
  });
});
