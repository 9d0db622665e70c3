import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ruleGroups } from '../../dashboards/src/rules.js';
import { packageRoot } from '../../src/paths.js';
import { startPrometheus, type PromSample, type RunningPrometheus } from '../helpers/prometheus.js';
import { privateRedis } from '../helpers/redis.js';
import { startWarmStateGateway, type WarmStateGateway } from '../helpers/warm-state-gateway.js';

/**
 * Issue 13 end to end: Debian's prometheus scrapes a live gateway every
 * second (the dashboards' rule files loaded) while a scripted mixed load
 * runs: hits on repeated keys, fresh keys, rehydrations after evictions
 * through the local host's control API, function errors, 429s from a
 * per-key queue of one, Lambda throttles from a function capped at one
 * reserved concurrency (so at most two tenant environments), and a private
 * Redis killed for a few seconds, then hung (SIGSTOP) for two. Then every
 * panel query of every dashboard runs through /api/v1/query, and the
 * hit-ratio panel is compared with the ratio the responses'
 * x-affinity-state headers give.
 *
 * The local host exports no metrics, so only the gateway is scraped. Every
 * series is created before prometheus starts (a priming round): a counter
 * series born inside the window loses its first increment to rate(), which
 * would skew the ratio the test compares. It cannot prove what a panel
 * looks like in Grafana, nor panels over series this load does not create.
 */

const SCRAPE_SECONDS = 1;
/**
 * What Grafana puts in `$__rate_interval` (max(interval + scrape, 4 × scrape))
 * for a time range of some hours at a 1 s scrape; one minute also keeps the
 * whole load inside one instant query's window.
 */
const RATE_INTERVAL = '1m';
/**
 * rate() extrapolates each series to the window edges, clamped where the
 * counter would cross zero; the clamp differs between a ratio's numerator and
 * denominator (different first values), by up to about avgInterval / load
 * duration ≈ 1 / 12 of the extrapolation: a few hundredths at most.
 */
const HIT_RATIO_TOLERANCE = 0.03;
/**
 * Panels this load legitimately leaves empty, with the reason. Empty: no
 * panel. Every other panel query must return at least one finite sample.
 */
const NO_DATA_EXPECTED: Record<string, string> = {
  'capacity / Tenant budget spills by policy and outcome':
    "no budget binds: every function's cap is 2,500 here (prometheus-budget-e2e.test.ts moves it)",
  'capacity / Learned idle lifetime':
    "the local host's LRU mode reclaims nothing idle within the test (prometheus-budget-e2e.test.ts learns one)",
  'cost / Keep-warm vs cold-start cost per hour':
    'no route opts in to keep-warm: its cost series (A) is absent; cold starts (B) has data',
  'cost / Keep-warm net saving per hour': 'no route opts in to keep-warm',
  'cost / Keep-warm pings': 'no route opts in to keep-warm',
};
/**
 * Panels the load is built to move: each must show a value above zero, so a
 * panel that "has data" only because a counter stood still cannot pass.
 */
const MOVED_BY_LOAD = [
  'Miss reasons',
  'Errors by type',
  'Cold starts per second',
  'Concurrency rejections by reason',
  'Backend throttles and retries',
  'Redis errors',
  'Directory degraded time',
  'Rehydration duration p95',
  'Cold-start cost per hour',
];

