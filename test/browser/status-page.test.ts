import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/create-gateway.js';
import { packageRoot } from '../../src/paths.js';
import { STATUS_PAGE_PATH, type StatusDocument } from '../../src/status/status-document.js';
import { launchChromium } from '../helpers/chromium.js';
import { hitRatioOf, runScriptedLoad, totalRequests, type LoadTally } from './scripted-load.js';

/**
 * Issue 17 in a real browser: Debian's chromium opens the gateway's status
 * page, a scripted load goes through the gateway (with its embedded local
 * host), and the page must show what the gateway answered, name no key or
 * tenant without the admin token, explain a key with it, and fetch nothing
 * from anywhere but the gateway. Screenshots (light, dark; laptop, phone) go
 * to test-artifacts/status-page/. Needs `npm run build` (the environments run
 * dist/lambda, the page is dist/status-page).
 */

const ADMIN_TOKEN = `status-page-admin-${randomBytes(8).toString('hex')}`;
const ARTIFACTS = join(packageRoot, 'test-artifacts', 'status-page');
/** Functions the local host runs: the examples plus `fails`, which always throws. */
const FUNCTIONS_FILE = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
/** A page poll is 2 s; a busy 2-core machine gets several of them. */
const PAGE_WAIT_MS = 20_000;

interface ConsoleEntry {
  readonly type: string;
  readonly text: string;
  readonly url: string;
}

interface Explained {
  readonly tenantId: string;
  readonly generation: number;
}

let browser: Browser | undefined;
let gateway: Gateway | undefined;
let snapshotDir: string | undefined;
let page: Page;
let origin: string;
let load: LoadTally;
/** Requests refused key_busy by sendToBusyKey (also counted as unknown in `load`). */
let keyBusy = 0;
/** Per key, what the admin route says (the tenant IDs the page must not show). */
const explained = new Map<string, Explained>();
const consoleErrors: ConsoleEntry[] = [];
const pageErrors: string[] = [];
const requestedUrls: string[] = [];

