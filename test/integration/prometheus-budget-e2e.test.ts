import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ruleGroups } from '../../dashboards/src/rules.js';
import { functionSettingsOf } from '../../src/config/function-settings.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createGateway } from '../../src/create-gateway.js';
import { loadFunctionsFile, startLocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';
import { ADMIN_TOKEN } from '../helpers/gateway.js';
import { startPrometheus, type PromSample, type RunningPrometheus } from '../helpers/prometheus.js';

/**
 * Issue 18 on the dashboards: Debian's prometheus scrapes a gateway whose
 * tenant-environment budget binds, in front of the local host in its
 * Lambda-like mode (idle reclaim after IDLE_RECLAIM_MS, no jitter), with the
 * rule files loaded. `workspace` has a cap of SPILL_CAP and the RPC route
 * the `reject` policy: three hot keys hold the cap and every new key is
 * refused (429). `warm-counter` keys come back after gaps on both sides of
 * the host's idle reclaim, so the gateway learns its idle lifetime. Then the
 * Capacity dashboard's budget panels run through /api/v1/query and
 * WarmrouteTenantBudgetNearCap must be pending (its `for` is 10 minutes)
 * for `workspace` only.
 *
 * The general dashboard e2e (prometheus-e2e.test.ts) runs the stock
 * configuration, whose budgets never bind and whose host never reclaims
 * within the test: there the spill and idle-lifetime panels are empty.
 */

const SCRAPE_SECONDS = 1;
/** Wide enough to hold the whole load (up to 60 s) in one instant query's window. */
const RATE_INTERVAL = '2m';
const IDLE_RECLAIM_MS = 400;
const SPILL_CAP = 3;
/** The Capacity panels this test reads, by title (docs/dashboards.md). */
const ALIVE_VS_CAP = 'Tenant environments alive vs cap';
const USE = 'Tenant budget use';
const SPILLS = 'Tenant budget spills by policy and outcome';
const IDLE = 'Learned idle lifetime';

interface PanelJson {
  title?: string;
  targets?: { refId?: string; expr?: string }[];
}

function capacityTargets(title: string): string[] {
  const json = JSON.parse(
    readFileSync(join(packageRoot, 'dashboards', 'capacity.json'), 'utf8'),
  ) as { panels: PanelJson[] };
  const panel = json.panels.find((p) => p.title === title);
  const exprs = (panel?.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [t.expr]));
  if (exprs.length === 0) throw new Error(`capacity.json has no panel "${title}" with queries`);
  return exprs;
}

/** What Grafana sends with job and instance chosen and function on "All". */
function substitute(expr: string, instance: string): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$job', 'warmroute')
    .replaceAll('$instance', instance)
    .replaceAll('$function', '.*');
}

const byFunction = (samples: PromSample[]): Record<string, number> =>
  Object.fromEntries(samples.map((s) => [s.metric['function'] ?? '', s.value]));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Log-uniform over [lo, hi]: as many gaps in each doubling, the way the estimate buckets them. */
const logUniform = (lo: number, hi: number): number => lo * Math.pow(hi / lo, Math.random());

