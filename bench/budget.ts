import { formatCount, type SectionInfo } from './lib/bench-cli.js';
import {
  coldStartTarget,
  keepWarmCostTarget,
  rowFigures,
  throttleTarget,
  type HostCounts,
  type Row,
  type RowFigures,
  type TargetResult,
} from './lib/budget-figures.js';
import {
  baselineCost,
  clairvoyantCost,
  keepWarmCostModel,
  type KeepWarmCostModel,
  type KeepWarmCostReport,
} from './lib/keep-warm-cost.js';
import { startProgress, type Progress } from './lib/progress.js';
import {
  runKeyAsTenant,
  runWarmroute,
  type GatewayVariant,
  type TimedRunOptions,
} from './scenarios/budget-runs.js';
import {
  WRAPPED_FUNCTION,
  withScenarioHost,
  wrappedFunctionShape,
  type IdleHostLimits,
  type ScenarioHost,
} from './scenarios/scenario-host.js';
import type { Outcome } from './scenarios/summarize.js';
import { generateSessionTrace, type SessionTraceOptions } from './workload/session-trace.js';
import type { TimedArrival, TimedDriveResult, TimedRecord } from './workload/timed-drive.js';
import { generateTimedZipf, type TimedZipfOptions } from './workload/timed-zipf.js';

/**
 * Tenant-environment budget, idle reclaim and keep-warm (issue 18). Two
 * seeded timed traces — the Zipf trace given Poisson times, and the session
 * trace (bench/workload/session-trace.ts) — are replayed open loop against
 * the local host in its Lambda-like mode (`reclaim: 'idle'`: idle reclaim, a
 * maximum lifetime, a small tenant-environment cap answered with 429), a
 * fresh host per row, side by side:
 *   (a) key-as-tenant — the SDK's InvokeCommand with TenantId = key, straight
 *       to the host: what a user of tenant isolation writes by hand;
 *   (b) warmroute strict — today's gateway, affinity mode, not told the cap
 *       (it assumes Lambda's default 2,500, which never binds here);
 *   (c) warmroute with budget — told the cap and idle lifetime, RPC route
 *       with a budget policy (default `pool`, domain from a header);
 *   (d) (c) + keep-warm.
 * A row whose feature this build's config refuses prints "not available"
 * with the loader's reason: nothing is replayed or estimated for it.
 *
 * Time is compressed: the host's idle reclaim T stands for Lambda's 10
 * minutes, and every time of the traces is a multiple of T (think times,
 * pauses, the Zipf gaps), as is the maximum lifetime (2 h). Scaling all of
 * them together keeps each gap's relation to T, which is all the cost model
 * and the host's reclaim look at; what does not scale is a cold start's own
 * duration and the clients' retry backoff (real milliseconds), which are a
 * larger share of T here than on Lambda.
 *
 * Costs (bench/lib/keep-warm-cost.ts) are counts priced: the host's cold
 * starts (each a tenant-environment charge plus billed init and
 * rehydration) and the gateway's keep-warm pings
 * (warmroute_keep_warm_invocations_total), per 1,000 requests of the trace. The clairvoyant bound is
 * computed from the same trace.
 */

/** Lambda's idle reclaim the compressed T stands for (the host's default, src/localhost/reclaim.ts). */
const REAL_IDLE_RECLAIM_MS = 600_000;
/** Lambda recycles environments "every few hours": the host's default, 2 h. */
const REAL_MAX_LIFETIME_MS = 2 * 3_600_000;

export interface BudgetParams {
  /** T in bench time, ms. */
  readonly idleReclaimMs: number;
  readonly tenantEnvironmentCap: number;
  /** Isolation domains (organisations) keys belong to: key k is in domain k mod domains. */
  readonly domains: number;
  /** `pool`: pooled tenants per domain. */
  readonly poolTenants: number;
  /** Row (c)'s policy; BENCH_BUDGET_POLICY overrides. */
  readonly policy: 'queue' | 'pool' | 'reject';
  readonly session: Omit<SessionTraceOptions, 'idleReclaimMs'>;
  readonly zipf: TimedZipfOptions;
  readonly requestTimeoutMs: number;
  /** Billed init and rehydration of a cold start (real ms: prices, not bench time). */
  readonly initMs: number;
  readonly rehydrateMs: number;
}

