import { performance } from 'node:perf_hooks';
import { parseEnvelope, type RoutingMode } from '../../lambda/protocol.js';
import { encodeClientContext, type Backend } from '../backend/backend.js';
import { parseFunctionError } from '../backend/function-error.js';
import type { CancelSignal } from '../cancel-signal.js';
import type { StateScope } from '../directory/types.js';
import { WarmrouteError } from '../errors.js';
import type { InvocationState, Metrics } from '../metrics.js';
import {
  BoundedLabel,
  errorTypeLabel,
  isValidFunctionName,
  MISS_REASON_LABELS,
  OTHER_LABEL,
} from './metric-labels.js';
import { stateScopeId, warmClientContext } from './state-scope.js';
import { validateWarmReport, type ValidWarmReport } from './warm-report.js';

/**
 * The request path shared by every entry point (RPC route, reverse proxy,
 * the SDK's embedded transport): key → tenant (directory) → turn
 * (scheduler) → Invoke with TenantId (backend) → warm-state report →
 * directory outcome and metrics. Nothing here knows about HTTP.
 */

/** What the invoker needs of the directory. */
export interface DirectoryPort {
  resolve(
    key: string,
    /** `functionName`: the state version returned is this function's (versions are per function, like snapshots). */
    options?: { mode?: RoutingMode; poolSize?: number; functionName?: string },
  ): Promise<{
    tenantId: string;
    generation: number;
    stateVersion: number;
    boundTo?: string | undefined;
    /** Whose warm state the request works on (src/invoker/state-scope.ts). */
    state: StateScope;
  }>;
  recordOutcome(
    key: string,
    /** The version is recorded for `functionName` alone: a function's report never concerns another's state. */
    outcome: {
      envId: string;
      state: InvocationState;
      stateVersion?: number;
      functionName?: string;
    },
  ): void;
}

/** What the invoker needs of the scheduler. */
export interface SchedulerPort {
  run<T>(
    job: { key: string; tenantId: string; deadline: number; signal?: CancelSignal | undefined },
    fn: (ticket: { queueWaitMs: number; signal: AbortSignal }) => Promise<T>,
  ): Promise<T>;
}

export interface FunctionInfo {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly tenancy: 'PER_TENANT' | 'NONE';
}

export interface AffinityInvokeRequest {
  readonly functionName: string;
  readonly key: string;
  readonly mode: RoutingMode;
  readonly poolSize?: number | undefined;
  /** Route label for metrics (`rpc`, or the proxy route's prefix). */
  readonly route: string;
  readonly payload: Uint8Array;
  readonly deadline: number;
  readonly signal?: CancelSignal | undefined;
}

export interface AffinityInvokeResult {
  /** The function's own result bytes (envelope removed), or its error object when `functionError` is set. */
  readonly payload: Uint8Array;
  readonly functionError?: string | undefined;
  /** `errorType` of the function's error object (e.g. `TypeError`, `Sandbox.Timedout`); length-bounded, not a label. */
  readonly errorType?: string | undefined;
  /** Validated: one of the four states whatever the function reported. */
  readonly state: InvocationState;
  readonly reason?: string | undefined;
  readonly tenantId: string;
  /** Validated (see warm-report.ts): safe for a response header; undefined when the report's was not. */
  readonly envId?: string | undefined;
  readonly stateVersion?: number | undefined;
  readonly durationMs: number;
  readonly queueWaitMs: number;
}

export interface AffinityInvokerDeps {
  readonly directory: DirectoryPort;
  readonly scheduler: SchedulerPort;
  readonly backend: Backend;
  readonly metrics: Metrics;
  /** Known functions; when non-empty it is an allow-list (unknown → 404 without invoking). */
  readonly functions: Readonly<Record<string, FunctionInfo>>;
  /** Ask for the log tail to spot cold starts of functions that do not report state. */
  readonly logTail: boolean;
  /** Classifies a log tail: `fresh` when the REPORT line carries `Init Duration`. */
  readonly classifyLogTail?: (tail: string | undefined) => 'fresh' | 'unknown';
  /**
   * Distinct function names that get their own metric series when `functions`
   * is empty (names then come from requests); later ones are counted as
   * `other`. Default 100.
   */
  readonly maxFunctionLabels?: number | undefined;
}

const DEFAULT_FUNCTION: FunctionInfo = {
  timeoutSeconds: 900,
  memoryMb: 128,
  tenancy: 'PER_TENANT',
};

function defaultClassify(tail: string | undefined): 'fresh' | 'unknown' {
  return tail !== undefined && /REPORT RequestId:[^\n]*Init Duration:/.test(tail)
    ? 'fresh'
    : 'unknown';
}

const encoder = new TextEncoder();