async function explainKey(key: string): Promise<Explained> {
  const res = await request(`${origin}/v1/keys/${encodeURIComponent(key)}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`explain ${key} → ${String(res.statusCode)}: ${text}`);
  return JSON.parse(text) as Explained;
}

/** The `data-value` of `selector` (the raw figure the contract puts there). */
async function dataValue(selector: string): Promise<string> {
  const value = await page.locator(selector).getAttribute('data-value', { timeout: 5_000 });
  if (value === null) throw new Error(`${selector} has no data-value`);
  return value;
}

async function numberAt(selector: string): Promise<number> {
  const raw = await dataValue(selector);
  expect(raw, `${selector} data-value`).not.toBe('');
  return Number(raw);
}

/** A ratio or latency: null for "", else the number. */
async function nullableAt(selector: string): Promise<number | null> {
  const raw = await dataValue(selector);
  return raw === '' ? null : Number(raw);
}

/**
 * Waits until the page has drawn a document made after `sinceMs`. Polled
 * from here: expect.poll is not allowed in beforeAll (where the load runs),
 * and waitForFunction's string form is eval, which the page's CSP refuses.
 */
async function waitForDocumentAfter(sinceMs: number): Promise<void> {
  const until = Date.now() + PAGE_WAIT_MS;
  let shown: string | null = null;
  while (Date.now() < until) {
    shown = await page.locator('[data-testid="last-updated"]').getAttribute('data-value');
    if (Date.parse(shown ?? '') > sinceMs) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `the page drew no status document after ${new Date(sinceMs).toISOString()} ` +
      `within ${String(PAGE_WAIT_MS)} ms (last-updated: ${String(shown)})`,
  );
}

/** Submits the explain form; the caller waits for the result it expects. */
async function submitExplain(key: string, token: string): Promise<void> {
  await page.fill('#explain-key', key);
  await page.fill('#explain-token', token);
  await page.click('#explain-submit');
}

/** Waits for the explain box to show `state` and, on error, the code `code` (it answers asynchronously). */
async function explainShows(state: 'ok' | 'error', code = ''): Promise<void> {
  const result = page.locator('#explain-result');
  const codeCell = result.locator('[data-field="code"]');
  const read = async () => ({
    state: await result.getAttribute('data-state'),
    code: (await codeCell.count()) > 0 ? (await codeCell.first().innerText()).trim() : '',
  });
  await expect.poll(read, { timeout: PAGE_WAIT_MS }).toEqual({ state, code });
}

/**
 * Six requests at once to a new `counter` key: the first starts an
 * environment, the others find the key busy and are refused (429
 * WR_ERR_KEY_BUSY; WARMROUTE_MAX_QUEUE_PER_KEY=0). Tallied into `tally` the
 * way the scripted load tallies (a refusal has no state: unknown). Returns
 * how many were refused.
 */
async function sendToBusyKey(tally: LoadTally): Promise<number> {
  const key = `status-busy-${randomBytes(4).toString('hex')}`;
  tally.keys.add(key);
  const fn = tally.functions.get('counter');
  if (fn === undefined) throw new Error('the scripted load did not call counter');
  const answers = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const res = await request(`${origin}/v1/functions/counter/invoke`, {
        method: 'POST',
        headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
        body: '{}',
      });
      return { res, text: await res.body.text() };
    }),
  );
  let refused = 0;
  const envs = new Set<string>();
  for (const { res, text } of answers) {
    const tenant = res.headers['x-affinity-tenant'];
    if (typeof tenant === 'string') tally.tenants.add(tenant);
    if (res.statusCode === 429 && text.includes('"WR_ERR_KEY_BUSY"')) {
      refused++;
      fn.requests.unknown++;
    } else if (res.statusCode === 200) {
      const state = res.headers['x-affinity-state'];
      const s = typeof state === 'string' ? state : '';
      if (s === 'hit' || s === 'rehydrated' || s === 'fresh') fn.requests[s]++;
      else fn.requests.unknown++;
      // A new key of a per-tenant function: its first environment is new (a later answer may reuse it).
      const env = res.headers['x-affinity-env'];
      if (typeof env === 'string' && env !== '' && !envs.has(env)) {
        envs.add(env);
        fn.coldStarts++;
      }
    } else throw new Error(`counter ${key} → ${String(res.statusCode)}: ${text}`);
  }
  if (refused === 0) throw new Error('no request found the key busy');
  return refused;
}

/** `warmroute_state_misses_total` summed by reason, from the gateway's own /metrics. */
async function missesFromMetrics(): Promise<Map<string, number>> {
  const res = await request(`${origin}/metrics`);
  const text = await res.body.text();
  const misses = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^warmroute_state_misses_total\{([^}]*)\} (\S+)$/.exec(line);
    if (match === null) continue;
    const reason = /(?:^|,)reason="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '';
    misses.set(reason, (misses.get(reason) ?? 0) + Number(match[2]));
  }
  return misses;
}

function keysRequested(): string[] {
  return requestedUrls.filter((u) => u.startsWith(`${origin}/v1/keys/`));
}

beforeAll(async () => {
  // Prepare: the browser first, so a machine without chromium fails before anything starts.
  browser = await launchChromium();
  snapshotDir = await mkdtemp(join(tmpdir(), 'wr-status-page-snap-'));
  gateway = await createGateway(
    {
      // Environments need PATH; the rest of process.env stays out of the config.
      PATH: process.env.PATH ?? '',
      WARMROUTE_BACKEND: 'local',
      WARMROUTE_LOCAL_HOST: '127.0.0.1',
      WARMROUTE_LOCAL_PORT: '0',
      WARMROUTE_FUNCTIONS_FILE: FUNCTIONS_FILE,
      // A directory of its own, so no key is ever rehydrated from another run.
      WARMROUTE_SNAPSHOT_DIR: snapshotDir,
      WARMROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
      // No waiting behind a busy key: concurrent requests to one key are refused (key_busy 429).
      WARMROUTE_MAX_QUEUE_PER_KEY: '0',
      WARMROUTE_SECRET: `status-page-secret-${randomBytes(8).toString('hex')}`,
      WARMROUTE_NAMESPACE: `status-page-${randomBytes(4).toString('hex')}`,
      WARMROUTE_LOG_TAIL: 'false',
      WARMROUTE_LOG_LEVEL: 'silent',
    },
    { defaultMetrics: false },
  );
  origin = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const localHost = gateway.localHost;
  if (localHost === undefined) throw new Error('createGateway started no local host');

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning')
      consoleErrors.push({ type: msg.type(), text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
  page.on('request', (req) => requestedUrls.push(req.url()));

  const opened = await page.goto(`${origin}${STATUS_PAGE_PATH}`);
  expect(opened?.status(), `GET ${STATUS_PAGE_PATH}`).toBe(200);
  await waitForDocumentAfter(0);

  // Act: the load, then a document the page drew after its last answer.
  load = await runScriptedLoad(origin, localHost);
  keyBusy = await sendToBusyKey(load);
  for (const key of load.keys) explained.set(key, await explainKey(key));
  // After the last request (the busy key's came after the scripted load).
  await waitForDocumentAfter(Date.now());
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  if (snapshotDir !== undefined) await rm(snapshotDir, { recursive: true, force: true });
});

describe('status page in chromium', () => {
  it('totals: requests by state, hit ratio, cold starts and errors are what the gateway answered', async () => {
    // Prepare
    const sent = totalRequests(load);
    const fns = [...load.functions.values()];
    const coldStarts = fns.reduce((n, f) => n + f.coldStarts, 0);
    const errors = fns.reduce((n, f) => n + f.errors, 0);
    // The load is what it claims to be: every kind of answer happened.
    expect(sent.hit).toBeGreaterThan(0);
    expect(sent.fresh).toBeGreaterThan(0);
    expect(sent.unknown).toBeGreaterThan(0);
    expect(sent.rehydrated).toBe(2);
    expect(errors).toBe(1);
    // Act
    const shown = {
      hit: await numberAt('[data-testid="total-hit"]'),
      rehydrated: await numberAt('[data-testid="total-rehydrated"]'),
      fresh: await numberAt('[data-testid="total-fresh"]'),
      unknown: await numberAt('[data-testid="total-unknown"]'),
    };
    // Assess
    expect(shown).toEqual(sent);
    const ratio = await nullableAt('[data-testid="total-hit-ratio"]');
    expect(ratio).toBeCloseTo(hitRatioOf(sent) ?? Number.NaN, 12);
    expect(await numberAt('[data-testid="total-cold-starts"]')).toBe(coldStarts);
    expect(await numberAt('[data-testid="total-errors"]')).toBe(errors);
    expect(keyBusy).toBeGreaterThan(0);
    expect(await numberAt('[data-testid="total-rejections"]')).toBe(keyBusy);
    // Each cold start costs its function's memory in GB times the price (default 0.000167 USD per GB).
    let cost = 0;
    for (const [name, f] of load.functions) {
      const memoryMb = gateway?.config.functions[name]?.memoryMb ?? Number.NaN;
      cost +=
        f.coldStarts * (memoryMb / 1024) * (gateway?.config.coldStartPricePerGb ?? Number.NaN);
    }
    expect(await numberAt('[data-testid="total-cold-start-cost"]')).toBeCloseTo(cost, 12);
    // Hits and cold starts both happened, so both latencies have figures.
    for (const kind of ['hit', 'cold']) {
      const p50 = await nullableAt(`[data-testid="${kind}-latency-p50"]`);
      const p95 = await nullableAt(`[data-testid="${kind}-latency-p95"]`);
      expect(p50, `${kind} p50`).toBeGreaterThan(0);
      expect(p95, `${kind} p95`).toBeGreaterThanOrEqual(p50 ?? Infinity);
    }
    // People read the text, not the attribute: the counts are in it.
    expect(await page.locator('[data-testid="total-hit"]').innerText()).toContain(String(sent.hit));
  });

  it('per function: requests, hit ratio, cold starts, rehydrations and errors match each function the load called', async () => {
    for (const [name, sent] of load.functions) {
      // Prepare
      const row = `#functions tr[data-function="${name}"]`;
      const requests = sent.requests.hit + sent.requests.rehydrated + sent.requests.fresh;
      // Act / Assess
      expect(await numberAt(`${row} [data-field="requests"]`), `${name} requests`).toBe(
        requests + sent.requests.unknown,
      );
      const ratio = await nullableAt(`${row} [data-field="hit-ratio"]`);
      const expected = hitRatioOf(sent.requests);
      if (expected === null) expect(ratio, `${name} hit ratio`).toBeNull();
      else expect(ratio, `${name} hit ratio`).toBeCloseTo(expected, 12);
      expect(await numberAt(`${row} [data-field="cold-starts"]`), `${name} cold starts`).toBe(
        sent.coldStarts,
      );
      expect(await numberAt(`${row} [data-field="rehydrations"]`), `${name} rehydrations`).toBe(
        sent.requests.rehydrated,
      );
      expect(await numberAt(`${row} [data-field="errors"]`), `${name} errors`).toBe(sent.errors);
    }
    // No row claims requests the load did not send.
    const names = await Promise.all(
      (await page.locator('#functions tr[data-function]').all()).map(
        async (row) => (await row.getAttribute('data-function')) ?? '',
      ),
    );
    for (const name of names.filter((n) => !load.functions.has(n))) {
      expect(
        await numberAt(`#functions tr[data-function="${name}"] [data-field="requests"]`),
        `${name} requests`,
      ).toBe(0);
    }
  });

  it('miss and rejection reasons: each row is what the gateway counted (its /metrics, the refusals sent)', async () => {
    // Prepare
    const misses = await missesFromMetrics();
    expect([...misses.values()].some((n) => n > 0)).toBe(true);
    // Act / Assess
    for (const [reason, count] of misses) {
      const cell = `#miss-reasons tr[data-miss-reason="${reason}"] [data-field="count"]`;
      if (count === 0) expect(await page.locator(cell).count(), reason).toBe(0);
      else expect(await numberAt(cell), `misses ${reason}`).toBe(count);
    }
    expect(await page.locator('#miss-reasons tr[data-miss-reason]').count()).toBe(
      [...misses.values()].filter((n) => n > 0).length,
    );
    expect(
      await numberAt(
        '#rejection-reasons tr[data-rejection-reason="key_busy"] [data-field="count"]',
      ),
    ).toBe(keyBusy);
    expect(await page.locator('#rejection-reasons tr[data-rejection-reason]').count()).toBe(1);
  });

  it('charts: each of the five draws a canvas of non-zero size', async () => {
    for (const id of [
      'chart-requests',
      'chart-hit-ratio',
      'chart-latency',
      'chart-cold-starts',
      'chart-queue',
    ]) {
      // Act
      const box = await page.locator(`#${id} canvas`).first().boundingBox({ timeout: 5_000 });
      // Assess
      expect(box?.width, id).toBeGreaterThan(0);
      expect(box?.height, id).toBeGreaterThan(0);
    }
  });

  it('a young gateway says "since HH:MM", not "last 15 min"', async () => {
    expect(await page.locator('[data-testid="window"]').innerText()).toMatch(/^since \d/);
  });

  it('local host: live and idle environments per function, and the evictions', async () => {
    const host = gateway?.localHost;
    if (host === undefined) throw new Error('no local host');
    const environments = host.environments();
    for (const name of load.functions.keys()) {
      // Prepare
      const row = `#local-host tr[data-host-function="${name}"]`;
      const own = environments.filter((e) => e.function === name);
      // Act / Assess
      expect(await numberAt(`${row} [data-field="live"]`), `${name} live`).toBe(own.length);
      expect(await numberAt(`${row} [data-field="idle"]`), `${name} idle`).toBe(
        own.filter((e) => e.state === 'idle').length,
      );
      expect(await numberAt(`${row} [data-field="evictions"]`), `${name} evictions`).toBe(
        load.evictions.get(name) ?? 0,
      );
    }
    // Four warm-counter keys, two of them moved to new environments after the eviction.
    expect(
      await numberAt('#local-host tr[data-host-function="warm-counter"] [data-field="live"]'),
    ).toBe(4);
    expect(load.evictions.get('warm-counter')).toBe(2);
    await expect.poll(() => page.locator('#local-host').isVisible()).toBe(true);
  });

  it('without the token, the DOM names none of the keys sent and none of their tenant IDs', async () => {
    // Act
    const html = String(await page.evaluate('document.documentElement.outerHTML'));
    // Assess
    expect(load.keys.size).toBeGreaterThan(0);
    for (const key of load.keys) expect(html, `key ${key}`).not.toContain(key);
    const tenants = new Set([...load.tenants, ...[...explained.values()].map((e) => e.tenantId)]);
    expect(tenants.size).toBeGreaterThanOrEqual(load.keys.size);
    for (const tenant of tenants) expect(html, `tenant ${tenant}`).not.toContain(tenant);
  });

  it('explain box without a token: says a token is needed and calls nothing', async () => {
    // Prepare
    const before = keysRequested().length;
    // Act
    await submitExplain(load.evictedKey, '');
    // Assess
    await explainShows('error', 'WR_PAGE_TOKEN_REQUIRED');
    expect(await page.locator('#explain-result').innerText()).toMatch(/token/i);
    expect(keysRequested().length).toBe(before);
  });

  it('explain box with the keys "." and "..": refused in the page with a curl hint; the token goes nowhere', async () => {
    for (const key of ['.', '..']) {
      // Prepare
      const before = requestedUrls.length;
      // Act
      await submitExplain(key, ADMIN_TOKEN);
      // Assess
      await explainShows('error', 'WR_PAGE_KEY_NOT_IN_URL');
      expect(await page.locator('#explain-result').innerText()).toContain('curl --path-as-is');
      const sent = requestedUrls.slice(before).map((u) => new URL(u).pathname);
      expect(
        sent.filter((path) => !path.startsWith('/v1/status')),
        key,
      ).toEqual([]);
    }
    // Browsers fill or offer to save a password field unless told it is a new secret.
    expect(await page.locator('#explain-token').getAttribute('autocomplete')).toBe('new-password');
  });

  it('explain box with a wrong token: shows the gateway refusal WR_ERR_UNAUTHORIZED', async () => {
    // Prepare
    const before = keysRequested().length;
    // Act
    await submitExplain(load.evictedKey, 'not-the-admin-token-000000');
    // Assess
    await explainShows('error', 'WR_ERR_UNAUTHORIZED');
    expect(keysRequested().length).toBe(before + 1);
    const html = String(await page.evaluate('document.documentElement.outerHTML'));
    const tenant = explained.get(load.evictedKey)?.tenantId ?? '';
    expect(html).not.toContain(tenant);
  });

  it("explain box with the admin token: shows the key's tenant and generation; the token stays out of URL and storage", async () => {
    // Prepare
    const truth = explained.get(load.evictedKey);
    if (truth === undefined) throw new Error('the evicted key was not explained');
    const sent = page.waitForRequest((r) => r.url().startsWith(`${origin}/v1/keys/`));
    // Act
    await submitExplain(load.evictedKey, ADMIN_TOKEN);
    const req = await sent;
    // Assess
    await explainShows('ok');
    const field = (name: string) =>
      page.locator(`#explain-result [data-field="${name}"]`).first().innerText();
    expect((await field('tenantId')).trim()).toBe(truth.tenantId);
    expect((await field('generation')).trim()).toBe(String(truth.generation));
    expect(await req.headerValue('authorization')).toBe(`Bearer ${ADMIN_TOKEN}`);
    expect(req.url()).not.toContain(ADMIN_TOKEN);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    const stored = String(
      await page.evaluate(
        'JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])',
      ),
    );
    expect(stored).not.toContain(ADMIN_TOKEN);
  });

  it('screenshots light and dark, laptop and phone: the theme follows the system, and the phone needs no sideways scroll', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const backgrounds = new Map<string, string>();
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [width, height] of [
        [1280, 900],
        [390, 844],
      ] as const) {
        // Act
        await page.emulateMedia({ colorScheme });
        await page.setViewportSize({ width, height });
        // The charts redraw from a ResizeObserver and a color-scheme listener: two frames later they have.
        await page.evaluate(
          'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
        );
        await page.screenshot({
          path: join(ARTIFACTS, `status-${colorScheme}-${String(width)}.png`),
          fullPage: true,
        });
        // Assess
        backgrounds.set(
          colorScheme,
          String(await page.evaluate('getComputedStyle(document.body).backgroundColor')),
        );
        const overflow = Number(
          await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
        );
        expect(
          overflow,
          `${colorScheme} ${String(width)}px: wider than the screen by`,
        ).toBeLessThanOrEqual(0);
      }
    }
    expect(backgrounds.get('dark')).not.toBe(backgrounds.get('light'));
  }, 60_000);

  it('directory degraded, queue and in flight: the cards show what the document says (a document served to the page)', async () => {
    // Prepare: the next polls answer the gateway's own document with a degraded directory and a queue.
    const since = new Date(Date.now() - 90_000).toISOString();
    const reason = 'Redis unreachable (connect ECONNREFUSED)';
    await page.route(`${origin}/v1/status.json`, async (route) => {
      const res = await route.fetch();
      const doc = (await res.json()) as StatusDocument;
      const series = doc.series.map((p, i) =>
        i === doc.series.length - 1 ? { ...p, queueDepth: 7, inflight: 3 } : p,
      );
      await route.fulfill({
        response: res,
        json: {
          ...doc,
          series,
          directory: { store: 'redis', status: 'degraded', degradedSince: since, reason },
        },
      });
    });
    try {
      // Act / Assess
      await expect
        .poll(() => dataValue('[data-testid="directory-status"]'), { timeout: PAGE_WAIT_MS })
        .toBe('degraded');
      expect(await dataValue('[data-testid="directory-since"]')).toBe(since);
      expect(await page.locator('[data-testid="directory-reason"]').innerText()).toBe(reason);
      expect(await page.locator('[data-testid="directory-store"]').innerText()).toBe('Redis');
      expect(await numberAt('[data-testid="queue-depth"]')).toBe(7);
      expect(await numberAt('[data-testid="inflight"]')).toBe(3);
    } finally {
      await page.unroute(`${origin}/v1/status.json`);
    }
    // And back: the gateway's own in-memory directory is OK, without a "since".
    await expect
      .poll(() => dataValue('[data-testid="directory-status"]'), { timeout: PAGE_WAIT_MS })
      .toBe('ok');
    expect(await dataValue('[data-testid="directory-since"]')).toBe('');
    expect(await page.locator('[data-testid="directory-reason"]').isHidden()).toBe(true);
  });

  it('the page logged no error, threw nothing, and requested nothing outside the gateway', () => {
    // The only error allowed is Chromium's own line for the refused explain call (401).
    const unexpected = consoleErrors.filter(
      (e) => !(e.url.startsWith(`${origin}/v1/keys/`) && /status of 401/.test(e.text)),
    );
    expect(unexpected).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(requestedUrls.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    const paths = new Set(
      requestedUrls.map((u) => new URL(u).pathname.replace(/^\/v1\/keys\/.*/, '/v1/keys/…')),
    );
    console.log(
      `status page: ${String(requestedUrls.length)} requests to ${[...paths].join(', ')}; ` +
        `browser lines allowed: ${JSON.stringify(consoleErrors.map((e) => e.text))}; screenshots in ${ARTIFACTS}`,
    );
  });
});