export const FULL: BudgetParams = {
  idleReclaimMs: 3_000,
  tenantEnvironmentCap: 16,
  domains: 2,
  poolTenants: 1,
  policy: 'pool',
  session: { seed: 18, sessions: 200, sessionsPerSecond: 6 },
  zipf: { keys: 500, requests: 2_000, zipfS: 1.1, seed: 20_240_607, requestsPerSecond: 40 },
  requestTimeoutMs: 30_000,
  initMs: 200,
  rehydrateMs: 50,
};

/**
 * Smoke size: every real cold start is a process start (~0.1 s of this
 * machine's two cores), so quick mode is sized by its cold starts, and far
 * pauses are shortened ([2.5, 4] × T instead of [2.5, 8]) to keep the
 * replay short.
 */
export const QUICK: BudgetParams = {
  ...FULL,
  idleReclaimMs: 750,
  tenantEnvironmentCap: 6,
  // The budget keeps a tenth of the cap (at least 1) for pooled tenants: one place here.
  domains: 1,
  session: { seed: 18, sessions: 18, sessionsPerSecond: 12, farPauseFactor: [2.5, 4] },
  zipf: { keys: 24, requests: 100, zipfS: 1.1, seed: 20_240_607, requestsPerSecond: 60 },
};

const ROWS = [
  'key-as-tenant',
  'warmroute strict',
  'warmroute budget',
  'warmroute budget + keep-warm',
] as const;
type RowName = (typeof ROWS)[number];

function scaleOf(p: BudgetParams): number {
  return REAL_IDLE_RECLAIM_MS / p.idleReclaimMs;
}

function sizeOf(p: BudgetParams): string {
  return (
    `session trace ${formatCount(p.session.sessions ?? 0)} sessions + Zipf ${formatCount(p.zipf.requests)} requests, ` +
    `× ${ROWS.length} rows, cap ${p.tenantEnvironmentCap}, T = ${p.idleReclaimMs} ms (1:${scaleOf(p)})`
  );
}

export const info: SectionInfo = {
  size: { quick: sizeOf(QUICK), full: sizeOf(FULL) },
  duration: { quick: '~50–65 s', full: '~10–15 min' },
  env: {
    BENCH_BUDGET_POLICY: "row (c)'s budget policy: queue, pool or reject (default pool)",
  },
};

function policyFromEnv(fallback: BudgetParams['policy']): BudgetParams['policy'] {
  const raw = process.env['BENCH_BUDGET_POLICY'];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'queue' || raw === 'pool' || raw === 'reject') return raw;
  throw new Error(`BENCH_BUDGET_POLICY must be queue, pool or reject, got '${raw}'`);
}

const keyName = (k: number): string => `key-${k}`;
const KEEP_WARM_PREFIX = '/kw';
const domainHeader = 'x-bench-org';

/**
 * A user-facing wait bound (the gateway's default 10 s) in bench time: a
 * request queued for a place waits for an environment to be reclaimed,
 * which is T away, so an unscaled bound would let it wait 10 s × the scale
 * in Lambda's terms (hours at 1:800) and make `queue` look free.
 */
const REAL_QUEUE_WAIT_MS = 10_000;

function budgetOf(p: BudgetParams, policy: BudgetParams['policy']): Record<string, unknown> {
  if (policy === 'pool')
    return { policy, domain: { from: 'header', name: domainHeader }, poolTenants: p.poolTenants };
  if (policy === 'queue')
    return { policy, queueWaitMs: Math.max(1, Math.round(REAL_QUEUE_WAIT_MS / scaleOf(p))) };
  return { policy };
}

