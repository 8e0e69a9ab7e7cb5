// Helpers for the browser tests: run a seeded `emporium serve` on loopback, launch
// Debian's Chromium through playwright-core, watch a page for console errors and
// failed requests, and poll for conditions (no fixed sleeps anywhere).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binary = path.resolve(repoRoot, process.env.EMPORIUM_BIN || 'build/emporium');
export const screenshotDir = path.join(repoRoot, 'build', 'screenshots');

/** Retries `fn` until it returns a value other than false/undefined without throwing. */
export async function eventually(fn, { timeout = 15000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value !== false && value !== undefined) return value;
      last = new Error('still false');
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const err = new Error(`timed out waiting for ${message}: ${last && last.message}`);
      err.cause = last;
      throw err;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A free TCP port in 20000-32000 (below the ephemeral range, see STACK-NOTES). */
export async function freePort(taken = new Set()) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(port)) continue;
    const ok = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port found in 20000-32000');
}

/** The environment every `emporium` command of a test shop runs with (a fixed test PII key). */
function shopEnv() {
  const env = { ...process.env, EMPORIUM_PII_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' };
  delete env.EMPORIUM_PORT;
  delete env.EMPORIUM_INTERNAL_PORT;
  delete env.EMPORIUM_DATA_DIR;
  return env;
}

/** Makes an account with `emporium user create` (the command line, as an operator would). */
export function createUser(dataDir, { email, password, role, name }) {
  const args = ['user', 'create', '--email', email, '--password', password, '--role', role, '--data-dir', dataDir];
  if (name) args.push('--name', name);
  const run = spawnSync(binary, args, { env: shopEnv(), encoding: 'utf8', timeout: 60000 });
  if (run.status !== 0) {
    throw new Error(`user create --role ${role} failed (status ${run.status}): ${run.stderr || run.stdout || run.error}`);
  }
}

/**
 * Seeds a fresh data dir with a preset, makes the given `users` with the command line,
 * and starts `emporium serve` on it with any extra `args` (`seedArgs` go to the seed); resolves once
 * /readyz is 200.
 */
export async function startShop({ preset, products = 300, users = [], args = [], seedArgs = [] }) {
  if (!fs.existsSync(binary)) throw new Error(`${binary} not found: build the server first (or set EMPORIUM_BIN)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `emporium-e2e-${preset}-`));
  const env = shopEnv();

  const seed = spawnSync(binary, ['seed', '--preset', preset, '--products', String(products), ...seedArgs, '--data-dir', dataDir], {
    env,
    encoding: 'utf8',
    timeout: 120000,
  });
  if (seed.status !== 0) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`seed --preset ${preset} failed (status ${seed.status}): ${seed.stderr || seed.stdout || seed.error}`);
  }
  try {
    for (const user of users) createUser(dataDir, user);
  } catch (e) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }

  // The pages are what is tested, on a machine the other suites load (compilers on both cores):
  // there the default 250 ms queue wait sheds a page's request with 503 "overloaded" now and then
  // (load shedding has tests of its own), so the shop waits up to 2 s for a worker, as the
  // quality suites' shops do.
  if (!args.includes('--max-queue-wait-ms')) args = [...args, '--max-queue-wait-ms', '2000'];
  // freePort only finds a port free now: another test's server may take it before this one binds
  // it. This one then exits saying so and starts again on new ports; until it has, the other server
  // may answer /readyz too, so the shop is ready when /healthz names this process.
  for (let attempt = 1; ; attempt++) {
    const shop = await spawnServer(dataDir, env, args, preset);
    let outcome;
    try {
      outcome = await eventually(
        async () => {
          if (shop.exitInfo()) return 'exited';
          const internal = `http://127.0.0.1:${shop.internalPort}`;
          const ready = await fetch(`${internal}/readyz`, { signal: AbortSignal.timeout(2000) });
          if (ready.status !== 200) return false;
          const health = await fetch(`${internal}/healthz`, { signal: AbortSignal.timeout(2000) });
          return health.status === 200 && (await health.json()).pid === shop.pid && 'ready';
        },
        { timeout: 60000, interval: 200, message: `GET /readyz on port ${shop.internalPort}` },
      );
    } catch (e) {
      await shop.stop();
      throw e;
    }
    if (outcome === 'ready') return shop;
    const retry = attempt < 3 && shop.log.some((line) => line.includes('Address already in use'));
    await shop.stop({ keepData: retry });
    if (!retry) throw new Error(`server exited early (${JSON.stringify(shop.exitInfo())}):\n${shop.log.slice(-30).join('\n')}`);
  }
}