interface Target {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

interface PanelJson {
  title?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: PanelJson[];
}

interface Variable {
  readonly name: string;
  readonly query: string;
}

function dashboardJson(dashboard: string): {
  panels: PanelJson[];
  templating: { list: { name: string; query?: unknown }[] };
} {
  return JSON.parse(readFileSync(join(packageRoot, 'dashboards', `${dashboard}.json`), 'utf8')) as {
    panels: PanelJson[];
    templating: { list: { name: string; query?: unknown }[] };
  };
}

/** Every query variable: Grafana's `label_values(selector, label)`. */
function variableQueries(): Variable[] {
  const out = new Map<string, Variable>();
  for (const dashboard of DASHBOARDS)
    for (const v of dashboardJson(dashboard).templating.list) {
      const q = v.query;
      if (typeof q === 'object' && q !== null && 'query' in q && typeof q.query === 'string')
        out.set(`${v.name} ${q.query}`, { name: v.name, query: q.query });
    }
  return [...out.values()];
}

/** `label_values(sel, label)` as the PromQL Grafana's series lookup amounts to. */
function labelValuesAsPromql(query: string): { expr: string; label: string } {
  const m = /^label_values\((.*),\s*(\w+)\)$/.exec(query);
  if (m === null) throw new Error(`not a label_values query: ${query}`);
  const [, selector = '', label = ''] = m;
  return { expr: `group by (${label}) (${selector})`, label };
}

const DASHBOARDS = ['overview', 'capacity', 'cost'] as const;

function panelTargets(): Target[] {
  const out: Target[] = [];
  for (const dashboard of DASHBOARDS) {
    const json = dashboardJson(dashboard);
    const walk = (panels: PanelJson[]): void => {
      for (const p of panels) {
        walk(p.panels ?? []);
        for (const t of p.targets ?? [])
          if (t.expr !== undefined)
            out.push({ dashboard, panel: p.title ?? '', refId: t.refId ?? '', expr: t.expr });
      }
    };
    walk(json.panels);
  }
  return out;
}

/** What Grafana sends for a panel with job and instance chosen and function on "All" (`.*`). */
function substitute(expr: string, job: string, instance: string): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$job', job)
    .replaceAll('$instance', instance)
    .replaceAll('$function', '.*');
}

const hasData = (samples: PromSample[]): boolean => samples.some((s) => Number.isFinite(s.value));

/**
 * The gateway test functions for the local host, with `slow` capped at one
 * reserved environment: Lambda then keeps at most two tenant environments
 * of it, idle ones included, and throttles a third tenant (the gateway's
 * own copy of the functions file is unchanged: the cap is Lambda's).
 */
async function functionsWithCap(dir: string): Promise<string> {
  const source = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
  const declared = JSON.parse(readFileSync(source, 'utf8')) as {
    functions: { name: string; codeDir: string }[];
  };
  const functions = declared.functions.map((f) => ({
    ...f,
    codeDir: resolve(dirname(source), f.codeDir),
    ...(f.name === 'slow' ? { reservedConcurrency: 1 } : {}),
  }));
  const file = join(dir, 'functions.json');
  await writeFile(file, JSON.stringify({ functions }));
  return file;
}

/** One response as the load saw it: the function it went to and the gateway's x-affinity-state. */
interface Seen {
  readonly fn: string;
  readonly status: number;
  readonly state: string | undefined;
}

