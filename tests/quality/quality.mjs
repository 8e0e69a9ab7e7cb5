// Helpers of the quality checks: the routes the page's own router serves, signing in as the seeded
// staff, waiting until a page has settled, axe-core in the page, and Lighthouse runs on Debian's
// chromium. Shops and the playwright browser come from the browser tests' harness.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { launch as launchChrome } from 'chrome-launcher';
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import { pageFunctions } from 'lighthouse/core/lib/page-functions.js';
import { eventually, repoRoot } from '../e2e/harness.mjs';

export * from '../e2e/harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The seeded demo shop's password and staff accounts (see `emporium seed`). */
export const DEMO_PASSWORD = 'demo password 123';
export const SHOP_DOMAIN = { games: 'gitgoods.example', grocery: 'gomart.example' };
export const staff = (preset) => ({
  seller: `seller1@${SHOP_DOMAIN[preset]}`,
  admin: `admin@${SHOP_DOMAIN[preset]}`,
});

/** Where the quality reports go (a Markdown table of the Lighthouse scores, axe findings). */
export const reportDir = path.join(repoRoot, 'build', 'quality');

/**
 * Every route of the page's router, read from the running page (so routes added later are
 * checked without touching this test): [{ name, path, meta, redirect }].
 */
export async function routerRoutes(page) {
  return page.evaluate(() => {
    const router = document.querySelector('#app').__vue_app__.config.globalProperties.$router;
    return router.getRoutes().map((r) => ({ name: r.name, path: r.path, meta: { ...r.meta }, redirect: Boolean(r.redirect) }));
  });
}

/** The name of the route the page shows now. */
export function currentRouteName(page) {
  return page.evaluate(() => document.querySelector('#app').__vue_app__.config.globalProperties.$router.currentRoute.value.name);
}

/** Signs `context` in as `email` through the API (the session and CSRF cookies land in the context). */
export async function signIn(context, base, email) {
  const res = await context.request.post(`${base}/api/auth/login`, { data: { email, password: DEMO_PASSWORD } });
  if (res.status() !== 200) throw new Error(`sign-in as ${email}: HTTP ${res.status()} ${await res.text()}`);
}

/** A JSON API call made with the context's cookies (and its CSRF token for writes). */
export async function contextApi(context, base, method, apiPath, data) {
  const cookies = await context.cookies(base);
  const csrf = cookies.find((c) => c.name === 'emporium_csrf');
  const res = await context.request.fetch(`${base}${apiPath}`, {
    method,
    data,
    headers: csrf && method !== 'GET' ? { 'X-CSRF-Token': csrf.value } : {},
  });
  if (!res.ok()) throw new Error(`${method} ${apiPath}: HTTP ${res.status()} ${await res.text()}`);
  return res.status() === 204 ? null : res.json();
}

/**
 * Waits until the page has mounted, its first route has resolved, and nothing on it is loading any more
 * (no aria-busy region, no placeholder, no Vuetify loader): what axe judges is the page at rest.
 */
export function idle(page, message) {
  return eventually(
    () =>
      page.evaluate(() => {
        const app = document.querySelector('#app');
        if (!app || !app.__vue_app__ || !document.querySelector('main')?.children.length) return false;
        const router = app.__vue_app__.config.globalProperties.$router;
        if (!router.currentRoute.value.matched.length) return false; // still on its way to the first page
        const busy = document.querySelector(
          '[aria-busy="true"], .skeleton, .v-skeleton-loader, .v-progress-linear--active, .v-progress-circular, .v-btn--loading, .v-data-table--loading',
        );
        return !busy;
      }),
    { timeout: 30000, message: `${message} to settle` },
  );
}

/** idle(), with the parts that load only near the screen loaded too. */
export async function settled(page, message) {
  await idle(page, message);
  // Parts far down a page load when they come near the screen: scroll past them once (and wait two
  // frames, in which the browser tells the page what came into view), back to the top, and wait
  // for what that asked for.
  await page.evaluate(async () => {
    const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    window.scrollTo(0, document.documentElement.scrollHeight);
    await frames();
    window.scrollTo(0, 0);
    await frames();
  });
  await idle(page, message);
}

/** axe-core's violations on the page as shown now: [{ id, impact, help, nodes: [{ target, summary }] }]. */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
}

/** One line per failing node, for assertion messages. */
export function describeViolations(where, violations) {
  return violations.flatMap((v) => v.nodes.map((n) => `${where}: [${v.impact}] ${v.id} (${v.help}) at ${n.target}: ${n.summary}`));
}

// ---- Lighthouse ----

export const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];

