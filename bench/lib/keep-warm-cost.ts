/**
 * Cost of cold starts and keep-warm pings over a timed trace, for three
 * regimes the keep-warm bench compares (issue 18): no keep-warm (baseline),
 * a given policy's decisions, and the clairvoyant bound.
 *
 * The model. An environment serves one key and dies T (`idleReclaimMs`)
 * after its last use: a request whose gap since the key's previous request
 * is ≤ T finds it warm, a gap > T is a cold start, and a key's first request
 * is always one (compulsory, the same in every regime). Concurrency is not
 * modelled: two requests of a key at the same time share one environment.
 * A keep-warm ping is a use: pinging every T' (`pingIntervalMs` ≤ T, T
 * minus a safety margin for timer lateness and reclaim jitter) from the last
 * use keeps the environment alive, and a gap g > T needs exactly
 *
 *     pingsToBridge(g) = ceil((g − T) / T')
 *
 * pings: after k pings the last use is at k·T' and the environment lives to
 * k·T' + T, which reaches g iff k ≥ (g − T) / T'.
 *
 * Prices (USD; defaults are AWS Lambda's x86 list prices, as in
 * docs/deploy.md), with memory in GB = `memoryMb` / 1024:
 *
 * - a cold start = memoryGb × `coldStartPricePerGb` (the tenant-environment
 *   charge, default 0.000167, as `coldStartPricePerGb` in
 *   src/config/schema.ts) + memoryGb × (`initMs` + `rehydrateMs`) / 1000 ×
 *   `durationPricePerGbSecond` (default 0.0000166667): Lambda bills the init
 *   phase and the handler's rehydration as duration;
 * - a ping = `requestPrice` (default 0.0000002) + memoryGb ×
 *   `pingBilledMs` (default 1, Lambda's minimum billed duration) / 1000 ×
 *   `durationPricePerGbSecond`.
 *
 * The request charge and duration of real requests are the same in every
 * regime, so costs here are only what differs: cold starts and pings.
 *
 * Arithmetic: a ping costs about 0.2 µUSD, so integer micro-dollars would
 * round it to 0. Each unit price is rounded once to an integer number of
 * picodollars (1e-12 USD; rounding error ≤ 0.5 pUSD per unit, under 0.0003 %
 * of a 1 ms / 128 MB ping); every total and every comparison after that is
 * integer arithmetic, exact while totals stay under 2^53 pUSD (≈ 9,007 USD).
 *
 * The clairvoyant bound knows each key's next arrival. Per gap g > T it pays
 * min(cold start, pingsToBridge(g) × ping), keeping warm on a tie (same cost,
 * one cold start fewer). It is optimal for this model because gaps are
 * independent: after any request the key's environment has just been used,
 * whatever was decided before, so the total is a sum of per-gap costs and
 * minimising each term minimises the sum. Within one gap there are only two
 * outcomes: the environment dies (a cold start; any ping before that is
 * waste, so the cheapest way is no ping) or it survives (at least
 * pingsToBridge(g) pings, since each ping extends life by at most T'). Gaps
 * ≤ T and the time after a key's last request cost 0. The bound ignores the
 * tenant-environment cap and Lambda's periodic recycling, which can only add
 * cost, so it stays a lower bound for any policy priced by this model.
 */

import {
  PICO_PER_USD,
  keepWarmPrice,
  keepWarmPriceProblems,
  type KeepWarmPriceOptions,
} from '../../src/budget/keep-warm-price.js';

export interface KeepWarmCostOptions extends KeepWarmPriceOptions {
  /** T: an environment dies this long after its last use (ms). */
  readonly idleReclaimMs: number;
  /** T': ping interval that keeps an environment alive, in (0, T] (ms). Default floor(0.9 × T). */
  readonly pingIntervalMs?: number;
}

export interface KeepWarmCostModel {
  readonly idleReclaimMs: number;
  readonly pingIntervalMs: number;
  /** Price of one cold start, integer picodollars. */
  readonly coldStartPico: number;
  /** Price of one keep-warm ping, integer picodollars. */
  readonly pingPico: number;
}

/**
 * Resolves prices to integer picodollars with the gateway's own pricing
 * (src/budget/keep-warm-price.ts), so the bound and the planner cannot drift
 * apart; every bad value is reported in one RangeError.
 */
export function keepWarmCostModel(options: KeepWarmCostOptions): KeepWarmCostModel {
  const t = options.idleReclaimMs;
  const pingIntervalMs = options.pingIntervalMs ?? Math.floor(0.9 * t);
  const problems: string[] = [];
  if (!(Number.isFinite(t) && t > 0))
    problems.push(`idleReclaimMs must be a finite number > 0, got ${t}`);
  if (!(Number.isFinite(pingIntervalMs) && pingIntervalMs > 0 && pingIntervalMs <= t))
    problems.push(`pingIntervalMs must be in (0, idleReclaimMs], got ${pingIntervalMs}`);
  problems.push(...keepWarmPriceProblems(options));
  if (problems.length > 0) throw new RangeError(`keep-warm cost: ${problems.join('; ')}`);
  const { coldStartPico, pingPico } = keepWarmPrice(options);
  return { idleReclaimMs: t, pingIntervalMs, coldStartPico, pingPico };
}

/** Pings needed to carry an environment across a gap (0 when the gap is ≤ T). */
export function pingsToBridge(gapMs: number, model: KeepWarmCostModel): number {
  if (gapMs <= model.idleReclaimMs) return 0;
  return Math.ceil((gapMs - model.idleReclaimMs) / model.pingIntervalMs);
}

/**
 * The longest gap the clairvoyant bound keeps warm: with n = floor(cold /
 * ping) pings affordable, T + n·T'. Infinity when pings are free.
 */