function loadDriver(ws: WarmStateGateway) {
  const seen: Seen[] = [];
  const call = async (fn: string, path: string, key: string, body?: unknown): Promise<Seen> => {
    const res = await request(`${ws.gw.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await res.body.text();
    const state = res.headers['x-affinity-state'];
    const s = { fn, status: res.statusCode, state: typeof state === 'string' ? state : undefined };
    seen.push(s);
    return s;
  };
  return {
    seen,
    warm: async (key: string) => call('warm-counter', '/warm', key),
    fails: async (key: string) => call('fails', '/v1/functions/fails/invoke', key, {}),
    slow: async (key: string, sleepMs: number) =>
      call('slow', '/v1/functions/slow/invoke', key, { sleepMs }),
    workspace: async (key: string) =>
      call('workspace', '/v1/functions/workspace/invoke', key, { op: 'list' }),
    /** Evict every warm-counter environment of `key`'s tenant through the control API. */
    async evict(key: string): Promise<void> {
      const { tenantId } = await ws.gw.deps.directory.resolve(key, {
        functionName: 'warm-counter',
      });
      const res = await request(`${ws.gw.localHost.url}/_local/evict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ function: 'warm-counter', tenant: tenantId }),
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`evict → ${String(res.statusCode)}`);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboards against a real Prometheus scraping a gateway under load', () => {
  let prometheus: RunningPrometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('every panel query returns data; the hit-ratio panel matches x-affinity-state', async () => {
    // Prepare: a private Redis (killed below), a gateway whose per-key queue holds one request.
    const redis = await privateRedis();
    const dir = await mkdtemp(join(tmpdir(), 'wr-prom-e2e-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const ws = await startWarmStateGateway(
      {
        REDIS_URL: redis.url,
        WARMROUTE_L1_TTL_MS: '50',
        WARMROUTE_MAX_QUEUE_PER_KEY: '1',
        WARMROUTE_REDIS_COMMAND_TIMEOUT_MS: '100',
      },
      { functionsFile: await functionsWithCap(dir) },
    );
    onTestFinished(() => ws.close());
    const load = loadDriver(ws);
    const run = randomBytes(3).toString('hex');
    const hot = Array.from({ length: 4 }, (_, i) => `hot-${run}-${String(i)}`);

    // Priming: every series the load touches exists before the first scrape.
    for (const key of hot) await load.warm(key);
    await load.warm(hot[0] ?? '');
    await load.evict(hot[0] ?? '');
    await load.warm(hot[0] ?? '');
    await load.workspace(`ws-${run}-prime`);
    await load.workspace(`ws-${run}-prime`);
    await load.fails(`f-${run}`);
    // Three tenants of `slow`: two environments, then a throttle; then three calls on one key: a 429 key_busy.
    for (const i of [0, 1, 2]) await load.slow(`cap-${run}-${String(i)}`, 0);
    await Promise.all([0, 1, 2].map(() => load.slow(`cap-${run}-0`, 300)));
    const primed = load.seen.length;
    expect(load.seen.map((s) => s.status).sort()).toContain(429); // key_busy and the capped throttle

    const instance = new URL(ws.gw.adminUrl).host;
    prometheus = await startPrometheus({
      targets: [{ job: 'warmroute', hostPort: instance }],
      ruleFiles: ruleGroups().map((g) => join(packageRoot, 'dashboards/prometheus', g.file)),
      scrapeIntervalSeconds: SCRAPE_SECONDS,
    });
    const prom = prometheus;
    const lastScrape = async (): Promise<number> =>
      (await prom.query('timestamp(up{job="warmroute"} == 1)'))[0]?.value ?? 0;
    const waitForScrapeAfter = async (seconds: number): Promise<number> => {
      for (let i = 0; i < 100; i++) {
        const t = await lastScrape();
        if (t > seconds) return t;
        await sleep(200);
      }
      throw new Error(`no scrape after ${String(seconds)}:\n${prom.log()}`);
    };
    await waitForScrapeAfter(0);

    // Act: ~13 s of mixed load from three workers.
    const started = Date.now();
    const until = started + 13_000;
    const hotWorker = async (): Promise<void> => {
      for (let i = 0; Date.now() < until; i++) {
        const key = hot[i % hot.length] ?? '';
        if (i % 15 === 14) await load.evict(key);
        await load.warm(key);
        if (i % 10 === 0) await load.warm(`fresh-${run}-${String(i)}-${String(Math.random())}`);
        await sleep(20);
      }
    };
    const sideWorker = async (): Promise<void> => {
      for (let i = 0; Date.now() < until; i++) {
        await load.workspace(i % 4 === 0 ? `ws-${run}-${String(i)}` : `ws-${run}-prime`);
        if (i % 8 === 0) await load.fails(`f-${run}`);
        if (i % 12 === 0)
          await Promise.all([0, 1, 2].map(() => load.slow(`cap-${run}-${String(i % 2)}`, 300)));
        await sleep(50);
      }
    };
    const chaos = async (): Promise<void> => {
      await sleep(2_000);
      await load.slow(`cap-${run}-late`, 0); // throttled: the cap's two environments are idle, not gone
      await sleep(1_000);
      // Down (connection refused: degraded time, no command is sent), then hung
      // (SIGSTOP: commands sent and timed out, which is what "Redis errors" counts).
      await redis.kill();
      await sleep(3_000);
      await redis.restart();
      await sleep(1_500);
      const pid = redis.pid;
      if (pid === undefined) throw new Error('private redis did not restart');
      process.kill(pid, 'SIGSTOP');
      await sleep(2_000);
      process.kill(pid, 'SIGCONT');
    };
    await Promise.all([hotWorker(), hotWorker(), sideWorker(), chaos()]);
    const loadSeconds = (Date.now() - started) / 1000;
    const at = await waitForScrapeAfter(Date.now() / 1000 + SCRAPE_SECONDS);
    // Rules are evaluated every second too; one more tick lets the recorded series catch up.
    await sleep(1_500);

    const job = 'warmroute';
    const results: { target: Target; samples: PromSample[] }[] = [];
    for (const target of panelTargets())
      results.push({
        target,
        samples: await prom.query(substitute(target.expr, job, instance), at),
      });

    const variables: string[] = [];
    for (const v of variableQueries()) {
      const { expr, label } = labelValuesAsPromql(v.query);
      const values = (await prom.query(substitute(expr, job, instance), at)).map(
        (x) => x.metric[label] ?? '',
      );
      variables.push(`$${v.name}: ${values.sort().join(', ')}`);
    }

    // Measured from the responses after priming: per function, hits / responses carrying a state.
    const measured = new Map<string, { hits: number; total: number }>();
    for (const s of load.seen.slice(primed)) {
      if (s.state === undefined) continue;
      const m = measured.get(s.fn) ?? { hits: 0, total: 0 };
      m.total++;
      if (s.state === 'hit') m.hits++;
      measured.set(s.fn, m);
    }
    const hitPanel = results.find((r) => r.target.panel === 'Hit ratio by function and route');
    const reported = new Map(
      (hitPanel?.samples ?? []).map((s) => [s.metric['function'] ?? '', s.value]),
    );

    const empty = results.filter((r) => !hasData(r.samples));
    const lines = [
      `prometheus e2e: load ${loadSeconds.toFixed(1)} s, ${String(load.seen.length - primed)} requests ` +
        `(${String(load.seen.slice(primed).filter((s) => s.status === 429).length)} × 429), ` +
        `$__rate_interval=${RATE_INTERVAL}, scrape ${String(SCRAPE_SECONDS)} s`,
      `queries run: ${String(results.length)}, with data: ${String(results.length - empty.length)}`,
      ...empty.map(
        (r) => `  no data: ${r.target.dashboard} / ${r.target.panel} / ${r.target.refId}`,
      ),
      ...results.map(
        (r) =>
          `  ${r.target.dashboard} / ${r.target.panel} / ${r.target.refId}: ${String(r.samples.length)} series, max ${String(Math.max(...r.samples.map((x) => x.value).filter(Number.isFinite)))}`,
      ),
      `variables: ${variables.join('; ')}`,
      ...[...measured].map(
        ([fn, m]) =>
          `hit ratio ${fn}: measured ${(m.hits / m.total).toFixed(4)} (${String(m.hits)}/${String(m.total)}), ` +
          `reported ${reported.get(fn)?.toFixed(4) ?? 'none'}`,
      ),
    ];
    console.log(lines.join('\n'));

    // Assess
    // By panel: a panel with several empty queries is listed once.
    expect(
      [...new Set(empty.map((r) => `${r.target.dashboard} / ${r.target.panel}`))].sort(),
    ).toEqual(Object.keys(NO_DATA_EXPECTED).sort());
    for (const panel of MOVED_BY_LOAD) {
      const values = results
        .filter((r) => r.target.panel === panel)
        .flatMap((r) => r.samples.map((x) => x.value));
      expect(Math.max(...values.filter(Number.isFinite)), panel).toBeGreaterThan(0);
    }
    expect(variables).toEqual(
      expect.arrayContaining([
        `$job: ${job}`,
        `$instance: ${instance}`,
        '$function: fails, slow, warm-counter, workspace',
      ]),
    );
    expect(measured.get('warm-counter')?.hits).toBeGreaterThan(50);
    for (const [fn, m] of measured) {
      const value = reported.get(fn);
      expect(value, `hit ratio of ${fn}`).toBeDefined();
      expect(Math.abs((value ?? 0) - m.hits / m.total), `hit ratio of ${fn}`).toBeLessThanOrEqual(
        HIT_RATIO_TOLERANCE,
      );
    }
  }, 90_000);
});
