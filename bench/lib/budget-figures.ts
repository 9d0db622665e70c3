import { percentile } from '../workload/percentile.js';
import type { TimedRecord } from '../workload/timed-drive.js';
import type { Outcome } from '../scenarios/summarize.js';
import type { KeepWarmCostModel } from './keep-warm-cost.js';

/**
 * The budget bench's figures (bench/budget.ts) from one replay, and the
 * issue 18 targets computed from them: pure functions, so what is printed as
 * pass or fail is tested without running a host.
 */

const PICO_PER_USD = 1e12;

/** What the host counted for the function during one replay (src/localhost/stats.ts). */
export interface HostCounts {
  /** New environments started: each is a tenant-environment charge. */
  readonly coldStarts: number;
  /** 429s the host answered at its tenant-environment cap (retried attempts included). */
  readonly throttles: number;
  /** Invocations the host accepted (requests and keep-warm pings). */
  readonly invocations: number;
}

export interface RowFigures {
  readonly requests: number;
  /** Answered 200 with a report. */
  readonly answered: number;
  readonly hits: number;
  /** hits / requests (a refused request is a miss). */
  readonly hitRate: number;
  /** Requests whose final answer was 429 (after the client's or the gateway's retries). */
  readonly throttled: number;
  /** Other failures (5xx, timeouts, function errors). */
  readonly otherErrors: number;
  readonly hostCapThrottles: number;
  readonly coldStarts: number;
  readonly coldStartsPerThousand: number;
  /** Keep-warm invocations the host served (0 without keep-warm). */
  readonly pings: number;
  /** (cold starts × cold-start price + pings × ping price) per 1,000 requests of the trace. */
  readonly costPerThousandUsd: number;
  /** p95 latency of the answered requests, ms. */
  readonly p95Ms: number;
  /** How late the replay sent requests (timer lateness on a loaded machine), ms. */
  readonly lateness: { readonly p95Ms: number; readonly maxMs: number };
  /** From the first request sent until the last one settled (retries stretch it past the trace), ms. */
  readonly replayMs: number;
  /** First few failure messages, for diagnosis. */
  readonly errorSamples: readonly string[];
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

/** Cost of `coldStarts` and `pings` per 1,000 of `requests`, USD, in the model's integer picodollars. */
export function costPerThousandUsd(
  model: KeepWarmCostModel,
  requests: number,
  coldStarts: number,
  pings: number,
): number {
  if (requests === 0) return 0;
  const pico = coldStarts * model.coldStartPico + pings * model.pingPico;
  return (pico * 1000) / requests / PICO_PER_USD;
}

export function rowFigures(
  records: readonly TimedRecord<Outcome>[],
  host: HostCounts,
  pings: number,
  model: KeepWarmCostModel,
): RowFigures {
  let answered = 0;
  let hits = 0;
  let throttled = 0;
  let otherErrors = 0;
  const latencies: number[] = [];
  const lateness = new Float64Array(records.length);
  const errorSamples: string[] = [];
  records.forEach((r, i) => {
    lateness[i] = r.start - r.atMs;
    if (r.result !== undefined) {
      answered++;
      latencies.push(r.end - r.start);
      if (r.result.state === 'hit') hits++;
      return;
    }
    if (statusOf(r.error) === 429) throttled++;
    else otherErrors++;
    if (errorSamples.length < 3 && statusOf(r.error) !== 429)
      errorSamples.push(r.error instanceof Error ? r.error.message : String(r.error));
  });
  const n = records.length;
  return {
    requests: n,
    answered,
    hits,
    hitRate: n === 0 ? NaN : hits / n,
    throttled,
    otherErrors,
    hostCapThrottles: host.throttles,
    coldStarts: host.coldStarts,
    coldStartsPerThousand: n === 0 ? 0 : (host.coldStarts * 1000) / n,
    pings,
    costPerThousandUsd: costPerThousandUsd(model, n, host.coldStarts, pings),
    p95Ms: percentile(latencies, 95),
    lateness: {
      p95Ms: percentile(lateness, 95),
      maxMs: n === 0 ? NaN : lateness.reduce((m, x) => Math.max(m, x), -Infinity),
    },
    replayMs: records.reduce((m, r) => Math.max(m, r.end), 0),
    errorSamples,
  };
}

/** A row that ran, or one this build cannot run (and says why). */
export type Row =
  | { readonly available: true; readonly figures: RowFigures }
  | { readonly available: false; readonly reason: string };

export type Verdict = 'pass' | 'FAIL' | 'not measured' | 'not applicable';

export interface TargetResult {
  readonly target: string;
  /** The computed figure (a count or a ratio); undefined when not measured. */
  readonly value: number | undefined;
  readonly verdict: Verdict;
  readonly note: string;
}

/**
 * "0 cap throttles for warmroute with budget where key-as-tenant gets
 * them": the budget row must have no 429 from the host's cap and no request
 * answered 429 at all (a budget that queues then refuses is still a refusal
 * to the user), on a trace where key-as-tenant got at least one.
 */
export function throttleTarget(trace: string, keyAsTenant: Row, budget: Row): TargetResult {
  const target = `${trace}: 0 throttles with budget where key-as-tenant has them`;
  if (!keyAsTenant.available)
    return { target, value: undefined, verdict: 'not measured', note: keyAsTenant.reason };
  const k = keyAsTenant.figures;
  if (!budget.available)
    return {
      target,
      value: undefined,
      verdict: 'not measured',
      note: `budget row: ${budget.reason}`,
    };
  const b = budget.figures;
  const value = b.hostCapThrottles + b.throttled;
  const against = `key-as-tenant: ${k.throttled} requests refused 429, ${k.hostCapThrottles} host cap 429s`;
  if (k.throttled + k.hostCapThrottles === 0)
    return { target, value, verdict: 'not applicable', note: `${against}: the cap did not bind` };
  return {
    target,
    value,
    verdict: value === 0 ? 'pass' : 'FAIL',
    note: `budget: ${b.throttled} requests refused 429, ${b.hostCapThrottles} host cap 429s; ${against}`,
  };
}

/** Cost per 1,000 requests with keep-warm ≤ `limit` × the clairvoyant bound. */
export function keepWarmCostTarget(
  trace: string,
  keepWarm: Row,
  clairvoyantPerThousandUsd: number,
  limit = 1.15,
): TargetResult {
  const target = `${trace}: keep-warm cost ≤ ${limit}× clairvoyant`;
  if (!keepWarm.available)
    return {
      target,
      value: undefined,
      verdict: 'not measured',
      note: `keep-warm row: ${keepWarm.reason}`,
    };
  if (!(clairvoyantPerThousandUsd > 0))
    return { target, value: undefined, verdict: 'not measured', note: 'the clairvoyant cost is 0' };
  const value = keepWarm.figures.costPerThousandUsd / clairvoyantPerThousandUsd;
  return {
    target,
    value,
    verdict: value <= limit ? 'pass' : 'FAIL',
    note: `${keepWarm.figures.costPerThousandUsd.toFixed(6)} vs ${clairvoyantPerThousandUsd.toFixed(6)} USD per 1,000`,
  };
}

/** Cold starts per 1,000 requests of `row` ≤ `limit` × key-as-tenant's. */
export function coldStartTarget(
  trace: string,
  rowName: string,
  row: Row,
  keyAsTenant: Row,
  limit = 0.5,
): TargetResult {
  const target = `${trace}: cold starts (${rowName}) ≤ ${limit}× key-as-tenant`;
  if (!row.available)
    return {
      target,
      value: undefined,
      verdict: 'not measured',
      note: `${rowName} row: ${row.reason}`,
    };
  if (!keyAsTenant.available)
    return { target, value: undefined, verdict: 'not measured', note: keyAsTenant.reason };
  const base = keyAsTenant.figures.coldStartsPerThousand;
  if (!(base > 0))
    return {
      target,
      value: undefined,
      verdict: 'not measured',
      note: 'key-as-tenant had no cold start',
    };
  const value = row.figures.coldStartsPerThousand / base;
  return {
    target,
    value,
    verdict: value <= limit ? 'pass' : 'FAIL',
    note: `${row.figures.coldStartsPerThousand.toFixed(1)} vs ${base.toFixed(1)} per 1,000`,
  };
}