export function breakEvenGapMs(model: KeepWarmCostModel): number {
  if (model.pingPico === 0) return Infinity;
  return (
    model.idleReclaimMs + Math.floor(model.coldStartPico / model.pingPico) * model.pingIntervalMs
  );
}

export interface TimedRequest {
  readonly atMs: number;
  readonly key: number | string;
}

/** The time after one request until its key's next one. */
export interface KeyGap {
  readonly key: number | string;
  /** Index in the trace of the request that opens the gap. */
  readonly index: number;
  readonly fromMs: number;
  /** The key's next request, or null after its last one. */
  readonly toMs: number | null;
}

/** What a policy did during one gap. */
export interface KeepWarmDecision {
  /**
   * The key's next request found the environment warm thanks to the policy.
   * Ignored for gaps ≤ T (warm anyway) and after the key's last request.
   */
  readonly keptWarm: boolean;
  /** Pings sent during the gap (paid whether or not they bridged it). */
  readonly pings: number;
}

export interface KeepWarmCostReport {
  readonly requests: number;
  /** Cold starts in all, compulsory (first request of a key) included. */
  readonly coldStarts: number;
  readonly compulsoryColdStarts: number;
  readonly pings: number;
  /** Gaps > T bridged by keep-warm. */
  readonly keptWarmGaps: number;
  /** Integer picodollars. */
  readonly coldStartCostPico: number;
  readonly pingCostPico: number;
  readonly costPico: number;
  readonly costPerThousandUsd: number;
  readonly coldStartsPerThousand: number;
}

const NO_KEEP_WARM: KeepWarmDecision = { keptWarm: false, pings: 0 };

/** Cost with no keep-warm: every gap > T is a cold start. */
export function baselineCost(
  trace: readonly TimedRequest[],
  model: KeepWarmCostModel,
): KeepWarmCostReport {
  return policyCost(trace, model, () => NO_KEEP_WARM);
}

/** The clairvoyant bound described in the module comment. */
export function clairvoyantCost(
  trace: readonly TimedRequest[],
  model: KeepWarmCostModel,
): KeepWarmCostReport {
  return policyCost(trace, model, (gap) => {
    if (gap.toMs === null) return NO_KEEP_WARM;
    const pings = pingsToBridge(gap.toMs - gap.fromMs, model);
    if (pings === 0 || pings * model.pingPico > model.coldStartPico) return NO_KEEP_WARM;
    return { keptWarm: true, pings };
  });
}

/**
 * Cost of a policy's decisions: `decide` is called once per gap, in trace
 * order (so an online policy can keep its own history), including the gap
 * after each key's last request. A decision that claims a gap > T was kept
 * warm with fewer than pingsToBridge pings is outside the model (it would
 * beat the bound for free) and throws a RangeError.
 */
export function policyCost(
  trace: readonly TimedRequest[],
  model: KeepWarmCostModel,
  decide: (gap: KeyGap) => KeepWarmDecision,
): KeepWarmCostReport {
  const next = nextArrivals(trace);
  const seen = new Set<number | string>();
  let compulsory = 0;
  let gapColdStarts = 0;
  let pings = 0;
  let keptWarmGaps = 0;
  for (let index = 0; index < trace.length; index++) {
    const request = trace[index];
    if (request === undefined) continue;
    if (!seen.has(request.key)) {
      seen.add(request.key);
      compulsory++;
    }
    const toMs = next[index] ?? null;
    const decision = decide({ key: request.key, index, fromMs: request.atMs, toMs });
    if (!(Number.isSafeInteger(decision.pings) && decision.pings >= 0))
      throw new RangeError(
        `keep-warm cost: gap ${index}: pings must be an integer ≥ 0, got ${decision.pings}`,
      );
    pings += decision.pings;
    if (toMs === null) continue;
    const needed = pingsToBridge(toMs - request.atMs, model);
    if (needed === 0) continue;
    if (!decision.keptWarm) {
      gapColdStarts++;
      continue;
    }
    if (decision.pings < needed)
      throw new RangeError(
        `keep-warm cost: gap ${index} (key ${String(request.key)}, ${toMs - request.atMs} ms) ` +
          `claims kept warm with ${decision.pings} pings; it needs ${needed}`,
      );
    keptWarmGaps++;
  }
  const coldStarts = compulsory + gapColdStarts;
  const coldStartCostPico = coldStarts * model.coldStartPico;
  const pingCostPico = pings * model.pingPico;
  const costPico = coldStartCostPico + pingCostPico;
  const perThousand = (n: number): number => (trace.length > 0 ? (n * 1000) / trace.length : 0);
  return {
    requests: trace.length,
    coldStarts,
    compulsoryColdStarts: compulsory,
    pings,
    keptWarmGaps,
    coldStartCostPico,
    pingCostPico,
    costPico,
    costPerThousandUsd: perThousand(costPico) / PICO_PER_USD,
    coldStartsPerThousand: perThousand(coldStarts),
  };
}

/** For each request, its key's next request time (undefined after the last); the trace must be sorted. */
function nextArrivals(trace: readonly TimedRequest[]): (number | undefined)[] {
  const next = new Array<number | undefined>(trace.length);
  const later = new Map<number | string, number>();
  for (let i = trace.length - 1; i >= 0; i--) {
    const request = trace[i];
    if (request === undefined) continue;
    if (!Number.isFinite(request.atMs))
      throw new RangeError(`keep-warm cost: request ${i} has atMs ${request.atMs}`);
    const following = trace[i + 1];
    if (following !== undefined && following.atMs < request.atMs)
      throw new RangeError(`keep-warm cost: trace not sorted by atMs at request ${i + 1}`);
    next[i] = later.get(request.key);
    later.set(request.key, request.atMs);
  }
  return next;
}
