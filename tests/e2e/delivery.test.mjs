// Browser test of the admin Delivery page against a real `emporium serve` whose seed loaded three
// months of CI runs, deployments and incidents. The page's figures and counts are compared with
// the API's own answer; the charts must have drawn; the period picker, the CSV download and the
// hand correction of an incident's deployment are used as an admin would.
// Run: node --test tests/e2e/delivery.test.mjs   (needs build/emporium, web/dist, /usr/bin/chromium)
// Screenshots go to build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { accountMenu, assertClean, eventually, launchBrowser, menuPick, pickOption, screenshot, startShop, watchPage } from './harness.mjs';

const T = { timeout: 180_000 };
const admin = { email: 'admin@gitgoods.example', password: 'demo password 123' };

let browser, shop;
before(async () => {
  browser = await launchBrowser();
  shop = await startShop({ preset: 'games', products: 60 });
});
after(async () => {
  await browser?.close();
  await shop?.stop();
});

function periodDates(days) {
  const now = new Date();
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

async function getJson(context, path) {
  const res = await context.request.get(shop.base + path);
  assert.equal(res.status(), 200, `GET ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

const summaryFor = (context, days) => {
  const { from, to } = periodDates(days);
  return getJson(context, `/api/admin/delivery/summary?from=${from}&to=${to}`);
};

const figure = (page, key) => page.locator(`[data-testid="figure"][data-key="${key}"]`);
const counts = (page, key) => figure(page, key).getByTestId('figure-counts').innerText();

/** True when a canvas holds any pixel that is not transparent: the chart drew something. */
const drawn = (canvas) =>
  canvas.evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return c.width > 0;
    return false;
  });

describe('the admin Delivery page', () => {
  let context, page, watch;

  before(async () => {
    context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    watch = watchPage(page);
  });
  after(async () => {
    await context?.close();
  });

  test('shows every figure with the counts behind it, as the API computes them', T, async () => {
    await page.goto(shop.base + '/signin');
    await page.getByRole('textbox', { name: 'Email' }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await accountMenu(page).waitFor();
    await menuPick(page, 'Admin');
    await page.getByRole('tab', { name: 'Delivery' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/delivery');
    await page.getByRole('heading', { level: 1, name: 'Delivery' }).waitFor();
    assert.match(await page.title(), /^Delivery · Admin · /);

    const s = await summaryFor(context, 30);
    assert.ok(s.deployment_frequency.deployments > 5, 'the seed loads a history');
    await eventually(async () => (await page.getByTestId('figure').count()) === 6, { message: 'six figure cards' });
    const f = s.deployment_frequency;
    assert.equal(await counts(page, 'frequency'), `${f.deployments} deployments in 30 days`);
    const c = s.change_failure_rate;
    assert.equal(
      await counts(page, 'change-failure'),
      `${c.failed} of ${c.deployments} deployments failed or caused an incident (${c.failed_by_result} failed, ${c.with_incidents} with incidents)`,
    );
    assert.equal(await figure(page, 'change-failure').getByTestId('figure-value').innerText(), `${Math.round(c.rate * 1000) / 10}%`);
    const l = s.lead_time;
    assert.match(await counts(page, 'lead-time'), new RegExp(`^median of ${l.commits} commits in ${l.deployments} deployments · p95 `));
    const r = s.time_to_restore;
    assert.match(await counts(page, 'restore'), new RegExp(`^median of ${r.resolved} resolved incidents? · ${r.open} still open$`));
    const sr = s.success_rate;
    assert.match(await counts(page, 'success'), new RegExp(`^${sr.succeeded} of ${sr.finished} finished runs succeeded`));
    assert.equal(await figure(page, 'flaky').getByTestId('figure-value').innerText(), String(s.flaky_tests.total));

    for (const id of ['deploys-chart', 'runs-chart', 'stages-chart']) {
      const canvas = page.getByTestId(id).locator('canvas');
      await eventually(() => drawn(canvas), { message: `${id} drew` });
      assert.match(await canvas.getAttribute('aria-label'), /chart/i);
    }
    const stageNames = await page.getByTestId('stage-row').allInnerTexts();
    assert.deepEqual(stageNames, s.stages.map((x) => x.name));
    const flaky = await page.getByTestId('flaky-row').evaluateAll((rows) => rows.map((r) => r.dataset.test));
    assert.deepEqual(flaky, s.flaky_tests.items.slice(0, 10).map((x) => x.name));
    await screenshot(page, 'delivery-desktop.png', { fullPage: true });
    assertClean(watch);
  });

  test('the period picker changes every figure and the address', T, async () => {
    await page.getByRole('button', { name: '7 days' }).click();
    await page.waitForURL((url) => url.searchParams.get('days') === '7');
    const s = await summaryFor(context, 7);
    await eventually(async () => (await counts(page, 'frequency')) === `${s.deployment_frequency.deployments} deployments in 7 days`, {
      message: 'the 7-day frequency',
    });
    assert.equal(await counts(page, 'success').then((t) => t.startsWith(`${s.success_rate.succeeded} of ${s.success_rate.finished} `)), true);
    await page.reload();
    await eventually(async () => (await counts(page, 'frequency')).endsWith('in 7 days'), { message: 'the period survives a reload' });
    await page.getByRole('button', { name: '90 days' }).click();
    await eventually(async () => (await counts(page, 'frequency')).endsWith('in 90 days'), { message: 'the 90-day figures' });
    assertClean(watch);
  });

  test('exports the deployments of the period as CSV', T, async () => {
    const { from, to } = periodDates(90);
    const listed = await getJson(context, `/api/admin/delivery/deployments?from=${from}&to=${to}`);
    await page.getByTestId('export').click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-menu').locator('[data-kind="deployments"]').click(),
    ]);
    assert.equal(download.suggestedFilename(), `delivery-deployments-${from}-${to}.csv`);
    const text = fs.readFileSync(await download.path(), 'utf8');
    const lines = text.split('\r\n').filter(Boolean);
    assert.equal(lines[0], 'id,deployment,environment,deployed_at,result,commits,lead_time_p50_seconds,incidents,change_failed');
    assert.equal(lines.length - 1, listed.items.length);
    assert.ok(lines.slice(1).every((line) => /^\d+,seed-deploy-\d+,production,\d{4}-\d\d-\d\dT/.test(line)), lines[1]);
    assertClean(watch);
  });

  test('an incident can be linked to another deployment by hand, and back', T, async () => {
    const row = page.getByTestId('incident-row').first();
    const incident = await row.getAttribute('data-incident');
    const line = page.locator(`tr:has([data-incident="${incident}"])`);
    const select = line.getByTestId('incident-link');
    const field = select.locator('.v-field');
    const { from, to } = periodDates(90);
    const before = (await getJson(context, `/api/admin/delivery/incidents?from=${from}&to=${to}`)).items.find((i) => i.incident === incident);
    assert.match(await select.innerText(), new RegExp(`^${before.deployment} \\(the last before it\\)`));
    await pickOption(page, field, 'No deployment', async () => (await line.getByTestId('link-kind').innerText()) === 'by hand');
    await eventually(async () => {
      const items = (await getJson(context, `/api/admin/delivery/incidents?from=${from}&to=${to}`)).items;
      const mine = items.find((i) => i.incident === incident);
      return mine.link === 'manual' && mine.deployment === null;
    }, { message: 'the link stored as made by hand' });
    const s = await summaryFor(context, 90);
    await eventually(async () => (await counts(page, 'change-failure')).startsWith(`${s.change_failure_rate.failed} of `), {
      message: 'the change failure rate recounted',
    });
    await screenshot(page, 'delivery-incident-by-hand.png');
    await pickOption(page, field, 'The last deployment before it', async () => (await line.getByTestId('link-kind').innerText()) === 'auto');
    await eventually(async () => {
      const items = (await getJson(context, `/api/admin/delivery/incidents?from=${from}&to=${to}`)).items;
      const mine = items.find((i) => i.incident === incident);
      return mine.link === 'auto' && mine.deployment === before.deployment;
    }, { message: 'back to the automatic link' });
    assertClean(watch);
  });

  test('fits a phone screen', T, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { level: 1, name: 'Delivery' }).waitFor();
    await eventually(() => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), {
      message: 'no horizontal overflow',
    });
    await screenshot(page, 'delivery-phone.png', { fullPage: true });
    assertClean(watch);
  });
});
