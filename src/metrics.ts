import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Directory } from './directory/types.js';
import { HotCounter, HotHistogram } from './hot-metrics.js';
import type { Scheduler } from './scheduler/types.js';

/**
 * Every `warmroute_*` metric is defined here and nowhere else; dashboards and
 * alert rules use only these names. The registry is the app's own, never the
 * global one. Gauges of current state are computed in `collect()` from
 * providers the app registers, so the data structures stay metric-free.
 * The four metrics every request records are hot-path implementations
 * (hot-metrics.ts) in the same registry; the rest are prom-client's own.
 */

const invocationLabels = ['function', 'route', 'state', 'outcome'] as const;
const durationLabels = ['function', 'state'] as const;
const functionLabel = ['function'] as const;
const reasonLabels = ['function', 'reason'] as const;
const rejectionLabels = ['reason'] as const;
const backendErrorLabels = ['function', 'type'] as const;
const invalidReportLabels = ['function', 'field'] as const;
const throttleLabels = ['function', 'reason', 'tenancy'] as const;
const spillLabels = ['function', 'policy', 'outcome'] as const;

/**
 * Seconds; request durations span sub-millisecond hits to multi-second cold starts. Exported for
 * the rule generator (dashboards/src/rules.ts): the latency SLO's threshold must be one of these.
 */
export const durationBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
const overheadBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];

/** The sources of the gauges read at each scrape: views of the components' declared interfaces. */
export type DirectoryGaugeSource = Pick<Directory, 'counters'>;
export type SchedulerGaugeSource = Pick<Scheduler, 'stats'>;

/** One function's tenant-environment budget as its gauges read it (src/budget/budget-gate.ts). */
export interface BudgetGaugeReading {
  /** The function's metric label (bounded by the invoker). */
  readonly label: string;
  readonly cap: number;
  alive(): number;
  /** The learned idle lifetime, ms; undefined while unknown. */
  learnedIdleMs(): number | undefined;
  /** The function's keep-warm counters (src/budget/keep-warm.ts); undefined: no route opted in. */
  readonly keepWarm?: (() => KeepWarmReading) | undefined;
}

/** What the keep-warm counters read of a planner's counters (cumulative since start). */
export interface KeepWarmReading {
  readonly pingsSent: number;
  /** Integer picodollars. */
  readonly pingCostPico: number;
  readonly coldStartsAvoided: number;
  readonly pingsWasted: number;
  readonly pingsDenied: number;
}
/** The budgets to read at each scrape. */
export type BudgetGaugeSource = () => Iterable<BudgetGaugeReading>;

type LabelOf<T extends readonly string[]> = T[number];

/**
 * The metrics the request path records, and the registry `/metrics` reads.
 * The `state` labels take an `InvocationState` (lambda/protocol.ts).
 */
export interface Metrics {
  readonly registry: Registry;
  readonly invocations: HotCounter<LabelOf<typeof invocationLabels>>;
  readonly requestDuration: HotHistogram<LabelOf<typeof durationLabels>>;
  readonly routingOverhead: HotHistogram;
  readonly queueWait: HotHistogram;
  readonly concurrencyRejections: Counter<LabelOf<typeof rejectionLabels>>;
  readonly backendErrors: Counter<LabelOf<typeof backendErrorLabels>>;
  readonly misses: Counter<LabelOf<typeof reasonLabels>>;
  readonly rehydrationDuration: Histogram<LabelOf<typeof functionLabel>>;
  readonly coldStarts: Counter<LabelOf<typeof functionLabel>>;
  readonly coldStartCost: Counter<LabelOf<typeof functionLabel>>;
  readonly throttleRetries: Counter<LabelOf<typeof functionLabel>>;
  readonly backendThrottles: Counter<LabelOf<typeof throttleLabels>>;
  readonly invalidReports: Counter<LabelOf<typeof invalidReportLabels>>;
  /** Requests the tenant-environment budget spilled, by the route's policy and what became of them. */
  readonly tenantBudgetSpills: Counter<LabelOf<typeof spillLabels>>;
  /** Count a new tenant environment and its estimated price. */
  recordColdStart(functionName: string, memoryMb: number): void;
  /** The source of the directory's gauges, read at each scrape. */
  watchDirectory(source: DirectoryGaugeSource): void;
  /** The source of the scheduler's gauges, read at each scrape. */
  watchScheduler(source: SchedulerGaugeSource): void;
  /** The source of the tenant-environment budgets' gauges, read at each scrape. */
  watchBudgets(source: BudgetGaugeSource): void;
}

