import type { Metrics } from '../metrics.js';
import { BoundedLabel, MAX_FUNCTION_LABELS, OTHER_LABEL } from '../invoker/metric-labels.js';

/**
 * One reading of the cumulative values the status page is built from, taken
 * off the gateway's own metric objects with `get()` (what a scrape reads):
 * the request path records nothing extra for the page. Values are folded
 * while they are read into what the page shows (requests by function and
 * state, duration buckets for warm hits and for cold requests, reasons), so
 * a reading holds a few numbers per function instead of one per series.
 */

/** The `state` label values, in the order of `FunctionTotals.requests`. */
export const STATES = ['hit', 'rehydrated', 'fresh', 'unknown'] as const;
export type StateName = (typeof STATES)[number];

function stateIndex(state: unknown): number {
  switch (state) {
    case 'hit':
      return 0;
    case 'rehydrated':
      return 1;
    case 'fresh':
      return 2;
    default:
      return 3;
  }
}

/** Cumulative counts of one function label (folded; see `StatusLabels`). */
export interface FunctionTotals {
  /** Invocations by state, indexed like `STATES`. */
  readonly requests: Float64Array;
  coldStarts: number;
  errors: number;
}

export interface CumulativeReading {
  readonly functions: Map<string, FunctionTotals>;
  /** Cumulative `warmroute_request_duration_seconds` buckets of state `hit` (the `+Inf` count last). */
  readonly hitBuckets: Float64Array;
  /** The same for states `fresh` and `rehydrated`. */
  readonly coldBuckets: Float64Array;
  coldStartCostUsd: number;
  /** `warmroute_concurrency_rejections_total` by reason. */
  readonly rejections: Map<string, number>;
  /** `warmroute_state_misses_total` by reason (summed over functions). */
  readonly misses: Map<string, number>;
}

/** Caps on the label values the sampler keeps apart; later new values fold into `other`. */
export const MAX_STATUS_REASONS = 32;

/**
 * The label values the sampler keeps apart, admitted on first sight and
 * kept for the sampler's life: a value must fold the same way in every
 * reading, or a function moving into `other` would look like a counter reset.
 * The metrics already cap their labels; these caps only make the sampler's
 * memory independent of how the metrics are configured (an allow-list of
 * more than MAX_FUNCTION_LABELS functions shows the rest as `other`).
 */
export class StatusLabels {
  readonly functions = new BoundedLabel(new Set([OTHER_LABEL]), MAX_FUNCTION_LABELS);
  readonly reasons = new BoundedLabel(new Set([OTHER_LABEL]), MAX_STATUS_REASONS);
}

interface SampleValue {
  readonly labels: Partial<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

function labelOf(labels: Partial<Record<string, string | number>>, name: string): string {
  const value = labels[name];
  return value === undefined ? '' : String(value);
}

/** A non-finite value (never recorded by the metrics; a guard for JSON) counts as 0. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function emptyFunction(): FunctionTotals {
  return { requests: new Float64Array(STATES.length), coldStarts: 0, errors: 0 };
}

/**
 * Reads the metrics. `upperBounds`: the duration histogram's finite bucket
 * bounds (`durationBuckets`), ascending.
 */
export async function readCumulative(
  metrics: Metrics,
  labels: StatusLabels,
  upperBounds: readonly number[],
): Promise<CumulativeReading> {
  const [invocations, duration, coldStarts, coldStartCost, backendErrors, rejections, misses] =
    await Promise.all([
      metrics.invocations.get(),
      metrics.requestDuration.get(),
      metrics.coldStarts.get(),
      metrics.coldStartCost.get(),
      metrics.backendErrors.get(),
      metrics.concurrencyRejections.get(),
      metrics.misses.get(),
    ]);

  const functions = new Map<string, FunctionTotals>();
  const functionOf = (sample: SampleValue): FunctionTotals => {
    const name = labels.functions.value(labelOf(sample.labels, 'function'));
    let totals = functions.get(name);
    if (totals === undefined) {
      totals = emptyFunction();
      functions.set(name, totals);
    }
    return totals;
  };

  for (const sample of invocations.values as readonly SampleValue[]) {
    const requests = functionOf(sample).requests;
    const i = stateIndex(sample.labels['state']);
    requests[i] = (requests[i] as number) + finite(sample.value);
  }
  for (const sample of coldStarts.values as readonly SampleValue[])
    functionOf(sample).coldStarts += finite(sample.value);
  for (const sample of backendErrors.values as readonly SampleValue[])
    functionOf(sample).errors += finite(sample.value);

  const bucketCount = upperBounds.length + 1;
  const hitBuckets = new Float64Array(bucketCount);
  const coldBuckets = new Float64Array(bucketCount);
  const bucketName = `${duration.name}_bucket`;
  const bucketIndex = new Map<string | number, number>(upperBounds.map((le, i) => [le, i]));
  bucketIndex.set('+Inf', upperBounds.length);
  for (const sample of duration.values as readonly SampleValue[]) {
    if (sample.metricName !== bucketName) continue;
    const state = sample.labels['state'];
    const target =
      state === 'hit'
        ? hitBuckets
        : state === 'fresh' || state === 'rehydrated'
          ? coldBuckets
          : undefined;
    if (target === undefined) continue;
    const le = sample.labels['le'];
    const i = le === undefined ? undefined : bucketIndex.get(le);
    if (i === undefined) continue;
    target[i] = (target[i] as number) + finite(sample.value);
  }

  let cost = 0;
  for (const sample of coldStartCost.values as readonly SampleValue[]) cost += finite(sample.value);

  const rejectionsByReason = new Map<string, number>();
  for (const sample of rejections.values as readonly SampleValue[])
    add(
      rejectionsByReason,
      labels.reasons.value(labelOf(sample.labels, 'reason')),
      finite(sample.value),
    );
  const missesByReason = new Map<string, number>();
  for (const sample of misses.values as readonly SampleValue[])
    add(
      missesByReason,
      labels.reasons.value(labelOf(sample.labels, 'reason')),
      finite(sample.value),
    );

  return {
    functions,
    hitBuckets,
    coldBuckets,
    coldStartCostUsd: cost,
    rejections: rejectionsByReason,
    misses: missesByReason,
  };
}