/** The gateway configuration of rows (b)–(d). */
function variants(
  p: BudgetParams,
  policy: BudgetParams['policy'],
): Record<Exclude<RowName, 'key-as-tenant'>, GatewayVariant> {
  const budget = {
    config: {
      rpcBudget: budgetOf(p, policy),
    },
    functionFields: {
      tenantEnvironmentCap: p.tenantEnvironmentCap,
      idleLifetimeMs: p.idleReclaimMs,
    },
    headers: (k: number) => ({ [domainHeader]: `org-${k % p.domains}` }),
    expects: {
      feature: 'tenant-environment budget',
      metric: 'warmroute_tenant_budget_cap',
      value: p.tenantEnvironmentCap,
    },
  };
  return {
    'warmroute strict': { config: {}, functionFields: {} },
    'warmroute budget': budget,
    // Keep-warm is a proxy route's opt-in (the RPC route calls any function, and
    // only a function with the library answers a ping): the same budget on a
    // proxy route of the wrapped function, whose response is a proxy response.
    'warmroute budget + keep-warm': {
      ...budget,
      config: {
        routes: [
          {
            prefix: KEEP_WARM_PREFIX,
            function: WRAPPED_FUNCTION,
            mode: 'affinity',
            key: { from: 'header', name: 'x-affinity-key' },
            budget: {
              ...budgetOf(p, policy),
              keepWarm: {
                // The schema's maximum: the per-minute bound is real time, the trace is
                // compressed, and the bench measures the planner's choices, not the bucket.
                pingsPerMinute: 6_000,
                initMs: p.initMs,
                rehydrateMs: p.rehydrateMs,
              },
            },
          },
        ],
      },
      path: KEEP_WARM_PREFIX,
      expects: { feature: 'keep-warm planner', metric: 'warmroute_keep_warm_*' },
    },
  };
}

function hostLimits(p: BudgetParams): IdleHostLimits {
  return {
    reclaim: 'idle',
    idleReclaimMs: p.idleReclaimMs,
    maxLifetimeMs: Math.round(REAL_MAX_LIFETIME_MS / scaleOf(p)),
    tenantEnvironmentCap: p.tenantEnvironmentCap,
    // Only a guard for the machine: well above the tenant cap, so the cap is what binds.
    maxEnvironments: p.tenantEnvironmentCap * 4 + 16,
    jitterSeed: 1,
  };
}

function hostCounts(s: ScenarioHost): HostCounts {
  const f = s.host.stats().functions[WRAPPED_FUNCTION];
  return {
    coldStarts: f?.coldStarts ?? 0,
    throttles: f?.throttles ?? 0,
    invocations: f?.invocations ?? 0,
  };
}

/**
 * Keep-warm pings the gateway sent for the function (its
 * warmroute_keep_warm_invocations_total; 0 without keep-warm). Not the host's
 * invocations minus the requests that ran: a request the client gave up on
 * (headers timeout) still runs on the host and would count as a ping.
 */
function pingsOf(
  metrics: Record<string, { labels: Record<string, unknown>; value: number }[]> | undefined,
): number {
  return (metrics?.['warmroute_keep_warm_invocations_total'] ?? [])
    .filter((v) => v.labels['function'] === WRAPPED_FUNCTION)
    .reduce((sum, v) => sum + v.value, 0);
}

/** Host invocations beyond the requests that answered (pings, and requests the client gave up on): a check, in the JSON. */
function unansweredInvocations(records: readonly TimedRecord<Outcome>[], host: HostCounts): number {
  // A function error ran too (status 200 with X-Amz-Function-Error).
  const ran = records.filter(
    (r) => r.result !== undefined || (r.error as { status?: unknown } | undefined)?.status === 200,
  ).length;
  return Math.max(0, host.invocations - ran);
}

interface TraceRun {
  readonly rows: Record<RowName, Row>;
  readonly clairvoyant: KeepWarmCostReport;
  readonly baseline: KeepWarmCostReport;
  readonly metrics: Record<string, unknown>;
}

