import { INVOCATION_STATES, type InvocationState } from '../../lambda/protocol.js';
import type { RequestRecord } from '../workload/drive.js';
import { percentile } from '../workload/percentile.js';

/** What one request ended as, by the function's own evidence (its warm-state report). */
export interface Outcome {
  readonly state: InvocationState;
  /** Environment id from the report (a new id = a new environment = a cold start). */
  readonly env?: string | undefined;
  /** Why it was not a hit (report's `reason`: first-use, released, stale, conflict). */
  readonly reason?: string | undefined;
}

export interface ScenarioSummary extends Readonly<Record<InvocationState, number>> {
  readonly requests: number;
  readonly errors: number;
  /** hit / requests (errors count as misses). */
  readonly hitRate: number;
  /** Non-hit reasons reported by the function. */
  readonly missReasons: Readonly<Record<string, number>>;
  /** Distinct environments that served a request: each one was a cold start. */
  readonly coldStarts: number;
  /** coldStarts × memory GB × price per GB (Lambda's charge per new tenant environment). */
  readonly coldStartCostUsd: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly elapsedMs: number;
  readonly throughputRps: number;
  /** First few error messages, for diagnosis. */
  readonly errorSamples: readonly string[];
}

export function summarize(
  records: readonly RequestRecord<Outcome>[],
  elapsedMs: number,
  pricing: { memoryMb: number; pricePerGb: number },
): ScenarioSummary {
  const counts = Object.fromEntries(INVOCATION_STATES.map((s) => [s, 0])) as Record<
    InvocationState,
    number
  >;
  const missReasons: Record<string, number> = {};
  const envs = new Set<string>();
  const errorSamples: string[] = [];
  let errors = 0;
  const latencies = new Float64Array(records.length);
  records.forEach((r, i) => {
    latencies[i] = r.end - r.start;
    if (r.result === undefined) {
      errors++;
      if (errorSamples.length < 5)
        errorSamples.push(r.error instanceof Error ? r.error.message : String(r.error));
      return;
    }
    counts[r.result.state]++;
    if (r.result.env !== undefined) envs.add(r.result.env);
    if (r.result.state !== 'hit') {
      const reason = r.result.reason ?? r.result.state;
      missReasons[reason] = (missReasons[reason] ?? 0) + 1;
    }
  });
  const n = records.length;
  return {
    requests: n,
    ...counts,
    errors,
    hitRate: n === 0 ? NaN : counts.hit / n,
    missReasons,
    coldStarts: envs.size,
    coldStartCostUsd: envs.size * (pricing.memoryMb / 1024) * pricing.pricePerGb,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    },
    elapsedMs,
    throughputRps: elapsedMs > 0 ? (n * 1000) / elapsedMs : NaN,
    errorSamples,
  };
}
