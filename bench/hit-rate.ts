import { formatCount, type SectionInfo } from './lib/bench-cli.js';
import { startProgress, type Progress } from './lib/progress.js';
import { computeOracle, type OracleRequest, type OracleResult } from './oracle.js';
import { runDirectScenario } from './scenarios/direct-scenario.js';
import { runGatewayScenario } from './scenarios/gateway-scenario.js';
import { computeLruBound } from './scenarios/lru-bound.js';
import { withScenarioHost, type HostLimits } from './scenarios/scenario-host.js';
import { summarize, type Outcome, type ScenarioSummary } from './scenarios/summarize.js';
import type { DriveResult, RequestRecord } from './workload/drive.js';
import { generateTrace } from './workload/trace.js';

/**
 * Hit rate against the oracle (issue 7). One seeded Zipf trace is replayed
 * against three set-ups, each on a fresh local host with the same eviction
 * settings and an empty snapshot store:
 *   1. no tenancy — the wrapped function without tenant isolation, shared
 *      environments (the host hands a request to any idle one);
 *   2. key-as-tenant — the key itself as TenantId, no per-key serialization;
 *   3. warmroute — the gateway with its defaults, RPC route;
 * and compared with
 *   4. the oracle — Belady's MIN under the host's cap and idle rule, on the
 *      request times recorded in the warmroute run (so the idle rule sees the
 *      gaps warmroute really had), and the LRU bound (same, but with the
 *      host's LRU eviction: what perfect routing gets on this host).
 * Every state comes from the function's own report (withWarmState).
 */

export interface HitRateParams {
  readonly keys: number;
  readonly requests: number;
  readonly concurrency: number;
  readonly zipfS: number;
  readonly seed: number;
  readonly limits: HostLimits;
  readonly requestTimeoutMs: number;
  readonly pricePerGb: number;
}

export const FULL: HitRateParams = {
  keys: 2_000,
  requests: 50_000,
  concurrency: 32,
  zipfS: 1.1,
  seed: 20_240_607,
  limits: { idleTimeoutMs: 300_000, maxEnvironments: 256 },
  requestTimeoutMs: 30_000,
  pricePerGb: 0.000167,
};

/**
 * Smoke size. Each miss costs a real process start (~0.1 s of this
 * machine's two cores), so the quick run is sized by its cold starts (~200
 * over the three scenarios), not by its request count.
 */
export const QUICK: HitRateParams = {
  ...FULL,
  keys: 24,
  requests: 240,
  concurrency: 4,
  limits: { idleTimeoutMs: 300_000, maxEnvironments: 8 },
};

/** A scaled-down full run (same shape: binding cap, C = 32) that finishes in ~15 minutes here. */
export const MEDIUM: HitRateParams = {
  ...FULL,
  keys: 500,
  requests: 8_000,
  limits: { idleTimeoutMs: 300_000, maxEnvironments: 64 },
};

