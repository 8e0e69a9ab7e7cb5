// Browser test of the storefront against a real, seeded `emporium serve` on loopback.
// Run: node --test tests/e2e/   (needs build/emporium, web/dist built into it, /usr/bin/chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BUSY_ANSWER,
  apiJson,
  assertClean,
  eventually,
  imagesSettled,
  launchBrowser,
  money,
  screenshot,
  startShop,
  watchPage,
} from './harness.mjs';

const T = { timeout: 90_000 };
const PER_PAGE = 24; // what the catalog page asks for

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** What the catalog page shows right now: busy flag, cards and the count line. */
function catalogView(page) {
  return page.evaluate(() => {
    const section = document.querySelector('[data-testid="catalog-results"]');
    if (!section) return null;
    return {
      busy: section.getAttribute('aria-busy') === 'true',
      cards: [...section.querySelectorAll('[data-testid="product-card"]')].map((e) => ({
        id: Number(e.dataset.productId),
        category: e.dataset.category,
        price: Number(e.dataset.priceCents),
        text: e.textContent,
      })),
      count: document.querySelector('[data-testid="result-count"]')?.textContent.trim() ?? '',
    };
  });
}

/** The API's answer for the same query the catalog page sends. */
function apiPage(shop, params) {
  const qs = new URLSearchParams({ ...params, per_page: String(PER_PAGE) });
  return apiJson(shop, `/api/products?${qs}`);
}

/** Polls until the catalog is idle and shows exactly `expected.items`, in order. */
function catalogShows(page, expected, message) {
  const ids = expected.items.map((p) => p.id);
  return eventually(
    async () => {
      const view = await catalogView(page);
      assert.ok(view, 'no catalog results section');
      assert.equal(view.busy, false, 'catalog still loading');
      assert.deepEqual(view.cards.map((c) => c.id), ids);
      assert.match(view.count, new RegExp(`\\b${expected.total}\\b`), `count line "${view.count}" lacks total ${expected.total}`);
      return view;
    },
    { message },
  );
}

function urlParams(page) {
  return new URL(page.url()).searchParams;
}