/**
 * Route labels come from code and configuration (`rpc`, `sdk`, a proxy
 * route's prefix), never from a request; the cap is a backstop only.
 */
const MAX_ROUTE_LABELS = 1_000;

export type AffinityInvoker = ReturnType<typeof createAffinityInvoker>;

export function createAffinityInvoker(deps: AffinityInvokerDeps) {
  const { directory, scheduler, backend, metrics } = deps;
  const classify = deps.classifyLogTail ?? defaultClassify;
  const configured = Object.keys(deps.functions);
  const restricted = configured.length > 0;
  // With an allow-list only configured names get this far; without one a
  // client names the function, so its label is capped.
  const functionLabels = new BoundedLabel(
    new Set(configured),
    restricted ? 0 : (deps.maxFunctionLabels ?? 100),
  );
  const routeLabels = new BoundedLabel(new Set(['rpc', 'sdk']), MAX_ROUTE_LABELS);

  function functionInfo(name: string): FunctionInfo {
    const info = deps.functions[name];
    if (info !== undefined) return info;
    // No Lambda function can have a name outside Lambda's pattern: refused before any I/O.
    if (restricted || !isValidFunctionName(name))
      throw new WarmrouteError('WR_ERR_FUNCTION_NOT_FOUND', [name]);
    return DEFAULT_FUNCTION;
  }

  function observeReport(
    functionLabel: string,
    fn: FunctionInfo,
    report: ValidWarmReport,
    invalid: readonly string[],
  ): void {
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
    if (report.coldStart === true) metrics.recordColdStart(functionLabel, fn.memoryMb);
  }

  function countFailure(request: AffinityInvokeRequest, err: unknown): void {
    const functionLabel = functionLabels.value(request.functionName);
    const route = routeLabels.value(request.route);
    if (request.signal?.aborted === true && !(err instanceof WarmrouteError)) {
      // The caller left (a client disconnect, an SDK abort): not a backend fault.
      metrics.concurrencyRejections.inc({ reason: 'cancelled' });
      metrics.invocations.inc({
        function: functionLabel,
        route,
        state: 'unknown',
        outcome: 'cancelled',
      });
      return;
    }
    const code = err instanceof WarmrouteError ? err.code : 'WR_ERR_INTERNAL';
    switch (code) {
      case 'WR_ERR_KEY_BUSY':
        metrics.concurrencyRejections.inc({ reason: 'key_busy' });
        break;
      case 'WR_ERR_CONCURRENCY_LIMIT':
        metrics.concurrencyRejections.inc({ reason: 'concurrency' });
        break;
      case 'WR_ERR_SHUTTING_DOWN':
        metrics.concurrencyRejections.inc({ reason: 'shutting_down' });
        break;
      default: {
        const upstream = err instanceof WarmrouteError ? err.details?.['upstream'] : undefined;
        const type =
          typeof upstream === 'string'
            ? upstream
            : code === 'WR_ERR_THROTTLED'
              ? 'throttled'
              : code === 'WR_ERR_DEADLINE'
                ? 'deadline'
                : code;
        metrics.backendErrors.inc({ function: functionLabel, type: errorTypeLabel(type) });
      }
    }
    metrics.invocations.inc({
      function: functionLabel,
      route,
      state: 'unknown',
      outcome: 'error',
    });
  }

  // The X-Amz-Client-Context value per state key, reused while its mode and
  // state version stay the same: JSON + base64 of it per request measured
  // ~2 µs, and a warm key's version only moves when its state is written.
  const encodedContexts = new Map<
    string,
    { mode: RoutingMode; stateVersion: number; base64: string }
  >();
  function encodedContext(scope: StateScope, mode: RoutingMode, stateVersion: number): string {
    const scopeId = stateScopeId(scope);
    const memo = encodedContexts.get(scopeId);
    if (memo?.mode === mode && memo.stateVersion === stateVersion) return memo.base64;
    const base64 = encodeClientContext(warmClientContext(scope, mode, stateVersion));
    // Bounded like hotChildren below.
    if (encodedContexts.size >= 10_000) encodedContexts.clear();
    encodedContexts.set(scopeId, { mode, stateVersion, base64 });
    return base64;
  }

  // Both per-request series (the counter's and the histogram's) behind one
  // lookup per label combination, so a request builds no label objects.
  const hotChildren = new Map<string, { record(seconds: number): void }>();
  function hotMetrics(
    functionLabel: string,
    route: string,
    state: InvocationState,
    outcome: string,
  ) {
    const cacheKey = `${functionLabel}\u0000${route}\u0000${state}\u0000${outcome}`;
    let entry = hotChildren.get(cacheKey);
    if (entry === undefined) {
      const counter = metrics.invocations.labels({
        function: functionLabel,
        route,
        state,
        outcome,
      });
      const histogram = metrics.requestDuration.labels({ function: functionLabel, state });
      entry = {
        record(seconds: number) {
          counter.inc();
          histogram.observe(seconds);
        },
      };
      // Labels are bounded already; this bounds the memo itself.
      if (hotChildren.size >= 10_000) hotChildren.clear();
      hotChildren.set(cacheKey, entry);
    }
    return entry;
  }

  async function invoke(request: AffinityInvokeRequest): Promise<AffinityInvokeResult> {
    const started = performance.now();
    const fn = functionInfo(request.functionName);
    const resolution = await directory.resolve(request.key, {
      mode: request.mode,
      functionName: request.functionName,
      ...(request.poolSize === undefined ? {} : { poolSize: request.poolSize }),
    });
    const tenantId = resolution.tenantId;
    // A bound key shares its target's environment, so it shares its state too.
    const target = resolution.boundTo ?? request.key;
    // The state is scoped by namespace, epoch, generation and (bound) key:
    // after a rotation, or a directory that lost its data, the key starts over.
    const stateScope = resolution.state;
    // One turn per tenant in affinity mode (bound keys share an environment);
    // per key in pooled mode (slots are shared on purpose); none in fresh mode.
    const turnKey = request.mode === 'pooled' ? `k:${request.key}` : `t:${tenantId}`;

    const functionLabel = functionLabels.value(request.functionName);
    // Counted as they happen, so retries of a request that finally fails count too.
    const onRetry = (): void => {
      metrics.throttleRetries.inc({ function: functionLabel });
    };
    let backendMs = 0;
    let queueWaitMs = 0;
    const outcome = await scheduler
      .run(
        { key: turnKey, tenantId, deadline: request.deadline, signal: request.signal },
        async (ticket) => {
          queueWaitMs = ticket.queueWaitMs;
          const t0 = performance.now();
          try {
            return await backend.invoke({
              functionName: request.functionName,
              tenantId: fn.tenancy === 'PER_TENANT' ? tenantId : undefined,
              payload: request.payload,
              deadline: request.deadline,
              clientContextBase64: encodedContext(
                stateScope,
                request.mode,
                resolution.stateVersion,
              ),
              logTail: deps.logTail,
              // The client's own signal, not the ticket's: the backend enforces
              // the deadline itself, and the ticket's signal costs a timer per call.
              signal: request.signal,
              onRetry,
            });
          } finally {
            backendMs = performance.now() - t0;
          }
        },
      )
      .catch((err: unknown) => {
        countFailure(request, err);
        throw err;
      });

    let state: InvocationState;
    let payload = outcome.payload;
    let report: ValidWarmReport | undefined;
    let errorType: string | undefined;
    if (outcome.functionError !== undefined) {
      errorType = parseFunctionError(outcome.payload, outcome.functionError).errorType;
      metrics.backendErrors.inc({ function: functionLabel, type: errorTypeLabel(errorType) });
    } else {
      const envelope = parseEnvelope(outcome.payload);
      if (envelope !== undefined) {
        // parseEnvelope only checks the protocol version: the rest is the function's word.
        const checked = validateWarmReport(envelope.report);
        report = checked.report;
        observeReport(functionLabel, fn, report, checked.invalid);
        payload =
          envelope.result === undefined
            ? new Uint8Array(0)
            : encoder.encode(JSON.stringify(envelope.result));
      }
    }
    if (report !== undefined) {
      state = report.state;
      if (request.mode !== 'fresh') {
        directory.recordOutcome(target, {
          // '' records no environment: an invalid id is never stored.
          envId: report.env ?? '',
          state,
          functionName: request.functionName,
          ...(report.stateVersion === undefined ? {} : { stateVersion: report.stateVersion }),
        });
      }
    } else {
      state = deps.logTail ? classify(outcome.logTail) : 'unknown';
      if (state === 'fresh') metrics.recordColdStart(functionLabel, fn.memoryMb);
    }

    const durationMs = performance.now() - started;
    const outcomeLabel = outcome.functionError === undefined ? 'ok' : 'function_error';
    hotMetrics(functionLabel, routeLabels.value(request.route), state, outcomeLabel).record(
      durationMs / 1000,
    );
    metrics.queueWait.observe(queueWaitMs / 1000);
    metrics.routingOverhead.observe(Math.max(0, durationMs - backendMs - queueWaitMs) / 1000);

    return {
      payload,
      functionError: outcome.functionError,
      errorType,
      state,
      reason: report?.reason,
      tenantId,
      envId: report?.env,
      stateVersion: report?.stateVersion,
      durationMs,
      queueWaitMs,
    };
  }

  return { invoke, functionInfo };
}
