import { histogramQuantile } from './histogram-quantile.js';
import { emptyStateCounts, type IntervalDelta } from './interval-delta.js';
import type {
  FunctionStatus,
  LatencyQuantiles,
  StateCounts,
  StatusDocument,
} from './status-document.js';

/**
 * The figures of the status document that cover a span of intervals: the
 * whole window's totals, per-function rows and reasons, and each point's own
 * ratio and quantiles. Quantiles over a span come from the span's summed
 * bucket deltas, never from averaging the points' quantiles (which has no
 * meaning for percentiles).
 */

/** hit / (hit + rehydrated + fresh); null when none of those happened. */
export function hitRatio(requests: StateCounts): number | null {
  const answered = requests.hit + requests.rehydrated + requests.fresh;
  return answered > 0 ? requests.hit / answered : null;
}

/** Seconds to milliseconds, to the microsecond (the JSON stays short). */
function toMs(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds * 1e6) / 1e3;
}

export function latency(upperBounds: readonly number[], buckets: Float64Array): LatencyQuantiles {
  return {
    p50Ms: toMs(histogramQuantile(0.5, upperBounds, buckets)),
    p95Ms: toMs(histogramQuantile(0.95, upperBounds, buckets)),
  };
}

function addStates(into: StateCounts, from: StateCounts): void {
  into.hit += from.hit;
  into.rehydrated += from.rehydrated;
  into.fresh += from.fresh;
  into.unknown += from.unknown;
}

function addInto(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [key, n] of from) into.set(key, (into.get(key) ?? 0) + n);
}

/** Largest first; ties by name so the page's order is stable between polls. */
function byCount(map: ReadonlyMap<string, number>): { reason: string; count: number }[] {
  return [...map]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

export type WindowSummary = Pick<
  StatusDocument,
  'totals' | 'functions' | 'missReasons' | 'rejectionReasons'
>;

/**
 * Sums `intervals`. `knownFunctions`: function labels the metrics hold now,
 * listed (with zeros) even when they had nothing in the window.
 */
export function summarize(
  intervals: readonly IntervalDelta[],
  knownFunctions: Iterable<string>,
  upperBounds: readonly number[],
): WindowSummary {
  const requests = emptyStateCounts();
  const hitBuckets = new Float64Array(upperBounds.length + 1);
  const coldBuckets = new Float64Array(upperBounds.length + 1);
  let coldStarts = 0;
  let coldStartCostUsd = 0;
  let rejections = 0;
  let errors = 0;
  const missReasons = new Map<string, number>();
  const rejectionReasons = new Map<string, number>();
  const functions = new Map<
    string,
    { requests: StateCounts; coldStarts: number; errors: number }
  >();
  for (const name of knownFunctions)
    functions.set(name, { requests: emptyStateCounts(), coldStarts: 0, errors: 0 });

  for (const d of intervals) {
    addStates(requests, d.requests);
    for (let i = 0; i < hitBuckets.length; i++) {
      hitBuckets[i] = (hitBuckets[i] as number) + (d.hitBuckets[i] as number);
      coldBuckets[i] = (coldBuckets[i] as number) + (d.coldBuckets[i] as number);
    }
    coldStarts += d.coldStarts;
    coldStartCostUsd += d.coldStartCostUsd;
    rejections += d.rejections;
    errors += d.errors;
    addInto(missReasons, d.missReasons);
    addInto(rejectionReasons, d.rejectionReasons);
    for (const [name, f] of d.functions) {
      let row = functions.get(name);
      if (row === undefined) {
        row = { requests: emptyStateCounts(), coldStarts: 0, errors: 0 };
        functions.set(name, row);
      }
      addStates(row.requests, f.requests);
      row.coldStarts += f.coldStarts;
      row.errors += f.errors;
    }
  }

  const rows: FunctionStatus[] = [...functions]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, row]) => ({
      name,
      requests: row.requests,
      hitRatio: hitRatio(row.requests),
      coldStarts: row.coldStarts,
      rehydrations: row.requests.rehydrated,
      errors: row.errors,
    }));

  return {
    totals: {
      requests,
      hitRatio: hitRatio(requests),
      hitLatency: latency(upperBounds, hitBuckets),
      coldLatency: latency(upperBounds, coldBuckets),
      coldStarts,
      coldStartCostUsd,
      rejections,
      errors,
    },
    functions: rows,
    missReasons: byCount(missReasons),
    rejectionReasons: byCount(rejectionReasons),
  };
}