/** `emporium serve` on dataDir on two free ports; the shop object the tests use (stop() removes dataDir). */
async function spawnServer(dataDir, env, args, preset) {
  const ports = new Set();
  const port = await freePort(ports);
  const internalPort = await freePort(ports);
  const log = [];
  const proc = spawn(
    binary,
    ['serve', '--data-dir', dataDir, '--port', String(port), '--internal-port', String(internalPort), ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk) => {
    log.push(...String(chunk).split('\n').filter(Boolean));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  // 'close', not 'exit': the server's last lines (why it stopped) are in the log by then.
  const exited = new Promise((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });
  return {
    preset,
    dataDir,
    port,
    internalPort,
    pid: proc.pid,
    base: `http://127.0.0.1:${port}`,
    log,
    exitInfo: () => exitInfo,
    async stop({ keepData = false } = {}) {
      if (!exitInfo) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(timer);
      }
      if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON from the shop's public API (the test's own view of the data, to compare with the page). */
export async function apiJson(shop, pathAndQuery) {
  const res = await fetch(shop.base + pathAndQuery);
  if (!res.ok) throw new Error(`GET ${pathAndQuery}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Debian's Chromium driven by playwright-core. Playwright refuses a --user-data-dir
 * argument with launch(); it gives each launch a fresh temporary profile of its own
 * (removed on close), which is what the flag was for.
 */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
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

/**
 * Records console errors, uncaught page errors, failed requests and HTTP error
 * answers of a page. `expect(urlPart)` allows one error answer the test provokes on purpose.
 */
export function watchPage(page) {
  const problems = [];
  const expected = [];
  const isExpected = (url) => expected.some((part) => url.includes(part));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = (msg.location() && msg.location().url) || '';
    if (/Failed to load resource/.test(msg.text()) && isExpected(where)) return;
    problems.push(`console error: ${msg.text()} ${where}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Each new document the main frame starts loading. A request the old document had in flight is
  // cancelled by the browser when it unloads (a test's page.goto while the page still loads); that
  // is not a fault of the page, unlike a request that fails while its document is still showing.
  let documents = 0;
  const startedIn = new WeakMap();
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) documents += 1;
    else startedIn.set(req, documents);
  });
  page.on('requestfailed', (req) => {
    const aborted = /ERR_ABORTED/.test(req.failure()?.errorText || '');
    // An image or favicon whose page moved on (new results, another page) is cancelled, not failed.
    const passive = ['image', 'other', 'media', 'font'].includes(req.resourceType());
    if (aborted && passive) return;
    if (aborted && startedIn.has(req) && startedIn.get(req) < documents) return;
    problems.push(`request failed: ${req.method()} ${req.url()} ${req.failure() && req.failure().errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400 || isExpected(res.url())) return;
    // The answer's error code, when it comes before the test reads the problems, says why.
    const at = problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`) - 1;
    res
      .text()
      .then((body) => (problems[at] += ` ${body.slice(0, 200)}`))
      .catch(() => {});
  });
  return {
    problems,
    /** Hands over the problems seen so far and starts a fresh list. */
    take() {
      return problems.splice(0, problems.length);
    },
    expect(urlPart) {
      expected.push(urlPart);
    },
  };
}

/** Waits until every image inside the viewport has loaded (for screenshots and alt/image checks). */
export async function imagesSettled(page) {
  await page.waitForFunction(() =>
    [...document.images]
      .filter((img) => {
        const r = img.getBoundingClientRect();
        return r.width > 0 && r.bottom > 0 && r.top < window.innerHeight;
      })
      .every((img) => img.complete && img.naturalWidth > 0),
  );
}

export async function screenshot(page, name, opts = {}) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await imagesSettled(page);
  await page.screenshot({ path: path.join(screenshotDir, name), ...opts });
}

/**
 * Picks `optionName` from a Vuetify select (`field` is its .v-field) until `done()` holds.
 * A busy machine can let a click land while the menu is still opening; then it tries again.
 */
export async function pickOption(page, field, optionName, done, message = `option "${optionName}"`) {
  await eventually(
    async () => {
      if (await done()) return true;
      const option = page.getByRole('option', { name: optionName, exact: true });
      if (!(await option.isVisible())) await field.click({ timeout: 5000 });
      await option.click({ timeout: 5000 });
      await eventually(done, { timeout: 5000, message });
      return true;
    },
    { timeout: 30000, interval: 200, message },
  );
}

/** Same display the page uses for money: integer cents + ISO currency, en-US. */
export function money(cents, currency = 'USD') {
  const f = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  return f.format(cents / 10 ** f.resolvedOptions().maximumFractionDigits);
}

/** Fails the test if the page logged console errors or had failed requests since the last call. */
export function assertClean(watch) {
  assert.deepEqual(watch.take(), [], 'console errors or failed requests');
}

/** The header's account menu button. */
export const accountMenu = (page) => page.locator('header [data-testid="account-menu"]');

/** The page's notice (snackbar). */
export const notice = (page) => page.locator('[data-testid="notice"]');

/** Opens the header's account menu and picks an entry. */
export async function menuPick(page, name) {
  await accountMenu(page).click();
  await page.getByRole('menu', { name: 'Account' }).getByRole('menuitem', { name, exact: true }).click();
}

