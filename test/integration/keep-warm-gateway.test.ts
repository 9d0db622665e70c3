import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { functionSettingsOf } from '../../src/config/function-settings.js';
import { loadConfig } from '../../src/config/load-config.js';
import { isWarmrouteError } from '../../src/errors.js';
import { loadFunctionsFile, startLocalHost } from '../../src/localhost/index.js';
import { distDir, packageRoot } from '../../src/paths.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Keep-warm through the real gateway (issue 18; README "Keep-warm"), in
 * front of a local host in Lambda's mode (`reclaim: 'idle'`): a key that
 * comes back a little after its environment would be reclaimed is kept warm
 * by pings on a route that opted in, and finds a new environment on one that
 * did not.
 */

const functionsFile = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
const FUNCTION = 'warm-counter';
/** The host reclaims environments idle this long. */
const IDLE_RECLAIM_MS = 1_000;
/** What the gateway is told of it: a little less, the safe side for pings. */
const IDLE_LIFETIME_MS = 900;
/** A key's regular return gap: just past the reclaim. */
const GAP_MS = 1_300;
/** Requests per key: the first gaps teach the planner the pattern (4 gaps decide). */
const REQUESTS = 8;

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function start(keepWarm: Record<string, unknown>): Promise<TestGateway> {
  expect(existsSync(join(distDir, 'lambda', 'index.js')), 'run npm run build first').toBe(true);
  const snapshotDir = await mkdtemp(join(tmpdir(), 'wr-keep-warm-gw-'));
  cleanups.push(() => rm(snapshotDir, { recursive: true, force: true }));
  const host = await startLocalHost({
    port: 0,
    functionsFile,
    reclaim: 'idle',
    idleReclaimMs: IDLE_RECLAIM_MS,
    env: { ...process.env, WARMROUTE_SNAPSHOT_DIR: snapshotDir, WARMROUTE_SNAPSHOT_REDIS_URL: '' },
  });
  cleanups.push(() => host.close());
  const functions = functionSettingsOf(loadFunctionsFile(functionsFile));
  const gw = await startTestGateway(
    {
      WARMROUTE_FUNCTIONS: JSON.stringify({
        ...functions,
        [FUNCTION]: { ...functions[FUNCTION], idleLifetimeMs: IDLE_LIFETIME_MS },
      }),
      WARMROUTE_ROUTES: JSON.stringify([
        {
          prefix: '/kw',
          function: FUNCTION,
          mode: 'affinity',
          budget: { policy: 'queue', keepWarm },
        },
        { prefix: '/plain', function: FUNCTION, mode: 'affinity' },
      ]),
    },
    { localHost: host },
  );
  cleanups.push(() => gw.close());
  return gw;
}

interface Answer {
  readonly state: string | null;
  readonly env: string | null;
}

/** `REQUESTS` requests of `key` on `prefix`, `GAP_MS` apart (from each answer). */
async function returningKey(gw: TestGateway, prefix: string, key: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    const res = await fetch(`${gw.url}${prefix}/`, { headers: { 'x-affinity-key': key } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    answers.push({
      state: res.headers.get('x-affinity-state'),
      env: res.headers.get('x-affinity-env'),
    });
  }
  return answers;
}

async function metric(gw: TestGateway, name: string): Promise<number> {
  const line = `${name}{function="${FUNCTION}"}`;
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('keep-warm through the gateway', () => {
  it('a key returning just past the idle reclaim stays warm on an opted-in route, and goes cold on another', async () => {
    // Prepare
    const gw = await start({ pingsPerMinute: 600 });

    // Act: the same pattern on both routes at once.
    const [kept, plain] = await Promise.all([
      returningKey(gw, '/kw', 'kept'),
      returningKey(gw, '/plain', 'plain'),
    ]);

    // Assess: once the planner has seen the pattern, the key's next request is a hit in the same environment.
    const last = kept.at(-1);
    const before = kept.at(-2);
    expect(last?.state).toBe('hit');
    expect(last?.env).toBe(before?.env);
    // Without pings every return finds a new environment.
    for (let i = 1; i < plain.length; i++) {
      expect(plain[i]?.state).not.toBe('hit');
      expect(plain[i]?.env).not.toBe(plain[i - 1]?.env);
    }
    const pings = await metric(gw, 'warmroute_keep_warm_invocations_total');
    expect(pings).toBeGreaterThanOrEqual(1);
    // Only the opted-in key is pinged, at most once per gap while it is learning nothing new.
    expect(pings).toBeLessThanOrEqual(REQUESTS);
    expect(
      await metric(gw, 'warmroute_keep_warm_cold_starts_avoided_total'),
    ).toBeGreaterThanOrEqual(1);
    expect(await metric(gw, 'warmroute_keep_warm_cost_usd_total')).toBeGreaterThan(0);
  });

  it('the per-minute budget caps the pings', async () => {
    // Prepare: one ping a minute, none saved up beyond it.
    const gw = await start({ pingsPerMinute: 1, burst: 1 });

    // Act
    const kept = await returningKey(gw, '/kw', 'kept');

    // Assess: one ping went, the budget refused the rest, and the key went cold again.
    expect(await metric(gw, 'warmroute_keep_warm_invocations_total')).toBe(1);
    expect(await metric(gw, 'warmroute_keep_warm_denied_total')).toBeGreaterThanOrEqual(1);
    expect(kept.at(-1)?.state).not.toBe('hit');
  });
});

describe('keep-warm config', () => {
  it('refuses keepWarm on the RPC route, routes of one function that disagree, and bad values, in one message', () => {
    // Prepare
    const kw = (pingsPerMinute: number) => ({ policy: 'queue', keepWarm: { pingsPerMinute } });
    let message = '';

    // Act
    try {
      loadConfig(
        {
          WARMROUTE_BACKEND: 'endpoint',
          AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
          WARMROUTE_FUNCTIONS: JSON.stringify({
            fn: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' },
          }),
          WARMROUTE_ROUTES: JSON.stringify([
            { prefix: '/a', function: 'fn', mode: 'affinity', budget: kw(60) },
            { prefix: '/b', function: 'fn', mode: 'affinity', budget: kw(120) },
            { prefix: '/c', function: 'fn', mode: 'affinity', budget: kw(0) },
          ]),
        },
        { overrides: { rpcBudget: kw(60) } },
      );
    } catch (err) {
      if (!(isWarmrouteError(err) && err.code === 'WR_ERR_CONFIG')) throw err;
      message = err.message;
    }

    // Assess
    expect(message).toContain('rpcBudget: keepWarm is per proxy route');
    expect(message).toContain(
      "routes (/b): keepWarm differs from route /a's for the same function fn",
    );
    expect(message).toMatch(/routes.*pingsPerMinute/);
  });
});