async function runTrace(
  name: string,
  arrivals: readonly TimedArrival[],
  p: BudgetParams,
  policy: BudgetParams['policy'],
  model: KeepWarmCostModel,
  progress: Progress,
): Promise<TraceRun> {
  const rows = {} as Record<RowName, Row>;
  const metrics: Record<string, unknown> = {};
  const gateways = variants(p, policy);
  for (const [i, row] of ROWS.entries()) {
    const where = `${name}: ${row} (${i + 1}/${ROWS.length})`;
    progress.phase(where);
    let settled = 0;
    const options: TimedRunOptions = {
      arrivals,
      keyName,
      requestTimeoutMs: p.requestTimeoutMs,
      onSettled: () => {
        settled++;
        progress.tick();
      },
    };
    rows[row] = await withScenarioHost(hostLimits(p), async (s): Promise<Row> => {
      let result: TimedDriveResult<Outcome>;
      let pings = 0;
      if (row === 'key-as-tenant') {
        result = await runKeyAsTenant(s, options);
      } else {
        const run = await runWarmroute(s, gateways[row], options);
        if (!run.available) return run;
        result = run.result;
        pings = pingsOf(run.metrics);
        metrics[row] = run.metrics;
      }
      const host = hostCounts(s);
      metrics[`${row}: host invocations beyond answered requests`] = unansweredInvocations(
        result.records,
        host,
      );
      return { available: true, figures: rowFigures(result.records, host, pings, model) };
    });
    // A row that did not run still counts as done for the bar.
    progress.tick(arrivals.length - settled);
  }
  return {
    rows,
    clairvoyant: clairvoyantCost(arrivals, model),
    baseline: baselineCost(arrivals, model),
    metrics,
  };
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-';
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function printTable(title: string, run: TraceRun): void {
  const header = [
    'row',
    'hit rate',
    '429s',
    'host 429',
    'other err',
    'cold/1k',
    'pings',
    'µUSD/1k',
    'p95 ms',
    'late p95',
    'replay s',
  ];
  const lines: string[][] = [header];
  const notes: string[] = [];
  const micro = (usd: number): string => fixed(usd * 1e6, 1);
  for (const name of ROWS) {
    const row = run.rows[name];
    if (!row.available) {
      lines.push([name, 'not available', '', '', '', '', '', '', '', '', '']);
      notes.push(`${name}: not available — ${row.reason}`);
      continue;
    }
    const f: RowFigures = row.figures;
    lines.push([
      name,
      pct(f.hitRate),
      String(f.throttled),
      String(f.hostCapThrottles),
      String(f.otherErrors),
      fixed(f.coldStartsPerThousand, 1),
      String(f.pings),
      micro(f.costPerThousandUsd),
      fixed(f.p95Ms, 1),
      fixed(f.lateness.p95Ms, 1),
      fixed(f.replayMs / 1000, 1),
    ]);
    if (f.errorSamples.length > 0) notes.push(`${name}: errors e.g. ${f.errorSamples.join(' | ')}`);
  }
  for (const [name, c] of [
    ['model: no keep-warm, no cap', run.baseline],
    ['clairvoyant keep-warm bound', run.clairvoyant],
  ] as const) {
    lines.push([
      name,
      '',
      '',
      '',
      '',
      fixed(c.coldStartsPerThousand, 1),
      String(c.pings),
      micro(c.costPerThousandUsd),
      '',
      '',
      '',
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  console.log(title);
  for (const l of lines)
    console.log(
      l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    );
  for (const n of notes) console.log(`  ${n}`);
}

function printTargets(targets: readonly TargetResult[]): void {
  console.log('targets (issue 18):');
  for (const t of targets) {
    const value =
      t.value === undefined ? '' : ` = ${Number.isInteger(t.value) ? t.value : t.value.toFixed(3)}`;
    console.log(`  [${t.verdict}] ${t.target}${value} (${t.note})`);
  }
}

export async function runBudget(params: BudgetParams): Promise<Record<string, unknown>> {
  const policy = policyFromEnv(params.policy);
  const scale = scaleOf(params);
  const session = generateSessionTrace({ ...params.session, idleReclaimMs: params.idleReclaimMs });
  const zipf = generateTimedZipf(params.zipf);
  const { memoryMb } = wrappedFunctionShape();
  const model = keepWarmCostModel({
    idleReclaimMs: params.idleReclaimMs,
    memoryMb,
    initMs: params.initMs,
    rehydrateMs: params.rehydrateMs,
  });
  const limits = hostLimits(params);
  console.log(
    `host: reclaim idle, T = ${params.idleReclaimMs} ms standing for ${REAL_IDLE_RECLAIM_MS / 60_000} min (time scale 1:${scale}), ` +
      `max lifetime ${limits.maxLifetimeMs} ms (2 h), tenant-environment cap ${params.tenantEnvironmentCap}, ${memoryMb} MB; ` +
      `budget policy ${policy}${policy === 'pool' ? ` (${params.domains} domains × ${params.poolTenants} pooled tenants)` : ''}`,
  );
  console.log(
    `prices: cold start ${(model.coldStartPico / 1e6).toFixed(3)} µUSD (tenant charge + ${params.initMs} ms init + ${params.rehydrateMs} ms rehydration), ` +
      `ping ${(model.pingPico / 1e6).toFixed(3)} µUSD; ping interval ${model.pingIntervalMs} ms`,
  );
  const total = (session.arrivals.length + zipf.length) * ROWS.length;
  const progress = startProgress('budget', total, 'requests');
  let sessionRun: TraceRun;
  let zipfRun: TraceRun;
  try {
    sessionRun = await runTrace('session', session.arrivals, params, policy, model, progress);
    zipfRun = await runTrace('zipf', zipf, params, policy, model, progress);
  } finally {
    progress.done();
  }
  const s = session.summary;
  printTable(
    `session trace: ${s.requests} requests, ${s.sessions} sessions, ${s.keys} keys (peak ${s.peakKeysAlive} alive, mean ${s.meanKeysAlive.toFixed(1)}), ` +
      `${s.nearPauses} near + ${s.farPauses} far pauses, span ${(s.spanMs / 1000).toFixed(1)} s`,
    sessionRun,
  );
  const zipfSpan = zipf.at(-1)?.atMs ?? 0;
  printTable(
    `Zipf trace: Zipf(${params.zipf.zipfS}) over ${params.zipf.keys} keys, ${zipf.length} requests at ${params.zipf.requestsPerSecond}/s (Poisson), span ${(zipfSpan / 1000).toFixed(1)} s`,
    zipfRun,
  );
  const targets = [
    throttleTarget(
      'session',
      sessionRun.rows['key-as-tenant'],
      sessionRun.rows['warmroute budget'],
    ),
    throttleTarget('zipf', zipfRun.rows['key-as-tenant'], zipfRun.rows['warmroute budget']),
    keepWarmCostTarget(
      'session',
      sessionRun.rows['warmroute budget + keep-warm'],
      sessionRun.clairvoyant.costPerThousandUsd,
    ),
    coldStartTarget(
      'session',
      'budget + keep-warm',
      sessionRun.rows['warmroute budget + keep-warm'],
      sessionRun.rows['key-as-tenant'],
    ),
    coldStartTarget(
      'session',
      'budget',
      sessionRun.rows['warmroute budget'],
      sessionRun.rows['key-as-tenant'],
    ),
  ];
  printTargets(targets);
  return {
    params: { ...params, policy, scale, host: limits },
    model,
    session: { summary: s, ...sessionRun },
    zipf: { spanMs: zipfSpan, ...zipfRun },
    targets,
  };
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  return runBudget(opts.quick ? QUICK : FULL);
}