describe('Git Goods storefront (games preset)', () => {
  let shop, context, page, watch, store, categories, bigCategory;

  before(async () => {
    shop = await startShop({ preset: 'games', products: 300 });
    store = await apiJson(shop, '/api/store');
    categories = await apiJson(shop, '/api/categories');
    bigCategory = [...categories].sort((a, b) => b.product_count - a.product_count)[0];
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => {
    await context?.close();
    await shop?.stop();
  });

  test('home page shows the branding, category tiles and featured products', T, async () => {
    assert.ok(store.name, '/api/store has a name');
    await page.goto(shop.base + '/');
    const header = page.locator('header').first();
    await header.getByRole('link', { name: new RegExp(store.name, 'i') }).waitFor();
    await header.getByText(store.logo_text || store.name, { exact: true }).waitFor();
    await page.getByRole('heading', { level: 1, name: store.name }).waitFor();
    await eventually(async () => (await page.title()).includes(store.name), { message: `title with "${store.name}"` });

    assert.ok(categories.length > 0, 'the seed made categories');
    const tiles = page.locator('[data-testid="category-tile"]');
    await tiles.first().waitFor();
    assert.equal(await tiles.count(), categories.length);
    await tiles.filter({ hasText: categories[0].name }).first().waitFor();

    const featured = await apiJson(shop, '/api/products?sort=popular&per_page=8');
    assert.ok(featured.items.length > 0, 'the seed made products');
    const section = page.locator('[data-testid="featured"]');
    await section.locator('[data-testid="product-card"]').first().waitFor();
    await eventually(
      async () => (await section.locator('[data-testid="product-card"]').count()) === featured.items.length,
      { message: 'all featured cards' },
    );
    await section.getByRole('img', { name: featured.items[0].name, exact: true }).first().waitFor();
    // New arrivals load when they come near the screen.
    const newest = page.locator('[data-testid="newest"]');
    await newest.scrollIntoViewIfNeeded();
    const newestApi = await apiJson(shop, '/api/products?sort=newest&per_page=8');
    await eventually(async () => (await newest.locator('[data-testid="product-card"]').count()) === newestApi.items.length, {
      message: 'all new arrivals',
    });
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'home-desktop.png');
    assertClean(watch);
  });

  test('header search finds a product by a word of its name', T, async () => {
    // A product whose name yields a search term the API ranks on its first page.
    const popular = await apiJson(shop, '/api/products?sort=popular&per_page=30');
    let pick = null;
    for (const product of popular.items) {
      const words = product.name.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 4);
      const terms = [...words.sort((a, b) => b.length - a.length), product.name];
      for (const term of terms) {
        const answer = await apiPage(shop, { q: term, sort: 'relevance', page: '1' });
        if (answer.items.some((p) => p.id === product.id)) {
          pick = { product, term, answer };
          break;
        }
      }
      if (pick) break;
    }
    assert.ok(pick, 'no product could be found through the search API');

    await page.goto(shop.base + '/');
    const box = page.getByRole('searchbox', { name: 'Search products' });
    await box.fill(pick.term);
    await box.press('Enter');
    await page.waitForURL((url) => url.pathname === '/catalog' && url.searchParams.get('q') === pick.term);
    await catalogShows(page, pick.answer, `search results for "${pick.term}"`);
    const card = page.locator(`[data-testid="catalog-results"] [data-testid="product-card"][data-product-id="${pick.product.id}"]`);
    await card.getByText(pick.product.name, { exact: true }).waitFor();
    await page.getByRole('heading', { level: 1, name: new RegExp(pick.term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) }).waitFor();
    await screenshot(page, 'catalog-search.png');
    assertClean(watch);
  });

  test('category filter shows only that category', T, async () => {
    await page.goto(shop.base + '/catalog');
    await page.locator(`[data-testid="category-filter"][data-slug="${bigCategory.slug}"]`).click();
    await page.waitForURL((url) => url.searchParams.get('category') === bigCategory.slug);
    const expected = await apiPage(shop, { category: bigCategory.slug, sort: 'popular', page: '1' });
    assert.equal(expected.total, bigCategory.product_count, 'category product_count matches the filtered total');
    const view = await catalogShows(page, expected, `category ${bigCategory.slug}`);
    assert.ok(view.cards.length > 0);
    for (const c of view.cards) assert.equal(c.category, bigCategory.slug);
    await page.getByRole('heading', { level: 1, name: bigCategory.name }).waitFor();
    assertClean(watch);
  });

  test('sorting by price ascending orders the cards by price', T, async () => {
    await page.goto(`${shop.base}/catalog?category=${bigCategory.slug}`);
    await page.locator('[data-testid="catalog-results"][aria-busy="false"] [data-testid="product-card"]').first().waitFor();
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption({ label: 'Price: low to high' });
    await page.waitForURL((url) => url.searchParams.get('sort') === 'price_asc');
    assert.equal(urlParams(page).get('category'), bigCategory.slug, 'sorting keeps the category');
    const expected = await apiPage(shop, { category: bigCategory.slug, sort: 'price_asc', page: '1' });
    const view = await catalogShows(page, expected, 'price ascending');
    const prices = view.cards.map((c) => c.price);
    assert.deepEqual(prices, [...prices].sort((a, b) => a - b), 'prices ascend');
    // The prices shown to people match the data, formatted as money.
    assert.ok(view.cards[0].text.includes(money(expected.items[0].price_cents, expected.items[0].currency)));
    assertClean(watch);
  });

  test('paging goes to page 2 and back restores page 1', T, async () => {
    const base = { category: bigCategory.slug, sort: 'price_asc' };
    const first = await apiPage(shop, { ...base, page: '1' });
    assert.ok(first.total > PER_PAGE, `category ${bigCategory.slug} has more than one page (${first.total})`);
    const second = await apiPage(shop, { ...base, page: '2' });
    await page.goto(`${shop.base}/catalog?category=${bigCategory.slug}&sort=price_asc`);
    await catalogShows(page, first, 'page 1');
    await page.getByRole('navigation', { name: 'Result pages' }).getByRole('link', { name: /page 2(?!\d)/i }).click();
    await page.waitForURL((url) => url.searchParams.get('page') === '2');
    assert.equal(urlParams(page).get('category'), bigCategory.slug);
    assert.equal(urlParams(page).get('sort'), 'price_asc');
    await catalogShows(page, second, 'page 2');
    await page.goBack();
    await page.waitForURL((url) => !url.searchParams.has('page') && url.searchParams.get('category') === bigCategory.slug);
    await catalogShows(page, first, 'page 1 after going back');
    await page.goForward();
    await page.waitForURL((url) => url.searchParams.get('page') === '2');
    await catalogShows(page, second, 'page 2 after going forward');
    assertClean(watch);
  });

  test('price filter (dollars on screen, cents in the URL) keeps results in range', T, async () => {
    const all = await apiJson(shop, `/api/products?category=${bigCategory.slug}&sort=price_asc&per_page=100`);
    const prices = all.items.map((p) => p.price_cents);
    const lo = Math.floor(prices[Math.floor(prices.length / 4)] / 100);
    const hi = Math.ceil(prices[Math.floor((prices.length * 3) / 4)] / 100);
    await page.goto(`${shop.base}/catalog?category=${bigCategory.slug}&sort=price_asc`);
    await page.locator('[data-testid="catalog-results"][aria-busy="false"] [data-testid="product-card"]').first().waitFor();
    await page.getByRole('spinbutton', { name: 'Min price' }).fill(String(lo));
    await page.getByRole('spinbutton', { name: 'Max price' }).fill(String(hi));
    await page.getByRole('button', { name: 'Apply price' }).click();
    await page.waitForURL((url) => url.searchParams.get('min_price') === String(lo * 100) && url.searchParams.get('max_price') === String(hi * 100));
    assert.equal(urlParams(page).get('category'), bigCategory.slug);
    const expected = await apiPage(shop, { category: bigCategory.slug, min_price: lo * 100, max_price: hi * 100, sort: 'price_asc', page: '1' });
    assert.ok(expected.total > 0, 'the price range holds products');
    const view = await catalogShows(page, expected, 'price range');
    for (const c of view.cards) {
      assert.equal(c.category, bigCategory.slug);
      assert.ok(c.price >= lo * 100 && c.price <= hi * 100, `price ${c.price} in [${lo * 100}, ${hi * 100}]`);
    }
    await screenshot(page, 'catalog-filtered.png');
    assertClean(watch);
  });

  test('product page shows name, price, image, stock and details', T, async () => {
    const view = await catalogView(page);
    assert.ok(view && view.cards.length, 'cards from the previous step');
    const id = view.cards[0].id;
    await page.locator(`[data-testid="product-card"][data-product-id="${id}"]`).click();
    await page.waitForURL((url) => url.pathname === `/products/${id}`);
    const product = await apiJson(shop, `/api/products/${id}`);

    await page.getByRole('heading', { level: 1, name: product.name, exact: true }).waitFor();
    const unit = product.attributes && product.attributes.unit && product.attributes.unit !== 'each' ? ` / ${product.attributes.unit}` : '';
    const price = page.locator('[data-testid="product-price"]');
    await eventually(async () => (await price.textContent()).trim() === money(product.price_cents, product.currency) + unit, {
      message: 'price text',
    });
    const img = page.locator('[data-testid="product-detail"]').getByRole('img', { name: product.name, exact: true });
    await img.waitFor();
    await eventually(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), { message: 'product image loaded' });
    const stock = (await page.locator('[data-testid="stock-state"]').textContent()).trim();
    if (product.stock <= 0) assert.equal(stock, 'Out of stock');
    else if (product.stock <= 5) assert.equal(stock, `Only ${product.stock} left`);
    else assert.equal(stock, 'In stock');
    // In stock: "Add to cart" works; sold out: the button says so and is disabled.
    const cartButton = page.locator('[data-testid="add-to-cart-button"]');
    assert.equal((await cartButton.textContent()).trim(), product.stock > 0 ? 'Add to cart' : 'Out of stock');
    assert.equal(await cartButton.isDisabled(), product.stock <= 0);
    const catLink = page.locator('[data-testid="product-category"]');
    assert.match(await catLink.getAttribute('href'), new RegExp(`category=${product.category}`));
    for (const value of Object.values(product.attributes || {}).slice(0, 3)) {
      if (typeof value === 'string' || typeof value === 'number') {
        await page.locator('[data-testid="attributes"]').getByText(String(value), { exact: true }).first().waitFor();
      }
    }
    assert.ok((await page.title()).includes(product.name));
    await screenshot(page, 'product.png');
    assertClean(watch);
  });

  test('unknown product and unknown route show the 404 page', T, async () => {
    watch.expect('/api/products/987654321');
    const res = await page.goto(shop.base + '/products/987654321');
    assert.equal(res.status(), 200, 'the web page itself is served for client routes');
    await page.locator('[data-testid="not-found"]').getByText('Product not found').waitFor();

    await page.goto(shop.base + '/no/such/page');
    await page.locator('[data-testid="not-found"]').getByText('Page not found').waitFor();
    await page.getByRole('link', { name: 'Back to the shop' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.getByRole('heading', { level: 1, name: store.name }).waitFor();
    assertClean(watch);
  });

  test('a busy shop: a catalog read answered 503 is tried again after Retry-After, and the page says so', T, async () => {
    // The browser answers the first catalog read with the 503 a shedding shop sends, and lets the
    // next one through to the real server.
    let calls = 0;
    const isList = (url) => url.pathname === '/api/products' && url.searchParams.get('category') === bigCategory.slug;
    await page.route(isList, (route) => {
      calls += 1;
      if (calls > 1) return route.continue();
      return route.fulfill(BUSY_ANSWER);
    });
    watch.expect(`category=${bigCategory.slug}`);
    try {
      await page.goto(`${shop.base}/catalog?category=${bigCategory.slug}`);
      const busy = page.locator('[data-testid="busy-notice"]');
      await busy.getByText(/The shop is busy, retrying in [12] s…/).waitFor();
      const expected = await apiPage(shop, { category: bigCategory.slug, sort: 'popular', page: '1' });
      await catalogShows(page, expected, 'catalog after the retry');
      await busy.getByText(/The shop is busy/).waitFor({ state: 'hidden' });
      assert.equal(calls, 2, 'one refused read, one retry');
      assert.equal(await page.locator('[data-testid="catalog-error"]').count(), 0, 'no error shown');
      assertClean(watch);
    } finally {
      await page.unroute(isList);
    }
  });

  test("a shopper page's products are asked for while the app still loads, once", T, async () => {
    // The page is drawn only once the shop's branding (/api/store) has arrived. Held back until
    // the page's first read has gone out, it shows that read was sent before the page was drawn;
    // the page then takes that answer instead of asking again.
    const product = (await apiJson(shop, '/api/products?sort=popular&per_page=1')).items[0];
    const visits = [
      { address: '/', read: '/api/products?sort=popular&per_page=8', shows: page.locator('[data-testid="featured"] [data-testid="product-card"]').first() },
      {
        address: `/catalog?category=${bigCategory.slug}&sort=price_asc`,
        read: `/api/products?category=${bigCategory.slug}&sort=price_asc&page=1&per_page=${PER_PAGE}`,
        shows: page.locator('[data-testid="catalog-results"] [data-testid="product-card"]').first(),
      },
      { address: `/products/${product.id}`, read: `/api/products/${product.id}`, shows: page.getByRole('heading', { level: 1, name: product.name }) },
    ];
    for (const visit of visits) {
      let release;
      const held = new Promise((resolve) => (release = resolve));
      const isStore = (url) => url.pathname === '/api/store';
      await page.route(isStore, async (route) => {
        await held;
        await route.continue();
      });
      const reads = [];
      const onRequest = (req) => {
        const url = new URL(req.url());
        if (url.pathname.startsWith('/api/products') && !url.pathname.endsWith('.svg')) reads.push(url.pathname + url.search);
      };
      page.on('request', onRequest);
      try {
        const navigation = page.goto(shop.base + visit.address, { waitUntil: 'commit' });
        await eventually(() => reads.includes(visit.read), { message: `${visit.read} sent while /api/store is held (${visit.address})` });
        release();
        await navigation;
        await visit.shows.waitFor();
        assert.equal(reads.filter((r) => r === visit.read).length, 1, `${visit.address} asked for ${visit.read} once: ${reads.join(', ')}`);
      } finally {
        release();
        page.off('request', onRequest);
        await page.unroute(isStore);
      }
    }
    assertClean(watch);
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

    const noSideScroll = (p) =>
      eventually(() => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
        message: 'no horizontal overflow',
      });

    test('home fits the screen and the menu lists the categories', T, async () => {
      await phonePage.goto(shop.base + '/');
      await phonePage.getByRole('heading', { level: 1, name: store.name }).waitFor();
      await phonePage.locator('[data-testid="featured"] [data-testid="product-card"]').first().waitFor();
      await phonePage.getByRole('searchbox', { name: 'Search products' }).waitFor();
      await noSideScroll(phonePage);
      await screenshot(phonePage, 'home-phone.png');

      await phonePage.getByRole('button', { name: 'Open categories menu' }).click();
      const drawer = phonePage.getByRole('dialog', { name: 'Shop menu' });
      await drawer.getByRole('link', { name: bigCategory.name }).click();
      await phonePage.waitForURL((url) => url.pathname === '/catalog' && url.searchParams.get('category') === bigCategory.slug);
      assertClean(phoneWatch);
    });

    test('catalog shows two columns and filters in a sheet', T, async () => {
      await phonePage.goto(`${shop.base}/catalog?category=${bigCategory.slug}`);
      const expected = await apiPage(shop, { category: bigCategory.slug, sort: 'popular', page: '1' });
      await catalogShows(phonePage, expected, 'phone catalog');
      const boxes = await phonePage.locator('[data-testid="catalog-results"] [data-testid="product-card"]').evaluateAll((els) =>
        els.slice(0, 2).map((e) => e.getBoundingClientRect().toJSON()),
      );
      assert.equal(Math.round(boxes[0].top), Math.round(boxes[1].top), 'two cards side by side');
      assert.ok(boxes[0].width < 200, 'cards fit two per row');
      await noSideScroll(phonePage);
      await screenshot(phonePage, 'catalog-phone.png');

      await phonePage.getByRole('button', { name: /Filters/ }).click();
      await phonePage.getByRole('spinbutton', { name: 'Min price' }).waitFor();
      await phonePage.getByRole('button', { name: 'Close filters' }).click();
      await phonePage.getByRole('spinbutton', { name: 'Min price' }).waitFor({ state: 'hidden' });
      assertClean(phoneWatch);
    });
  });
});

