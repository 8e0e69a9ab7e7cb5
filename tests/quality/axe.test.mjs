// axe-core 4.14 on every route of the page's router, in both demo shops, on a desktop and a phone
// screen: zero violations of any impact. The routes are read from the running page, so a page
// added later is checked too; one whose address needs a value this test cannot make up (a new
// `:param`) fails with a message saying where to add it.
// Run: node --test tests/quality/axe.test.mjs   (needs build/emporium and web/dist, /usr/bin/chromium)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  apiJson,
  axeViolations,
  contextApi,
  currentRouteName,
  describeViolations,
  eventually,
  launchBrowser,
  makePng,
  idle,
  reportDir,
  routerRoutes,
  settled,
  signIn,
  staff,
  startShop,
  watchPage,
} from './quality.mjs';

const T = { timeout: 30 * 60_000 };
// 'both' (the default, `make test-quality`): every route on both screens in both shops. 'split'
// (`make test`, to spare the cores it shares): each shop opens half the routes on the desktop screen
// and the other half on the phone, the other shop the other way round, so every route is still
// checked on both screens and in both shops' themes, and every open state below as always.
const SCREENS = process.env.QUALITY_AXE_SCREENS || 'both';
assert.ok(['both', 'split'].includes(SCREENS), 'QUALITY_AXE_SCREENS: both or split');
const VIEWPORTS = {
  desktop: { viewport: { width: 1366, height: 900 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * Who visits a route: shoppers' and guest pages a guest, pages for signed-in people the seeded
 * seller, role pages someone with the first of their roles. Public pages are seen by a guest and
 * by the seller (the header differs). Role pages are also opened by the seller when the seller
 * lacks the role, which shows the "no access" page in their place.
 */
function visitorsOf(route) {
  const { meta } = route;
  if (meta.guest) return [{ who: 'guest' }];
  if (meta.roles) {
    const who = meta.roles.includes('seller') ? 'seller' : 'admin';
    const visits = [{ who }];
    if (!meta.roles.includes('seller')) visits.push({ who: 'seller', expect: 'forbidden' });
    return visits;
  }
  if (meta.auth) return [{ who: 'seller' }];
  return [{ who: 'guest' }, { who: 'seller' }];
}

/** A concrete address for a route path, or null when it has a parameter this test has no value for. */
function addressOf(route, samples) {
  if (/^\/:pathMatch/.test(route.path)) return '/no/such/page';
  let missing = false;
  const address = route.path.replace(/:(\w+)(\([^)]*\))?[*?+]?/g, (_, param) => {
    const value = samples[`${route.path.split('/')[1]}.${param}`];
    if (value === undefined) missing = true;
    return String(value);
  });
  return missing ? null : address;
}

/** Waits until Vuetify has finished sliding messages in (axe judges the colours as shown at rest). */
function transitionsDone(page) {
  return eventually(
    () => page.evaluate(() => !document.querySelector('[class*="-transition-enter-active"], [class*="-transition-leave-active"]')),
    { timeout: 5000, message: 'transitions to end' },
  );
}

/** States of the pages that only a click shows (menus, panels, notices, forms in error); `open` clicks and waits for it. */
function openStates(productAddress) {
  return [
    {
      name: 'categories menu',
      viewport: 'desktop',
      who: 'guest',
      address: '/',
      open: async (page) => {
        await page.getByRole('button', { name: 'Categories' }).click();
        await page.getByRole('navigation', { name: 'Categories' }).getByRole('link').first().waitFor();
      },
    },
    {
      name: 'account menu',
      viewport: 'desktop',
      who: 'admin',
      address: '/',
      open: async (page) => {
        await page.locator('[data-testid="account-menu"]').click();
        await page.getByRole('menu', { name: 'Account' }).getByRole('menuitem').first().waitFor();
      },
    },
    {
      name: 'shop menu',
      viewport: 'phone',
      who: 'seller',
      address: '/',
      open: async (page) => {
        await page.getByRole('button', { name: 'Open categories menu' }).click();
        await page.getByRole('dialog', { name: 'Shop menu' }).getByRole('link').first().waitFor();
      },
    },
    {
      name: 'filters with a price error',
      viewport: 'phone',
      who: 'guest',
      address: '/catalog',
      open: async (page) => {
        await page.getByRole('button', { name: /Filters/ }).click();
        const sheet = page.getByRole('dialog', { name: 'Filters' });
        await sheet.getByRole('spinbutton', { name: 'Min price' }).fill('50');
        await sheet.getByRole('spinbutton', { name: 'Max price' }).fill('10');
        await sheet.getByRole('button', { name: 'Apply price' }).click();
        await sheet.getByRole('alert').waitFor();
      },
    },
    {
      // The seller's product form with its photos section holding a photo (uploaded here).
      name: 'product form with a photo',
      viewport: 'desktop',
      who: 'seller',
      address: '/seller/products',
      open: async (page) => {
        await page.getByRole('button', { name: /^Edit / }).first().click();
        const dialog = page.getByRole('dialog');
        await dialog.locator('[data-testid="image-input"]').setInputFiles({
          name: 'photo.png',
          mimeType: 'image/png',
          buffer: makePng(480, 360, [200, 90, 40]),
        });
        await dialog.locator('[data-testid="image-item"] img').first().waitFor();
      },
    },
    {
      name: 'a slow request opened as a waterfall',
      viewport: 'phone',
      who: 'admin',
      address: '/admin/slow-requests',
      open: async (page) => {
        const first = page.locator('[data-testid="slow-request"]').first();
        await first.getByRole('button').first().click();
        await first.locator('[data-testid="waterfall-row"]').first().waitFor();
      },
    },
    {
      name: 'sign-up with every field in error',
      viewport: 'phone',
      who: 'guest',
      address: '/signup',
      open: async (page) => {
        await page.getByRole('textbox', { name: 'Email' }).fill('not-an-email');
        await page.getByRole('textbox', { name: 'Mobile phone (optional)' }).fill('12345');
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.getByText('Enter your name.').waitFor();
        await transitionsDone(page);
      },
    },
    {
      name: 'checkout with the address in error',
      viewport: 'phone',
      who: 'seller',
      address: '/checkout',
      open: async (page) => {
        await page.getByRole('textbox', { name: 'Full name' }).fill('');
        await page.getByRole('textbox', { name: 'Mobile phone' }).fill('12345');
        await page.getByRole('button', { name: 'Review order' }).click();
        await page.getByText("Enter the recipient's name.").waitFor();
        await transitionsDone(page);
      },
    },
    {
      name: 'new product form in error',
      viewport: 'desktop',
      who: 'seller',
      address: '/seller/products',
      open: async (page) => {
        await page.getByRole('button', { name: 'New product' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Create product' }).click();
        await page.getByText('Enter the product name.').waitFor();
        await transitionsDone(page);
      },
    },
    {
      name: 'token form in error',
      viewport: 'desktop',
      who: 'admin',
      address: '/admin/tokens',
      open: async (page) => {
        await page.getByRole('button', { name: 'Issue token' }).click();
        await page.getByText('Choose at least one scope.').waitFor();
        await transitionsDone(page);
      },
    },
    {
      name: 'added to the cart',
      viewport: 'desktop',
      who: 'guest',
      address: productAddress,
      open: async (page) => {
        await page.getByRole('button', { name: 'Add to cart' }).click();
        await page.locator('[data-testid="notice"]').getByText(/^Added /).waitFor();
      },
    },
  ];
}

for (const [presetIndex, preset] of ['games', 'grocery'].entries()) {
  describe(`axe on every route (${preset} preset)`, () => {
    let shop;
    const contexts = {};

    before(async () => {
      // As in lighthouse.test.mjs: a busy test machine must not turn pictures into 503s.
      // The most popular products have photos (the sample product page among them), so the
      // <picture> markup of cards and the product page is checked too.
      shop = await startShop({ preset, products: 1000, args: ['--max-queue-wait-ms', '2000'], seedArgs: ['--photos', '3'] });
      for (const viewport of Object.keys(VIEWPORTS)) {
        contexts[viewport] = {};
        for (const who of ['guest', 'seller', 'admin']) {
          const context = await browser.newContext(VIEWPORTS[viewport]);
          if (who !== 'guest') await signIn(context, shop.base, staff(preset)[who]);
          contexts[viewport][who] = context;
        }
      }
    });
    after(async () => {
      for (const byWho of Object.values(contexts)) for (const c of Object.values(byWho)) await c.close();
      await shop?.stop();
    });

    test(`no violations of any impact, on a desktop and a phone screen${SCREENS === 'split' ? ' (routes split between them)' : ''}`, T, async () => {
      const products = await apiJson(shop, '/api/products?sort=popular&per_page=1');
      const seller = contexts.desktop.seller;
      // The seller's cart holds a product, so the cart and checkout pages show their forms.
      await contextApi(seller, shop.base, 'POST', '/api/cart/items', { product_id: products.items[0].id, quantity: 1 });
      const sellerOrders = await contextApi(seller, shop.base, 'GET', '/api/seller/orders?per_page=1');
      assert.ok(sellerOrders.items.length, 'the seed gave seller1 an order');
      // `<first path segment>.<param>` -> a value that exists in this shop.
      const samples = { 'products.id': products.items[0].id, 'orders.id': sellerOrders.items[0].id };

      const probe = await contexts.desktop.guest.newPage();
      await probe.goto(shop.base + '/');
      await settled(probe, 'home');
      const routes = (await routerRoutes(probe)).filter((r) => !r.redirect);
      assert.ok(routes.length > 10, `the router lists its routes (${routes.length})`);
      const problems = [];
      // A route is opened at its own address unless another route owns that address (the "no access"
      // page shares the catch-all path with "not found"): such a one is reached through the visits
      // that expect it, and the coverage check below makes sure it was.
      const addresses = new Map();
      for (const route of routes) {
        const address = addressOf(route, samples);
        if (address === null) {
          problems.push(`route ${route.name} (${route.path}) has a parameter with no sample value: add one to \`samples\` in ${path.basename(import.meta.filename)}`);
        } else {
          addresses.set(route, address);
        }
      }
      const owners = await probe.evaluate(
        (list) => list.map((a) => document.querySelector('#app').__vue_app__.config.globalProperties.$router.resolve(a).name),
        [...addresses.values()],
      );
      [...addresses.keys()].forEach((route, i) => owners[i] !== route.name && addresses.delete(route));
      await probe.close();

      const covered = new Set();
      for (const [screen, [viewport, byWho]] of Object.entries(contexts).entries()) {
        for (const [index, [route, address]] of [...addresses].entries()) {
          if (SCREENS === 'split' && (index + presetIndex) % 2 !== screen) continue;
          for (const visit of visitorsOf(route)) {
            const where = `${preset} ${viewport} ${visit.who} ${address}`;
            const page = await byWho[visit.who].newPage();
            const watch = watchPage(page);
            try {
              await page.goto(shop.base + address);
              await settled(page, where);
              const shown = await currentRouteName(page);
              const expected = visit.expect || route.name;
              if (shown !== expected) problems.push(`${where}: shows route ${shown}, expected ${expected}`);
              covered.add(shown);
              problems.push(...describeViolations(where, await axeViolations(page)));
              problems.push(...watch.take().map((p) => `${where}: ${p}`));
            } finally {
              await page.close();
            }
          }
        }
      }

      // The pages' menus, panels, notices and forms in error, open.
      for (const state of openStates(`/products/${samples['products.id']}`)) {
        const where = `${preset} ${state.viewport} ${state.who} ${state.address} (${state.name})`;
        const page = await contexts[state.viewport][state.who].newPage();
        const watch = watchPage(page);
        try {
          await page.goto(shop.base + state.address);
          await settled(page, where);
          await state.open(page);
          // What the click set off (a list reloading after an upload, say) ends before axe judges it.
          await idle(page, where);
          problems.push(...describeViolations(where, await axeViolations(page)));
          problems.push(...watch.take().map((p) => `${where}: ${p}`));
        } finally {
          await page.close();
        }
      }

      const named = routes.map((r) => r.name).filter(Boolean);
      const missed = named.filter((n) => !covered.has(n));
      fs.mkdirSync(reportDir, { recursive: true });
      fs.writeFileSync(path.join(reportDir, `axe-${preset}.txt`), problems.length ? problems.join('\n') + '\n' : 'no violations\n');
      assert.deepEqual(missed, [], 'every named route was shown and checked');
      assert.deepEqual(problems, [], `axe violations or page errors (also in build/quality/axe-${preset}.txt)`);
    });
  });
}