describe('budget panels and WarmrouteTenantBudgetNearCap against a real Prometheus', () => {
  let prometheus: RunningPrometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('shows the cap reached, the spills it causes and the learned idle lifetime', async () => {
    // Prepare: the local host reclaims idle environments as Lambda does; the gateway's budget
    // for `workspace` is SPILL_CAP tenants, with the `reject` policy on the RPC route.
    const snapshotDir = await mkdtemp(join(tmpdir(), 'wr-prom-budget-'));
    onTestFinished(() => rm(snapshotDir, { recursive: true, force: true }));
    const functionsFile = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
    const localHost = await startLocalHost({
      port: 0,
      functionsFile,
      env: {
        ...process.env,
        WARMROUTE_SNAPSHOT_DIR: snapshotDir,
        WARMROUTE_SNAPSHOT_REDIS_URL: '',
      },
      reclaim: 'idle',
      idleReclaimMs: IDLE_RECLAIM_MS,
      idleJitterMs: 0,
    });
    onTestFinished(() => localHost.close());
    const declared = functionSettingsOf(loadFunctionsFile(functionsFile));
    const workspace = declared['workspace'];
    if (workspace === undefined) throw new Error('no workspace in the test functions');
    const config = loadConfig(
      {
        WARMROUTE_SECRET: 'test-secret-0123456789abcdef',
        WARMROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
        AWS_ENDPOINT_URL_LAMBDA: localHost.url,
        PORT: '0',
        WARMROUTE_LOG_LEVEL: 'silent',
      },
      {
        overrides: {
          functions: {
            ...declared,
            workspace: { ...workspace, tenantEnvironmentCap: SPILL_CAP },
          },
          routes: [{ prefix: '/warm', function: 'warm-counter', mode: 'affinity' }],
          rpcBudget: { policy: 'reject' },
        },
      },
    );
    const gateway = await createGateway(config, { defaultMetrics: false });
    onTestFinished(() => gateway.close());
    const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const adminUrl = (await gateway.admin?.listen({ host: '127.0.0.1', port: 0 })) ?? url;

    const statuses: number[] = [];
    const warm = async (key: string): Promise<void> => {
      const res = await request(`${url}/warm`, { headers: { 'x-affinity-key': key } });
      await res.body.text();
      expect(res.statusCode).toBe(200);
    };
    const ws = async (key: string): Promise<number> => {
      const res = await request(`${url}/v1/functions/workspace/invoke`, {
        method: 'POST',
        headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ op: 'list' }),
      });
      await res.body.text();
      statuses.push(res.statusCode);
      return res.statusCode;
    };
    const run = randomBytes(3).toString('hex');
    const hot = Array.from({ length: SPILL_CAP }, (_, i) => `hot-${run}-${String(i)}`);

    // Priming: the hot keys take every place (each asks until admitted: near the cap a new
    // key must be seen more often than the coldest live one), then one new key spills, so
    // the spill series exists before the first scrape (rate() cannot see a series' birth).
    for (const key of hot) {
      for (let i = 0; i < 5 && (await ws(key)) !== 200; i++);
    }
    for (const key of hot) expect(await ws(key), key).toBe(200);
    expect(await ws(`new-${run}-prime`)).toBe(429);

    prometheus = await startPrometheus({
      targets: [{ job: 'warmroute', hostPort: new URL(adminUrl).host }],
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

    // Act: at least 10 s, and until the gateway exports a learned idle lifetime (how much
    // evidence that takes depends on how fast this machine starts environments; at most 60 s).
    // Learners: each key comes back after a gap log-uniform over half to twice the host's idle
    // reclaim, so the gaps fall on both sides of it and near it, where the estimate needs its
    // evidence. Spiller: a new key every round, refused at once (the hot keys hold every place:
    // the budget counts them alive for the 10-minute prior, learned on no gap).
    const started = Date.now();
    let exported = false;
    const going = (): boolean =>
      Date.now() < started + 10_000 || (!exported && Date.now() < started + 60_000);
    const watcher = async (): Promise<void> => {
      while (going()) {
        const res = await request(`${adminUrl}/metrics`);
        const text = await res.body.text();
        exported = /^warmroute_idle_lifetime_seconds\{function="warm-counter"\}/m.test(text);
        await sleep(500);
      }
    };
    const learner = async (w: number): Promise<void> => {
      const key = `learn-${run}-${String(w)}`;
      while (going()) {
        await warm(key);
        await sleep(logUniform(IDLE_RECLAIM_MS / 2, IDLE_RECLAIM_MS * 2));
      }
    };
    const spiller = async (): Promise<void> => {
      for (let i = 0; going(); i++) {
        expect(await ws(`new-${run}-${String(i)}`)).toBe(429);
        await sleep(200);
      }
    };
    await Promise.all([watcher(), ...Array.from({ length: 10 }, (_, w) => learner(w)), spiller()]);
    const loadSeconds = (Date.now() - started) / 1000;
    const at = await waitForScrapeAfter(Date.now() / 1000 + SCRAPE_SECONDS);
    await sleep(1_500); // one more rule evaluation

    const instance = new URL(adminUrl).host;
    const query = async (title: string, i: number): Promise<PromSample[]> =>
      prom.query(substitute(capacityTargets(title)[i] ?? '', instance), at);
    const alive = byFunction(await query(ALIVE_VS_CAP, 0));
    const cap = byFunction(await query(ALIVE_VS_CAP, 1));
    const use = byFunction(await query(USE, 0));
    const spills = await query(SPILLS, 0);
    const idle = byFunction(await query(IDLE, 0));
    const alerts = await prom.query('ALERTS{alertname="WarmrouteTenantBudgetNearCap"}', at);
    console.log(
      [
        `prometheus budget e2e: load ${loadSeconds.toFixed(1)} s, ${String(statuses.length)} workspace requests, ` +
          `${String(statuses.filter((s) => s === 429).length)} × 429`,
        `alive ${JSON.stringify(alive)}; cap ${JSON.stringify(cap)}; use ${JSON.stringify(use)}`,
        `spills ${JSON.stringify(spills.map((s) => [s.metric, s.value]))}`,
        `learned idle lifetime ${JSON.stringify(idle)} s (host reclaims after ${String(IDLE_RECLAIM_MS / 1000)} s)`,
        `alerts ${JSON.stringify(alerts.map((a) => a.metric))}`,
      ].join('\n'),
    );

    // Assess: the budget full for workspace, far from full for warm-counter.
    expect(alive['workspace']).toBe(SPILL_CAP);
    expect(cap['workspace']).toBe(SPILL_CAP);
    expect(use['workspace']).toBe(1);
    expect(cap['warm-counter']).toBe(2_500);
    expect(alive['warm-counter']).toBeGreaterThanOrEqual(1);
    expect(use['warm-counter']).toBeLessThan(0.9);
    // Every spill is workspace's, refused by the reject policy, and the panel moved.
    expect(
      spills.map((s) => [s.metric['function'], s.metric['policy'], s.metric['outcome']]),
    ).toEqual([['workspace', 'reject', 'rejected']]);
    expect(spills[0]?.value).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(10);
    // The learned lifetime is near the host's reclaim (its median), not the 10-minute prior.
    const learned = idle['warm-counter'];
    expect(learned).toBeDefined();
    expect(learned).toBeGreaterThan((IDLE_RECLAIM_MS / 1000) * 0.5);
    expect(learned).toBeLessThan((IDLE_RECLAIM_MS / 1000) * 2);
    // The alert's condition holds for workspace alone; it waits out its 10 minutes pending.
    expect(alerts.map((a) => [a.metric['function'], a.metric['alertstate']])).toEqual([
      ['workspace', 'pending'],
    ]);
  }, 150_000);
});