const SCENARIOS = ['no-tenancy', 'key-as-tenant', 'warmroute'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

function sizeOf(p: HitRateParams): string {
  return `K=${formatCount(p.keys)} keys, N=${formatCount(p.requests)} requests × ${SCENARIOS.length} scenarios, C=${p.concurrency}, cap ${p.limits.maxEnvironments} environments`;
}

export const info: SectionInfo = {
  size: { quick: sizeOf(QUICK), full: sizeOf(FULL) },
  // Every miss is a real process start: the time follows the cold starts, not N.
  duration: { quick: '~25–65 s', full: '50–90 min' },
};

/**
 * Progress of one scenario's replay: a tick per settled request, and the
 * scenario's hit rate so far in the phase text.
 */
function scenarioProgress(
  progress: Progress,
  name: ScenarioName,
): (record: RequestRecord<Outcome>) => void {
  const where = `${name} (${SCENARIOS.indexOf(name) + 1}/${SCENARIOS.length})`;
  progress.phase(`${where}: starting`);
  let settled = 0;
  let hits = 0;
  return (record) => {
    settled++;
    if (record.result?.state === 'hit') hits++;
    progress.tick();
    progress.phase(`${where}: ${pct(hits / settled)} hits so far`);
  };
}

interface ScenarioFigures extends ScenarioSummary {
  readonly ofOracle: number;
  readonly memory: { peakProcesses: number; peakRssMiB: number; sampled: boolean };
  readonly extra?: Record<string, unknown>;
}

const keyName = (k: number): string => `key-${k}`;

function toOracleTrace(result: DriveResult<Outcome>): OracleRequest[] {
  return result.records.map((r) => ({ key: r.key, start: r.start, end: r.end }));
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-';
}

function ms(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : '-';
}

function printTable(
  params: HitRateParams,
  rows: Record<ScenarioName, ScenarioFigures>,
  oracle: OracleResult,
  lru: OracleResult,
): void {
  const header = [
    'scenario',
    'hit',
    'rehydr',
    'fresh',
    'err',
    'hit rate',
    '/oracle',
    'cold st.',
    'cost $',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'req/s',
    'envs',
    'RSS MiB',
  ];
  const lines: string[][] = [header];
  for (const [name, r] of Object.entries(rows)) {
    lines.push([
      name,
      String(r.hit),
      String(r.rehydrated),
      String(r.fresh),
      String(r.errors + r.unknown),
      pct(r.hitRate),
      pct(r.ofOracle),
      String(r.coldStarts),
      r.coldStartCostUsd.toFixed(4),
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p95),
      ms(r.latencyMs.p99),
      r.throughputRps.toFixed(0),
      String(r.memory.peakProcesses),
      String(r.memory.peakRssMiB),
    ]);
  }
  for (const [name, o] of [
    ['oracle (MIN)', oracle],
    ['LRU bound', lru],
  ] as const) {
    lines.push([
      name,
      String(o.hits),
      '',
      String(o.coldMisses),
      '',
      pct(o.hitRate),
      pct(o.hitRate / oracle.hitRate),
      String(o.requests - o.hits),
      '',
      '',
      '',
      '',
      '',
      '',
      '',
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  console.log(
    `Zipf(${params.zipfS}) K=${params.keys} N=${params.requests} C=${params.concurrency}; host: cap ${params.limits.maxEnvironments} environments, idle eviction ${params.limits.idleTimeoutMs / 1000} s`,
  );
  for (const l of lines)
    console.log(
      l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    );
  console.log(
    `oracle misses: ${oracle.coldMisses} first use, ${oracle.idleMisses} idle, ${oracle.capacityMisses} capacity; LRU bound: ${lru.capacityMisses} capacity, ${lru.idleMisses} idle`,
  );
}

export async function runHitRate(params: HitRateParams): Promise<Record<string, unknown>> {
  const trace = generateTrace({
    keys: params.keys,
    requests: params.requests,
    zipfS: params.zipfS,
    seed: params.seed,
  });
  const pricing = { pricePerGb: params.pricePerGb };
  const rows = {} as Record<ScenarioName, Omit<ScenarioFigures, 'ofOracle'>>;
  let warmrouteTrace: OracleRequest[] = [];
  const progress = startProgress('hit-rate', params.requests * SCENARIOS.length, 'requests');
  try {
    for (const tenancy of ['none', 'key'] as const) {
      const name = tenancy === 'none' ? 'no-tenancy' : 'key-as-tenant';
      const onSettled = scenarioProgress(progress, name);
      rows[name] = await withScenarioHost(params.limits, async (s) => {
        const result = await runDirectScenario(s, {
          tenancy,
          trace,
          concurrency: params.concurrency,
          keyName,
          requestTimeoutMs: params.requestTimeoutMs,
          onSettled,
        });
        return {
          ...summarize(result.records, result.elapsedMs, {
            ...pricing,
            memoryMb: s.shape.memoryMb,
          }),
          memory: s.memory(),
          extra: { host: s.host.stats().functions },
        };
      });
    }
    const onSettled = scenarioProgress(progress, 'warmroute');
    rows.warmroute = await withScenarioHost(params.limits, async (s) => {
      const result = await runGatewayScenario(s, {
        trace,
        concurrency: params.concurrency,
        keyName,
        onSettled,
      });
      warmrouteTrace = toOracleTrace(result);
      return {
        ...summarize(result.records, result.elapsedMs, { ...pricing, memoryMb: s.shape.memoryMb }),
        // The gateway does not return the report's reason; its metrics count them.
        missReasons: result.missReasons,
        memory: s.memory(),
        extra: {
          queueWait: result.queueWait,
          gatewayMissReasons: result.missReasons,
          host: s.host.stats().functions,
        },
      };
    });
  } finally {
    progress.done();
  }

  const limits = {
    idleTimeoutMs: params.limits.idleTimeoutMs,
    capacity: params.limits.maxEnvironments,
  };
  const oracle = computeOracle(warmrouteTrace, limits);
  const lru = computeLruBound(warmrouteTrace, limits);
  const withRatio = Object.fromEntries(
    Object.entries(rows).map(([name, r]) => [name, { ...r, ofOracle: r.hitRate / oracle.hitRate }]),
  ) as Record<ScenarioName, ScenarioFigures>;
  printTable(params, withRatio, oracle, lru);

  const w = withRatio.warmroute;
  const ratios = {
    warmrouteOfOracle: w.ofOracle,
    warmrouteOfLruBound: w.hitRate / lru.hitRate,
    lruBoundOfOracle: lru.hitRate / oracle.hitRate,
    warmrouteVsKeyAsTenant: w.hitRate / withRatio['key-as-tenant'].hitRate,
    warmrouteVsNoTenancy: w.hitRate / withRatio['no-tenancy'].hitRate,
  };
  for (const [name, r] of Object.entries(withRatio)) {
    const reasons = Object.entries(r.missReasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(
      `${name}: misses by reason: ${reasons || 'none'}${r.errorSamples.length > 0 ? `; errors e.g. ${r.errorSamples.slice(0, 2).join(' | ')}` : ''}`,
    );
  }
  const qw = (w.extra?.['queueWait'] ?? undefined) as
    { count: number; sumMs: number; maxBucketMs?: number } | undefined;
  if (qw !== undefined && qw.count > 0) {
    console.log(
      `warmroute per-key queue wait: mean ${(qw.sumMs / qw.count).toFixed(2)} ms over ${qw.count} requests, longest ≤ ${qw.maxBucketMs ?? '?'} ms`,
    );
  }
  const goalMet = w.ofOracle >= 0.98;
  console.log(
    `warmroute: ${pct(ratios.warmrouteOfOracle)} of the oracle (goal ≥ 98%: ${goalMet ? 'met' : 'NOT met'}), ${pct(ratios.warmrouteOfLruBound)} of the LRU bound; ` +
      `hit rate ×${ratios.warmrouteVsKeyAsTenant.toFixed(2)} key-as-tenant, ×${ratios.warmrouteVsNoTenancy.toFixed(2)} no tenancy`,
  );
  return {
    params,
    scenarios: withRatio,
    oracle,
    lruBound: lru,
    ratios,
    goal: { warmrouteOfOracle: 0.98, met: goalMet },
  };
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  return runHitRate(opts.quick ? QUICK : FULL);
}