/**
 * How often, in ms, the event-loop delay monitor behind the default
 * `warmroute_process_nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`
 * gauges samples. prom-client's own default is 10 ms: up to 100 timer
 * wake-ups a second that kept an idle gateway at ≈3–5 ms of CPU a second on a
 * 2-vCPU VM, a cost paid whether or not anything runs; at 100 ms the whole
 * idle process uses ≈0.5 ms/s (bench/idle.ts). What that costs in accuracy: Node records the time between two
 * samples, so an idle loop reads ≈0.1 s instead of ≈0.01 s (lag = value −
 * 0.1 s); a stall of at least 100 ms still delays a sample and shows in `max`,
 * a shorter one lands in the histogram with probability (its length / 100 ms);
 * a 15 s scrape interval holds ≈150 samples instead of ≈1,500. The scrape-time
 * `warmroute_process_nodejs_eventloop_lag_seconds` is not sampled and does not
 * change.
 */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 100;

export function createMetrics(options: {
  defaultMetrics?: boolean;
  /** The default metrics' event-loop sampling interval; default `EVENT_LOOP_MONITORING_PRECISION_MS`. */
  eventLoopMonitoringPrecisionMs?: number;
  coldStartPricePerGb: number;
}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({
      register: registry,
      prefix: 'warmroute_process_',
      eventLoopMonitoringPrecision:
        options.eventLoopMonitoringPrecisionMs ?? EVENT_LOOP_MONITORING_PRECISION_MS,
    });

  let directory: DirectoryGaugeSource | undefined;
  let scheduler: SchedulerGaugeSource | undefined;
  let budgets: BudgetGaugeSource | undefined;

  const invocations = new HotCounter({
    name: 'warmroute_invocations_total',
    help: 'Invocations by function, route, warm-state outcome (hit/rehydrated/fresh/unknown) and outcome (ok/function_error/error/cancelled).',
    labelNames: invocationLabels,
    registers: [registry],
  });
  const requestDuration = new HotHistogram({
    name: 'warmroute_request_duration_seconds',
    help: 'End-to-end gateway request duration by warm state.',
    labelNames: durationLabels,
    buckets: durationBuckets,
    registers: [registry],
  });
  const routingOverhead = new HotHistogram({
    name: 'warmroute_routing_overhead_seconds',
    help: 'Time a request spent in the gateway outside the backend call and queue waits.',
    buckets: overheadBuckets,
    registers: [registry],
  });
  const queueWait = new HotHistogram({
    name: 'warmroute_queue_wait_seconds',
    help: 'Time requests waited for their key, tenant or global slot.',
    buckets: durationBuckets,
    registers: [registry],
  });
  const concurrencyRejections = new Counter({
    name: 'warmroute_concurrency_rejections_total',
    help: "Requests the gateway did not run: the scheduler refused them (key_busy, concurrency, deadline, shutting_down), a function's tenant-environment budget was full (tenant_budget), or the caller left while waiting (cancelled).",
    labelNames: rejectionLabels,
    registers: [registry],
  });
  const backendErrors = new Counter({
    name: 'warmroute_backend_errors_total',
    help: 'Backend failures by type (a known function error type, throttled, deadline, upstream exception name, WR_ERR_* code; other for anything else).',
    labelNames: backendErrorLabels,
    registers: [registry],
  });
  const misses = new Counter({
    name: 'warmroute_state_misses_total',
    help: 'Invocations whose state was not a hit, by reason (first-use, released, stale, conflict, none: a fresh start, unknown: no reason given, other: an unknown reason).',
    labelNames: reasonLabels,
    registers: [registry],
  });
  const rehydrationDuration = new Histogram({
    name: 'warmroute_rehydration_duration_seconds',
    help: 'Time functions spent restoring state from a snapshot, as they reported it.',
    labelNames: functionLabel,
    buckets: durationBuckets,
    registers: [registry],
  });
  const coldStarts = new Counter({
    name: 'warmroute_cold_starts_total',
    help: 'New execution environments observed (fresh or first-use rehydration, or Init Duration in the log tail).',
    labelNames: functionLabel,
    registers: [registry],
  });
  const coldStartCost = new Counter({
    name: 'warmroute_cold_start_cost_usd_total',
    help: 'Estimated cost of new tenant environments: GB of configured memory × price per GB.',
    labelNames: functionLabel,
    registers: [registry],
  });
  const throttleRetries = new Counter({
    name: 'warmroute_backend_retries_total',
    help: 'Backend attempts beyond the first (throttling and retryable service errors), whether the request finally succeeded or not.',
    labelNames: functionLabel,
    registers: [registry],
  });
  const backendThrottles = new Counter({
    name: 'warmroute_backend_throttles_total',
    help: "Backend attempts Lambda throttled (each attempt, retries included), by reason (concurrency, rate, unattributed: no known Reason, on a PER_TENANT function the tenant-environment cap) and the function's tenancy (PER_TENANT, NONE).",
    labelNames: throttleLabels,
    registers: [registry],
  });
  const invalidReports = new Counter({
    name: 'warmroute_invalid_reports_total',
    help: 'Warm-state reports from functions with an invalid field (report, env, state, reason, stateVersion, rehydrateMs, conflicts, coldStart); the field was ignored.',
    labelNames: invalidReportLabels,
    registers: [registry],
  });

  const tenantBudgetSpills = new Counter({
    name: 'warmroute_tenant_budget_spills_total',
    help: "Requests whose key got no tenant of its own within the function's tenant-environment budget, by the route's policy (queue, pool, reject) and outcome (dedicated: a place freed while it waited; pooled: run in its domain's pooled tenant; rejected: 429; abandoned: the client left while it waited).",
    labelNames: spillLabels,
    registers: [registry],
  });
  new Gauge({
    name: 'warmroute_tenant_budget_alive',
    help: 'Tenant environments the gateway estimates alive per function (invoked within the idle lifetime), counted against warmroute_tenant_budget_cap.',
    labelNames: functionLabel,
    registers: [registry],
    collect() {
      this.reset();
      for (const b of budgets?.() ?? []) this.set({ function: b.label }, b.alive());
    },
  });
  new Gauge({
    name: 'warmroute_tenant_budget_cap',
    help: 'Tenant environments Lambda allows per function (2,500 per 1,000 concurrency unless configured).',
    labelNames: functionLabel,
    registers: [registry],
    collect() {
      this.reset();
      for (const b of budgets?.() ?? []) this.set({ function: b.label }, b.cap);
    },
  });
  new Gauge({
    name: 'warmroute_idle_lifetime_seconds',
    help: "Learned idle time after which a function's environments are gone (median); absent until learned.",
    labelNames: functionLabel,
    registers: [registry],
    collect() {
      this.reset();
      for (const b of budgets?.() ?? []) {
        const ms = b.learnedIdleMs();
        if (ms !== undefined && Number.isFinite(ms)) this.set({ function: b.label }, ms / 1000);
      }
    },
  });

  /** A counter per function read from its planner's own (they only grow while the gateway runs). */
  const keepWarmCounter = (
    name: string,
    help: string,
    read: (k: KeepWarmReading) => number,
  ): void => {
    new Counter({
      name,
      help,
      labelNames: functionLabel,
      registers: [registry],
      collect() {
        this.reset();
        for (const b of budgets?.() ?? []) {
          const counters = b.keepWarm?.();
          if (counters !== undefined) this.inc({ function: b.label }, read(counters));
        }
      },
    });
  };
  keepWarmCounter(
    'warmroute_keep_warm_invocations_total',
    'Keep-warm pings sent to keep a returning key\'s environment alive (README "Keep-warm").',
    (k) => k.pingsSent,
  );
  keepWarmCounter(
    'warmroute_keep_warm_cost_usd_total',
    'Estimated price of the keep-warm pings sent (request + 1 ms billed), USD.',
    (k) => k.pingCostPico / 1e12,
  );
  keepWarmCounter(
    'warmroute_keep_warm_cold_starts_avoided_total',
    'Returns of a key that found its environment alive only because pings kept it (a cold start each).',
    (k) => k.coldStartsAvoided,
  );
  keepWarmCounter(
    'warmroute_keep_warm_wasted_total',
    'Keep-warm pings that kept nothing: the key came back before its environment would have died, after the pings stopped, cold, or never.',
    (k) => k.pingsWasted,
  );
  keepWarmCounter(
    'warmroute_keep_warm_denied_total',
    'Keep-warm pings the per-minute budget (pingsPerMinute) refused.',
    (k) => k.pingsDenied,
  );

  new Counter({
    name: 'warmroute_l1_hits_total',
    help: 'Directory resolutions answered from the in-process L1 cache.',
    registers: [registry],
    collect() {
      const c = directory?.counters();
      this.reset();
      if (c) this.inc(c.l1Hits);
    },
  });
  new Counter({
    name: 'warmroute_l1_misses_total',
    help: 'Directory resolutions that missed the L1 cache.',
    registers: [registry],
    collect() {
      const c = directory?.counters();
      this.reset();
      if (c) this.inc(c.l1Misses);
    },
  });
  new Counter({
    name: 'warmroute_redis_errors_total',
    help: 'Directory store (Redis) command failures and timeouts.',
    registers: [registry],
    collect() {
      const c = directory?.counters();
      this.reset();
      if (c) this.inc(c.storeErrors);
    },
  });
  new Gauge({
    name: 'warmroute_directory_degraded',
    help: '1 while the directory store is unreachable and tenant IDs come from L1 or derivation.',
    registers: [registry],
    collect() {
      this.set(directory?.counters().degraded === true ? 1 : 0);
    },
  });
  new Counter({
    name: 'warmroute_directory_degraded_seconds_total',
    help: 'Total time the directory store has been degraded.',
    registers: [registry],
    collect() {
      const c = directory?.counters();
      this.reset();
      if (c) this.inc(c.degradedSeconds);
    },
  });
  new Gauge({
    name: 'warmroute_inflight_requests',
    help: 'Backend invocations running now.',
    registers: [registry],
    collect() {
      this.set(scheduler?.stats().running ?? 0);
    },
  });
  new Gauge({
    name: 'warmroute_queued_requests',
    help: 'Requests waiting in the scheduler now.',
    registers: [registry],
    collect() {
      this.set(scheduler?.stats().queued ?? 0);
    },
  });

  return {
    registry,
    invocations,
    requestDuration,
    routingOverhead,
    queueWait,
    concurrencyRejections,
    backendErrors,
    misses,
    rehydrationDuration,
    coldStarts,
    coldStartCost,
    throttleRetries,
    backendThrottles,
    invalidReports,
    tenantBudgetSpills,
    recordColdStart(functionName: string, memoryMb: number): void {
      coldStarts.inc({ function: functionName });
      coldStartCost.inc(
        { function: functionName },
        (memoryMb / 1024) * options.coldStartPricePerGb,
      );
    },
    watchDirectory(source: DirectoryGaugeSource): void {
      directory = source;
    },
    watchScheduler(source: SchedulerGaugeSource): void {
      scheduler = source;
    },
    watchBudgets(source: BudgetGaugeSource): void {
      budgets = source;
    },
  };
}