/**
 * What does not fit in the page as shown now, in words (empty when all fits): field hints and
 * errors whose lines run into each other or out of their field, alerts and buttons whose text
 * spills, and a page that scrolls sideways. Checked on every form's error states at phone and
 * desktop widths.
 */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const shown = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const name = (el) => el.textContent.trim().replace(/\s+/g, ' ').slice(0, 50);
    for (const m of document.querySelectorAll('.v-messages__message')) {
      if (!shown(m)) continue;
      const style = getComputedStyle(m);
      const lineHeight = parseFloat(style.lineHeight);
      const fontSize = parseFloat(style.fontSize);
      if (Number.isFinite(lineHeight) && lineHeight < fontSize * 1.2) {
        out.push(`cramped lines (${lineHeight}px lines for ${fontSize}px text): "${name(m)}"`);
      }
      const field = m.closest('.v-input');
      const r = m.getBoundingClientRect();
      const box = field ? field.getBoundingClientRect() : null;
      if (box && (r.right > box.right + 1 || r.left < box.left - 1)) out.push(`wider than its field: "${name(m)}"`);
      if (m.scrollWidth > m.clientWidth + 1) out.push(`cut off: "${name(m)}"`);
      const details = m.closest('.v-input__details');
      if (details && details.scrollHeight > details.clientHeight + 1) out.push(`taller than its box: "${name(m)}"`);
    }
    for (const box of document.querySelectorAll('.v-messages')) {
      const rects = [...box.querySelectorAll('.v-messages__message')].filter(shown).map((m) => m.getBoundingClientRect());
      if (rects.some((a, i) => rects.slice(i + 1).some((b) => a.top < b.bottom - 1 && b.top < a.bottom - 1))) {
        out.push(`messages drawn over each other: "${name(box)}"`);
      }
    }
    for (const el of document.querySelectorAll('.v-alert__content, .v-btn__content, .v-card')) {
      // A badge (the cart's count) sits over its button's edge on purpose.
      if (shown(el) && !el.querySelector('.v-badge') && el.scrollWidth > el.clientWidth + 1) {
        out.push(`text spills out of ${el.classList[0]}: "${name(el)}"`);
      }
    }
    if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('the page scrolls sideways');
    return out;
  });
}

/**
 * The answer of a shop that sheds load (503 `overloaded`, Retry-After: 1), for page.route to give
 * in place of the real one: the shop has no switch that makes it busy on demand.
 */
/**
 * Error texts that run into what is around them, on the page as shown now: every shown error
 * message (Vuetify's field messages, the plain pages' `.field-error`, alerts) against the fields,
 * labels, buttons, headings and other messages of its own form or dialog (boxes that overlap by
 * more than a pixel), and against the nearest box around it that hides what overflows it.
 */
export async function errorTextProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const shown = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const name = (el) => (el.textContent.trim() || el.getAttribute('aria-label') || el.tagName).replace(/\s+/g, ' ').slice(0, 50);
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
    const MESSAGES = '.v-messages__message, .field-error, [role="alert"]';
    const NEIGHBOURS = `input, select, textarea, button, label, .v-field, h1, h2, h3, ${MESSAGES}`;
    for (const message of document.querySelectorAll(MESSAGES)) {
      if (!shown(message) || !message.textContent.trim()) continue;
      const box = message.getBoundingClientRect();
      const scope = message.closest('form, [role="dialog"], .v-overlay__content') || document.body;
      for (const other of scope.querySelectorAll(NEIGHBOURS)) {
        if (other === message || other.contains(message) || message.contains(other) || !shown(other)) continue;
        if (overlap(box, other.getBoundingClientRect())) out.push(`"${name(message)}" overlaps ${other.tagName.toLowerCase()} "${name(other)}"`);
      }
      for (let up = message.parentElement; up && up !== document.body; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (!/hidden|clip/.test(`${style.overflowX} ${style.overflowY}`)) continue;
        const clip = up.getBoundingClientRect();
        if (box.left < clip.left - 1 || box.right > clip.right + 1 || box.top < clip.top - 1 || box.bottom > clip.bottom + 1) {
          out.push(`"${name(message)}" is cut off by ${up.tagName.toLowerCase()}.${[...up.classList].join('.')}`);
        }
        break;
      }
    }
    return out;
  });
}

export const BUSY_ANSWER = {
  status: 503,
  headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
  body: JSON.stringify({ error: { code: 'overloaded', message: 'The shop is busy; try again shortly.', details: {} } }),
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}
/** An RGB PNG: a diagonal gradient in the given colour, made here so nothing is downloaded (photo uploads). */
export function makePng(width, height, [r, g, b]) {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      rows[row + 1 + x * 3] = Math.round(r * t);
      rows[row + 2 + x * 3] = Math.round(g * (1 - t));
      rows[row + 3 + x * 3] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
