import type { StateCounts } from './status-document.js';
import { STATES, type CumulativeReading, type FunctionTotals } from './cumulative-read.js';

/**
 * What happened between two readings (cumulative-read.ts): the deltas one
 * point of the status series is made of. Counter resets are decided per
 * metric: when any of a metric's folded values went down or vanished, the
 * metric was reset (prom-client resets a registry's metrics all together,
 * `registry.resetMetrics()`), its earlier reading is no longer a baseline,
 * and the interval counts the metric's new values from zero, as Prometheus's
 * `increase()` does. No delta is ever negative. (A metric that is reset and
 * then grows past its old values within one step goes unnoticed; Prometheus
 * has the same blind spot.)
 */

/** One function's deltas (only functions with something to count are kept). */
export interface FunctionDelta {
  readonly requests: StateCounts;
  readonly coldStarts: number;
  readonly errors: number;
}

export interface IntervalDelta {
  readonly requests: StateCounts;
  readonly functions: ReadonlyMap<string, FunctionDelta>;
  /** Cumulative-by-bound deltas of warm hits' durations (the `+Inf` count last). */
  readonly hitBuckets: Float64Array;
  readonly coldBuckets: Float64Array;
  readonly coldStarts: number;
  readonly coldStartCostUsd: number;
  readonly errors: number;
  readonly rejections: number;
  readonly rejectionReasons: ReadonlyMap<string, number>;
  readonly missReasons: ReadonlyMap<string, number>;
}

type Pick1 = (totals: FunctionTotals) => number;

/** Whether any of a per-function value went down or vanished (the metric was reset). */
function functionsReset(
  before: ReadonlyMap<string, FunctionTotals>,
  after: ReadonlyMap<string, FunctionTotals>,
  pick: Pick1,
): boolean {
  for (const [name, old] of before) {
    const now = after.get(name);
    if (pick(old) > (now === undefined ? 0 : pick(now))) return true;
  }
  return false;
}

function requestsReset(
  before: ReadonlyMap<string, FunctionTotals>,
  after: ReadonlyMap<string, FunctionTotals>,
): boolean {
  for (const [name, old] of before) {
    const now = after.get(name)?.requests;
    for (let i = 0; i < STATES.length; i++)
      if ((old.requests[i] as number) > (now === undefined ? 0 : (now[i] as number))) return true;
  }
  return false;
}

function mapReset(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): boolean {
  for (const [key, old] of before) if (old > (after.get(key) ?? 0)) return true;
  return false;
}

function vectorReset(before: Float64Array, after: Float64Array): boolean {
  for (let i = 0; i < before.length; i++)
    if ((before[i] as number) > (after[i] as number)) return true;
  return false;
}

/** `after − before`, or `after` when the metric was reset; never below 0. */
function delta(before: number, after: number, reset: boolean): number {
  return reset ? after : Math.max(0, after - before);
}

function mapDelta(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): { readonly byKey: Map<string, number>; readonly sum: number } {
  const reset = mapReset(before, after);
  const byKey = new Map<string, number>();
  let sum = 0;
  for (const [key, now] of after) {
    const d = delta(before.get(key) ?? 0, now, reset);
    if (d > 0) {
      byKey.set(key, d);
      sum += d;
    }
  }
  return { byKey, sum };
}

function vectorDelta(before: Float64Array, after: Float64Array, reset: boolean): Float64Array {
  const out = new Float64Array(after.length);
  for (let i = 0; i < after.length; i++)
    out[i] = delta(before[i] as number, after[i] as number, reset);
  return out;
}

export function emptyStateCounts(): StateCounts {
  return { hit: 0, rehydrated: 0, fresh: 0, unknown: 0 };
}

export function intervalDelta(before: CumulativeReading, after: CumulativeReading): IntervalDelta {
  const requestsWereReset = requestsReset(before.functions, after.functions);
  const coldStartsWereReset = functionsReset(
    before.functions,
    after.functions,
    (f) => f.coldStarts,
  );
  const errorsWereReset = functionsReset(before.functions, after.functions, (f) => f.errors);
  const bucketsWereReset =
    vectorReset(before.hitBuckets, after.hitBuckets) ||
    vectorReset(before.coldBuckets, after.coldBuckets);

  const requests = emptyStateCounts();
  const functions = new Map<string, FunctionDelta>();
  let coldStarts = 0;
  let errors = 0;
  for (const [name, now] of after.functions) {
    const old = before.functions.get(name);
    const was = old?.requests;
    const is = now.requests;
    const hit = delta(was?.[0] ?? 0, is[0] as number, requestsWereReset);
    const rehydrated = delta(was?.[1] ?? 0, is[1] as number, requestsWereReset);
    const fresh = delta(was?.[2] ?? 0, is[2] as number, requestsWereReset);
    const unknown = delta(was?.[3] ?? 0, is[3] as number, requestsWereReset);
    const fnColdStarts = delta(old?.coldStarts ?? 0, now.coldStarts, coldStartsWereReset);
    const fnErrors = delta(old?.errors ?? 0, now.errors, errorsWereReset);
    // Sparse: an idle function costs its interval nothing.
    if (hit + rehydrated + fresh + unknown + fnColdStarts + fnErrors === 0) continue;
    requests.hit += hit;
    requests.rehydrated += rehydrated;
    requests.fresh += fresh;
    requests.unknown += unknown;
    coldStarts += fnColdStarts;
    errors += fnErrors;
    functions.set(name, {
      requests: { hit, rehydrated, fresh, unknown },
      coldStarts: fnColdStarts,
      errors: fnErrors,
    });
  }

  const rejections = mapDelta(before.rejections, after.rejections);
  const misses = mapDelta(before.misses, after.misses);
  return {
    requests,
    functions,
    hitBuckets: vectorDelta(before.hitBuckets, after.hitBuckets, bucketsWereReset),
    coldBuckets: vectorDelta(before.coldBuckets, after.coldBuckets, bucketsWereReset),
    coldStarts,
    coldStartCostUsd: delta(
      before.coldStartCostUsd,
      after.coldStartCostUsd,
      after.coldStartCostUsd < before.coldStartCostUsd,
    ),
    errors,
    rejections: rejections.sum,
    rejectionReasons: rejections.byKey,
    missReasons: misses.byKey,
  };
}
