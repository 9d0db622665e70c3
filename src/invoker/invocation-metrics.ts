import type { InvocationState } from '../../lambda/protocol.js';
import type { CancelSignal } from '../cancel-signal.js';
import type { Tenancy } from '../config/function-settings.js';
import { WarmrouteError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import {
  BoundedLabel,
  errorTypeLabel,
  failureLabel,
  MAX_FUNCTION_LABELS,
  MAX_ROUTE_LABELS,
  MISS_REASON_LABELS,
  OTHER_LABEL,
  throttleReasonLabel,
} from './metric-labels.js';
import type { ValidWarmReport } from './warm-report.js';

/**
 * What the invoker records of each invocation, in metric terms: which
 * metric, which (bounded) label values, and the per-label-set caches that
 * keep the request path from building label objects. The invoker says what
 * happened; this class decides how it is counted.
 */

/** Bounds the hot-series memo (its labels are bounded already; this bounds the map itself). */
const MAX_HOT_SERIES = 10_000;

export type InvocationOutcome = 'ok' | 'function_error';

export class InvocationMetrics {
  readonly #metrics: Metrics;
  readonly #functionLabels: BoundedLabel;
  readonly #routeLabels = new BoundedLabel(new Set(['rpc', 'sdk']), MAX_ROUTE_LABELS);
  // Both per-request series (the counter's and the histogram's) behind one
  // lookup per label combination, so a request builds no label objects.
  readonly #hotSeries = new Map<string, (seconds: number) => void>();

  /** `configuredFunctions`: the config's allow-list; empty when there is none. */
  constructor(metrics: Metrics, configuredFunctions: readonly string[]) {
    this.#metrics = metrics;
    // With an allow-list only configured names get this far; without one a
    // client names the function, so its label is capped.
    this.#functionLabels = new BoundedLabel(
      new Set(configuredFunctions),
      configuredFunctions.length > 0 ? 0 : MAX_FUNCTION_LABELS,
    );
  }

  /** The `function` label of a function name (admits the name when there is room). */
  functionLabel(functionName: string): string {
    return this.#functionLabels.value(functionName);
  }

  /** A backend attempt beyond the first (counted as it happens, so retries of a request that finally fails count too). */
  retried(functionLabel: string): void {
    this.#metrics.throttleRetries.inc({ function: functionLabel });
  }

  /** A backend attempt Lambda throttled, by its bounded reason (see `throttleReasonLabel`). */
  throttled(functionLabel: string, tenancy: Tenancy, reason: unknown): void {
    this.#metrics.backendThrottles.inc({
      function: functionLabel,
      reason: throttleReasonLabel(reason),
      tenancy,
    });
  }

  /** An invocation that did not complete: refused, cancelled by its caller, or failed in the backend. */
  failed(
    request: {
      readonly functionName: string;
      readonly route: string;
      readonly signal?: CancelSignal | undefined;
    },
    err: unknown,
  ): void {
    const metrics = this.#metrics;
    const functionLabel = this.#functionLabels.value(request.functionName);
    const route = this.#routeLabels.value(request.route);
    let outcome = 'error';
    if (request.signal?.aborted === true && !(err instanceof WarmrouteError)) {
      // The caller left (a client disconnect, an SDK abort): not a backend fault.
      metrics.concurrencyRejections.inc({ reason: 'cancelled' });
      outcome = 'cancelled';
    } else {
      const label = failureLabel(err);
      if ('rejection' in label) metrics.concurrencyRejections.inc({ reason: label.rejection });
      else metrics.backendErrors.inc({ function: functionLabel, type: label.backendError });
    }
    metrics.invocations.inc({ function: functionLabel, route, state: 'unknown', outcome });
  }

  /** A function's error object (`X-Amz-Function-Error`), by its error type. */
  functionError(functionLabel: string, errorType: string): void {
    this.#metrics.backendErrors.inc({ function: functionLabel, type: errorTypeLabel(errorType) });
  }

  /** A validated warm report: its invalid fields, a miss and its reason, rehydration time, a cold start. */
  reported(
    functionLabel: string,
    memoryMb: number,
    report: ValidWarmReport,
    invalid: readonly string[],
  ): void {
    const metrics = this.#metrics;
    for (const field of invalid) metrics.invalidReports.inc({ function: functionLabel, field });
    if (report.state !== 'hit') {
      const reason = report.reason ?? (report.state === 'fresh' ? 'none' : 'unknown');
      metrics.misses.inc({
        function: functionLabel,
        reason: MISS_REASON_LABELS.has(reason) ? reason : OTHER_LABEL,
      });
    }
    if (report.rehydrateMs > 0)
      metrics.rehydrationDuration.observe({ function: functionLabel }, report.rehydrateMs / 1000);
    if (report.coldStart === true) metrics.recordColdStart(functionLabel, memoryMb);
  }

  /** A new environment seen without a report (`Init Duration` in the log tail). */
  coldStart(functionLabel: string, memoryMb: number): void {
    this.#metrics.recordColdStart(functionLabel, memoryMb);
  }

  /** An invocation the backend answered, with the time spent in the queue and in the backend. */
  completed(
    functionLabel: string,
    route: string,
    state: InvocationState,
    outcome: InvocationOutcome,
    times: {
      readonly durationMs: number;
      readonly queueWaitMs: number;
      readonly backendMs: number;
    },
  ): void {
    const metrics = this.#metrics;
    this.#hot(
      functionLabel,
      this.#routeLabels.value(route),
      state,
      outcome,
    )(times.durationMs / 1000);
    metrics.queueWait.observe(times.queueWaitMs / 1000);
    metrics.routingOverhead.observe(
      Math.max(0, times.durationMs - times.backendMs - times.queueWaitMs) / 1000,
    );
  }

  #hot(
    functionLabel: string,
    route: string,
    state: InvocationState,
    outcome: InvocationOutcome,
  ): (seconds: number) => void {
    const cacheKey = `${functionLabel}\u0000${route}\u0000${state}\u0000${outcome}`;
    let record = this.#hotSeries.get(cacheKey);
    if (record === undefined) {
      const counter = this.#metrics.invocations.labels({
        function: functionLabel,
        route,
        state,
        outcome,
      });
      const histogram = this.#metrics.requestDuration.labels({ function: functionLabel, state });
      record = (seconds) => {
        counter.inc();
        histogram.observe(seconds);
      };
      if (this.#hotSeries.size >= MAX_HOT_SERIES) this.#hotSeries.clear();
      this.#hotSeries.set(cacheKey, record);
    }
    return record;
  }
}