describe('GoMart storefront (grocery preset)', () => {
  let shop, context, page, watch, store;

  before(async () => {
    shop = await startShop({ preset: 'grocery', products: 120 });
    store = await apiJson(shop, '/api/store');
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => {
    await context?.close();
    await shop?.stop();
  });

  test('home carries the GoMart branding', T, async () => {
    assert.equal(store.preset, 'grocery');
    await page.goto(shop.base + '/');
    await page.getByRole('heading', { level: 1, name: store.name }).waitFor();
    await eventually(async () => (await page.title()) === store.name, { message: `title "${store.name}"` });
    await page.locator('[data-testid="category-tile"]').first().waitFor();
    await page.locator('[data-testid="featured"] [data-testid="product-card"]').first().waitFor();
    // The theme comes from /api/store: the hero is painted with its primary colour.
    if (store.theme && store.theme.primary) {
      const painted = await page.evaluate(() => getComputedStyle(document.querySelector('.hero')).backgroundColor);
      const hex = store.theme.primary.replace('#', '');
      const rgb = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ');
      assert.equal(painted, `rgb(${rgb})`);
    }
    await screenshot(page, 'home-grocery.png');
    assertClean(watch);
  });

  test('a product sold by weight shows its price per kg', T, async () => {
    let kg = null;
    for (let p = 1; !kg && p <= 20; p++) {
      const answer = await apiJson(shop, `/api/products?per_page=100&page=${p}`);
      kg = answer.items.find((x) => x.attributes && x.attributes.unit === 'kg');
      if (answer.items.length < 100) break;
    }
    assert.ok(kg, 'the grocery seed has products sold per kg (attributes.unit == "kg")');
    await page.goto(`${shop.base}/products/${kg.id}`);
    await page.getByRole('heading', { level: 1, name: kg.name, exact: true }).waitFor();
    await eventually(
      async () => (await page.locator('[data-testid="product-price"]').textContent()).trim() === `${money(kg.price_cents, kg.currency)} / kg`,
      { message: 'price "/ kg"' },
    );
    await imagesSettled(page);
    assertClean(watch);
  });
});
