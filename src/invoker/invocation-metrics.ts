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

export type InvocationOutcome = 'ok' | 'function_error';

type Recorder = (seconds: number) => void;

/**
 * The per-request series of one function label and route label: the
 * counter's and the histogram's series per state and outcome, each resolved
 * on first use. The invoker keeps one per function and route, so a request
 * builds no label object and no lookup key.
 */
export class RouteSeries {
  readonly #metrics: Metrics;
  readonly #ok = new Map<InvocationState, Recorder>();
  readonly #functionError = new Map<InvocationState, Recorder>();

  constructor(
    metrics: Metrics,
    readonly functionLabel: string,
    readonly route: string,
  ) {
    this.#metrics = metrics;
  }

  recorder(state: InvocationState, outcome: InvocationOutcome): Recorder {
    const byState = outcome === 'ok' ? this.#ok : this.#functionError;
    let record = byState.get(state);
    if (record === undefined) {
      const { functionLabel, route } = this;
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
      byState.set(state, record);
    }
    return record;
  }
}

export class InvocationMetrics {
  readonly #metrics: Metrics;
  readonly #functionLabels: BoundedLabel;
  readonly #routeLabels = new BoundedLabel(new Set(['rpc', 'sdk']), MAX_ROUTE_LABELS);
  // Keyed by function label, then route label (no key built per lookup).

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

  /**
   * The series a request of `functionLabel` on `route` (a route label: `rpc`,
   * `sdk` or a proxy prefix, admitted when there is room) is counted in.
   * Resolve it once per function and route, not per request (the invoker keeps
   * it on the function's handle).
   */
  routeSeries(functionLabel: string, route: string): RouteSeries {
    return new RouteSeries(this.#metrics, functionLabel, this.#routeLabels.value(route));
  }

  /** An invocation the backend answered, with the time spent in the queue and in the backend. */
  completed(
    series: RouteSeries,
    state: InvocationState,
    outcome: InvocationOutcome,
    durationMs: number,
    queueWaitMs: number,
    backendMs: number,
  ): void {
    const metrics = this.#metrics;
    series.recorder(state, outcome)(durationMs / 1000);
    metrics.queueWait.observe(queueWaitMs / 1000);
    metrics.routingOverhead.observe(Math.max(0, durationMs - backendMs - queueWaitMs) / 1000);
  }
}