/** Debian's chromium for Lighthouse, with the flags the browser tests use (see STACK-NOTES). */
export function launchLighthouseChrome() {
  return launchChrome({
    chromePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    chromeFlags: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Lighthouse's CPU benchmark (its `benchmarkIndex`) of this host now, run in a page of `browser`. */
export async function hostBenchmark(browser) {
  const page = await browser.newPage();
  try {
    return Math.round(await page.evaluate(`(${pageFunctions.computeBenchmarkIndex.toString()})()`));
  } finally {
    await page.close();
  }
}

// Lighthouse's phone emulation slows the CPU 4x, a factor meant for a host in its "high-end
// desktop" class (benchmark index 1500-2000; lighthouse docs/throttling.md, "Calibrating the CPU
// slowdown"); on a slower host it says to lower the factor, or the emulated phone is slower than
// its target. This shared machine's index moves between about 600 and 2900 with its load, so the
// factor follows the index, against the low end of that class: 4 x index / 1500, never above
// Lighthouse's 4 nor under 1. See phoneRun for how a run's factor is checked.
export const REFERENCE_BENCHMARK = 1500;
export function phoneCpuSlowdown(benchmarkIndex) {
  return Math.min(4, Math.max(1, Math.round((40 * benchmarkIndex) / REFERENCE_BENCHMARK) / 10));
}

/**
 * One Lighthouse run of `url` with Lighthouse's own mobile or desktop settings; on mobile the CPU
 * slowdown is `cpuSlowdown` instead of 4 when given (see phoneCpuSlowdown):
 * { scores: {category: 0-100}, metrics: {...}, failing: [audit ids with details], benchmarkIndex, cpuSlowdown, lhr }.
 */
export async function lighthouseRun(chrome, url, formFactor, cpuSlowdown) {
  const flags = { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: CATEGORIES };
  if (formFactor === 'mobile' && cpuSlowdown) flags.throttling = { cpuSlowdownMultiplier: cpuSlowdown };
  let lhr;
  // A run that Lighthouse itself could not record (NO_NAVSTART, NO_FCP on a starved machine)
  // has no scores at all: it is run again, twice at most.
  for (let attempt = 1; ; attempt++) {
    lhr = (await lighthouse(url, flags, formFactor === 'desktop' ? desktopConfig : undefined)).lhr;
    if (!lhr.runtimeError) break;
    if (attempt === 3) throw new Error(`Lighthouse could not audit ${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  }
  const scores = {};
  for (const id of CATEGORIES) scores[id] = Math.round((lhr.categories[id].score ?? 0) * 100);
  const a = lhr.audits;
  const metric = (id) => Math.round(a[id].numericValue);
  const failing = [];
  for (const id of CATEGORIES) {
    for (const ref of lhr.categories[id].auditRefs) {
      const audit = a[ref.id];
      if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
        failing.push(`${ref.id} (${audit.score}${audit.displayValue ? `, ${audit.displayValue}` : ''})`);
      }
    }
  }
  return {
    scores,
    metrics: {
      FCP: metric('first-contentful-paint'),
      LCP: metric('largest-contentful-paint'),
      TBT: metric('total-blocking-time'),
      CLS: a['cumulative-layout-shift'].numericValue,
      SI: metric('speed-index'),
    },
    failing,
    benchmarkIndex: Math.round(lhr.environment.benchmarkIndex),
    cpuSlowdown: lhr.configSettings.throttling.cpuSlowdownMultiplier,
    lhr,
  };
}

// Runs per phone audit at most; see phoneRun.
const PHONE_ATTEMPTS = Math.max(1, Number.parseInt(process.env.QUALITY_PHONE_ATTEMPTS || '4', 10));

/**
 * A phone run of `url` on the slowdown the host called for while it ran: the slowdown comes from a
 * benchmark taken just before the run (in `browser`), and the run counts only when Lighthouse's
 * own benchmark index of that run asks for about the same (within 0.5); otherwise the load changed
 * meanwhile and the run is made again with the slowdown the run measured, four times at most
 * (QUALITY_PHONE_ATTEMPTS: `make test`, which holds performance to a floor far below 95, allows
 * two), after which the last run counts.
 */
export async function phoneRun(chrome, browser, url) {
  let slowdown = phoneCpuSlowdown(await hostBenchmark(browser));
  for (let attempt = 1; ; attempt++) {
    const run = await lighthouseRun(chrome, url, 'mobile', slowdown);
    const wanted = phoneCpuSlowdown(run.benchmarkIndex);
    if (Math.abs(wanted - slowdown) <= 0.5 || attempt >= PHONE_ATTEMPTS) return run;
    slowdown = wanted;
  }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}
