import { performance } from 'node:perf_hooks';
import { parseEnvelope, type InvocationState } from '../../lambda/protocol.js';
import type { Backend, InvokeResult } from '../backend/backend.js';
import { classifyFromLogTail } from '../backend/classify.js';
import { parseFunctionError } from '../backend/function-error.js';
import { BudgetGate } from '../budget/budget-gate.js';
import { DEFAULT_IDLE_LIFETIME_MS, tenantEnvironmentCapOf } from '../budget/function-budget.js';
import type { KeepWarmPlanner } from '../budget/keep-warm.js';
import type { KeepWarmPlanners } from '../budget/keep-warm-routes.js';
import type { PoolTenants } from '../budget/pool-tenant.js';
import type { RouteBudgets } from '../budget/route-budget.js';
import type { CancelSignal } from '../cancel-signal.js';
import {
  UNDECLARED_FUNCTION_SETTINGS,
  type GatewayFunctionSettings,
} from '../config/function-settings.js';
import type { Directory } from '../directory/types.js';
import { WarmrouteError } from '../errors.js';
import type { BudgetGaugeReading, Metrics } from '../metrics.js';
import type { RoutingMode } from '../routing-mode.js';
import type { Scheduler } from '../scheduler/types.js';
import { InvocationMetrics, type RouteSeries } from './invocation-metrics.js';
import { isValidFunctionName, MAX_FUNCTION_LABELS, OTHER_LABEL } from './metric-labels.js';
import { ClientContextMemo } from './state-scope.js';
import { validateWarmReport, type ValidWarmReport } from './warm-report.js';

/**
 * The request path shared by every entry point (RPC route, reverse proxy,
 * the SDK's embedded transport): key → tenant (directory) → turn
 * (scheduler) → Invoke with TenantId (backend) → warm-state report →
 * directory outcome and metrics. Nothing here knows about HTTP.
 */

/**
 * What the invoker needs of the directory and the scheduler: views of their
 * one declared interface, so a change there reaches the invoker's callers
 * (and test doubles) at compile time instead of drifting from a copy.
 */
export type DirectoryPort = Pick<Directory, 'resolve' | 'recordOutcome'> &
  Partial<Pick<Directory, 'resolveCached'>>;
export type SchedulerPort = Pick<Scheduler, 'run'>;

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
  /**
   * The request's isolation domain, read by the route from its budget's
   * `domain` source: where a key spilled by a `pool` budget is placed. Only
   * such routes need it.
   */
  readonly domain?: string | undefined;
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
  /**
   * Known functions; when non-empty it is an allow-list (unknown → 404 without
   * invoking). When empty, any name Lambda could have is invoked with
   * UNDECLARED_FUNCTION_SETTINGS (src/config/function-settings.ts).
   */
  readonly functions: Readonly<Record<string, Readonly<GatewayFunctionSettings>>>;
  /** Ask for the log tail to spot cold starts of functions that do not report state (src/backend/classify.ts). */
  readonly logTail: boolean;
  /** The tenant-environment budget (README "Tenant-environment budget"); absent: none. */
  readonly budget?: InvokerBudgetDeps | undefined;
}

/** What the invoker needs to run a budget per tenant-isolated function. */
export interface InvokerBudgetDeps {
  readonly routes: RouteBudgets;
  readonly pool: PoolTenants;
  /** Retry-After of a budget 429 when no place is known to free, seconds. */
  readonly retryAfterSeconds: number;
  /** The planners of the functions whose routes opted in to keep-warm; absent: none. */
  readonly keepWarm?: KeepWarmPlanners | undefined;
}

/** The request path behind every entry point (see the top of this file). */
export interface AffinityInvoker {
  /**
   * Call `request.functionName` for `request.key`. Throws a WarmrouteError
   * when the call does not complete (unknown function, refused by the
   * scheduler, backend failure, deadline); a function's own error is a
   * result with `functionError` set.
   */
  invoke(request: AffinityInvokeRequest): Promise<AffinityInvokeResult>;
  /** The function's settings; throws WR_ERR_FUNCTION_NOT_FOUND for a name that cannot be invoked (checked before any I/O). */
  functionInfo(name: string): Readonly<GatewayFunctionSettings>;
  /** The budget of each tenant-isolated function called so far (tests, status). */
  budgetGates(): Iterable<BudgetGate>;
}

const encoder = new TextEncoder();

/** Bounds the per-function memo (names are client-chosen when there is no allow-list). */
const MAX_FUNCTION_HANDLES = 10_000;
/** Bounds the turn-key memo (fresh mode makes a new tenant per request). */
const MAX_TURN_KEYS = 10_000;

interface FunctionHandle {
  readonly label: string;
  readonly onRetry: () => void;
  readonly onThrottle: (throttle: { readonly reason: unknown }) => void;
  /** The metric series of each route label the function is called on. */
  readonly routes: Map<string, RouteSeries>;
  /**
   * The function's tenant-environment budget: tenant-isolated functions only
   * (without tenancy Lambda makes no tenant environments to cap).
   */
  readonly gate: BudgetGate | undefined;
  /** Keep-warm for the keys of the routes that opted in (tenant-isolated functions only). */
  readonly planner: KeepWarmPlanner | undefined;
}

export function createAffinityInvoker(deps: AffinityInvokerDeps): AffinityInvoker {
  const { directory, scheduler, backend } = deps;
  const configured = Object.keys(deps.functions);
  const restricted = configured.length > 0;
  const metrics = new InvocationMetrics(deps.metrics, configured);
  const clientContexts = new ClientContextMemo();

  function functionInfo(name: string): Readonly<GatewayFunctionSettings> {
    // Own keys only: the name comes from the request path, and `constructor`,
    // `toString`, `__proto__`… are found on every object's prototype.
    const info = Object.hasOwn(deps.functions, name) ? deps.functions[name] : undefined;
    if (info !== undefined) return info;
    // No Lambda function can have a name outside Lambda's pattern: refused before any I/O.
    if (restricted || !isValidFunctionName(name))
      throw new WarmrouteError('WR_ERR_FUNCTION_NOT_FOUND', [name]);
    return UNDECLARED_FUNCTION_SETTINGS;
  }

  /** A function's metric label and backend callbacks, made once per function name. */
  const handles = new Map<string, FunctionHandle>();
  /**
   * Budgets of functions the config does not declare (names from requests):
   * each holds a frequency sketch and an idle histogram (≈ 50 KB at the
   * default cap), so past this many an undeclared function runs without one.
   */
  let undeclaredGates = 0;
  /**
   * Kept apart from `handles`, which is cleared when full: a budget must
   * outlive its handle, or a clear would forget every live tenant (and the
   * undeclared count, never lowered, would leave rebuilt handles without one).
   */
  const gates = new Map<string, BudgetGate>();
  function gateOf(name: string, fn: Readonly<GatewayFunctionSettings>, label: string) {
    const budget = deps.budget;
    if (budget === undefined || fn.tenancy !== 'PER_TENANT') return undefined;
    const known = gates.get(name);
    if (known !== undefined) return known;
    if (!Object.hasOwn(deps.functions, name)) {
      if (undeclaredGates >= MAX_FUNCTION_LABELS) return undefined;
      undeclaredGates++;
    }
    const cap = tenantEnvironmentCapOf(fn);
    const gate = new BudgetGate({
      functionName: name,
      cap,
      poolReserve: budget.routes.poolReserveOf(name, cap),
      priorIdleMs: fn.idleLifetimeMs ?? DEFAULT_IDLE_LIFETIME_MS,
      pool: budget.pool,
      retryAfterSeconds: budget.retryAfterSeconds,
      onSpill: (policy, outcome) => {
        deps.metrics.tenantBudgetSpills.inc({ function: label, policy, outcome });
      },
    });
    gates.set(name, gate);
    return gate;
  }
  function handleOf(name: string, fn: Readonly<GatewayFunctionSettings>): FunctionHandle {
    let handle = handles.get(name);
    if (handle === undefined) {
      const label = metrics.functionLabel(name);
      const gate = gateOf(name, fn, label);
      handle = {
        label,
        onRetry: () => {
          metrics.retried(label);
        },
        onThrottle: (throttle) => {
          metrics.throttled(label, fn.tenancy, throttle.reason);
        },
        routes: new Map(),
        gate,
        planner: gate === undefined ? undefined : deps.budget?.keepWarm?.plannerOf(name, fn, gate),
      };
      if (handles.size >= MAX_FUNCTION_HANDLES) handles.clear();
      handles.set(name, handle);
    }
    return handle;
  }

  /**
   * `t:<tenant>`, one string per tenant: a string made anew per request is
   * flattened and hashed again by each of the scheduler's Map operations on
   * it; the memo's is hashed once (and the tenant ID, from the directory's
   * L1 entry, already is).
   */
  const turnKeys = new Map<string, string>();
  function tenantTurnKey(tenantId: string): string {
    let turnKey = turnKeys.get(tenantId);
    if (turnKey === undefined) {
      turnKey = `t:${tenantId}`;
      if (turnKeys.size >= MAX_TURN_KEYS) turnKeys.clear();
      turnKeys.set(tenantId, turnKey);
    }
    return turnKey;
  }

  async function invoke(request: AffinityInvokeRequest): Promise<AffinityInvokeResult> {
    const started = performance.now();
    const fn = functionInfo(request.functionName);

    // Resolve: key → tenant and the scope of the key's state. An L1 hit is
    // answered synchronously (no promise, no await hop); the rest goes to the store.
    const resolveOptions =
      request.poolSize === undefined
        ? { mode: request.mode, functionName: request.functionName }
        : { mode: request.mode, functionName: request.functionName, poolSize: request.poolSize };
    const resolution =
      directory.resolveCached?.(request.key, resolveOptions) ??
      (await directory.resolve(request.key, resolveOptions));
    let tenantId = resolution.tenantId;
    // A bound key shares its target's environment, so it shares its state too.
    const target = resolution.boundTo ?? request.key;
    // The state is scoped by namespace, epoch, generation and (bound) key:
    // after a rotation, or a directory that lost its data, the key starts over.
    const stateScope = resolution.state;

    const handle = handleOf(request.functionName, fn);
    const functionLabel = handle.label;

    // Budget: only affinity mode gives a key a tenant of its own. Fresh mode's
    // tenants are single-use by design and pooled mode's are a fixed few per
    // route: the route's configuration, not traffic, bounds them.
    const gate = request.mode === 'affinity' ? handle.gate : undefined;
    let pooled = false;
    if (gate !== undefined) {
      const routeBudget = (deps.budget as InvokerBudgetDeps).routes.of(request.route);
      // By the state's key: a bound key's requests keep its target's tenant warm.
      if (gate.admit(target, tenantId, routeBudget).kind === 'spill') {
        try {
          const placement = await gate.place(
            {
              key: target,
              tenantId,
              domain: request.domain,
              deadline: request.deadline,
              signal: request.signal,
            },
            routeBudget,
          );
          tenantId = placement.tenantId;
          pooled = placement.pooled;
        } catch (err) {
          metrics.failed(request, err);
          throw err;
        }
      }
    }
    // One turn per tenant in affinity mode (bound keys share an environment);
    // per key in pooled mode and in a budget's pooled tenant (shared on
    // purpose); none in fresh mode.
    const turnKey =
      request.mode === 'pooled' || pooled ? `k:${request.key}` : tenantTurnKey(tenantId);

    // Schedule and invoke. `fn` returns the backend's promise itself (no
    // async wrapper: one promise and one hop less per request); the backend
    // time is read when the scheduler hands its outcome back.
    let backendStarted = 0;
    let queueWaitMs = 0;
    let outcome: InvokeResult;
    try {
      outcome = await scheduler.run(
        { key: turnKey, tenantId, deadline: request.deadline, signal: request.signal },
        (ticket) => {
          queueWaitMs = ticket.queueWaitMs;
          backendStarted = performance.now();
          return backend.invoke({
            functionName: request.functionName,
            tenantId: fn.tenancy === 'PER_TENANT' ? tenantId : undefined,
            payload: request.payload,
            deadline: request.deadline,
            // A pooled tenant keeps the key's own state scope (the environment
            // keeps each scope apart); the function hears that it is shared.
            clientContextBase64: clientContexts.encoded(
              stateScope,
              pooled ? 'pooled' : request.mode,
              resolution.stateVersion,
            ),
            logTail: deps.logTail,
            // The client's own signal, not the ticket's: the backend enforces
            // the deadline itself, and the ticket's signal costs a timer per call.
            signal: request.signal,
            onRetry: handle.onRetry,
            onThrottle: handle.onThrottle,
          });
        },
      );
    } catch (err) {
      gate?.ended(tenantId);
      metrics.failed(request, err);
      throw err;
    }
    const backendEnded = performance.now();
    const backendMs = backendEnded - backendStarted;

    // Report: what the function said of its state, to the directory and the metrics.
    let state: InvocationState;
    let payload = outcome.payload;
    let report: ValidWarmReport | undefined;
    let errorType: string | undefined;
    if (outcome.functionError !== undefined) {
      errorType = parseFunctionError(outcome.payload, outcome.functionError).errorType;
      metrics.functionError(functionLabel, errorType);
    } else {
      const envelope = parseEnvelope(outcome.payload);
      if (envelope !== undefined) {
        // parseEnvelope only checks the protocol version: the rest is the function's word.
        const checked = validateWarmReport(envelope.report);
        report = checked.report;
        metrics.reported(functionLabel, fn.memoryMb, report, checked.invalid);
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
      state = deps.logTail ? classifyFromLogTail(outcome.logTail) : 'unknown';
      if (state === 'fresh') metrics.coldStart(functionLabel, fn.memoryMb);
    }
    gate?.answered(tenantId, report?.env, state === 'hit', backendStarted, backendEnded);
    // A key in a pooled tenant is not its tenant's only user: no pings for it.
    if (
      gate !== undefined &&
      !pooled &&
      report !== undefined &&
      handle.planner !== undefined &&
      deps.budget?.keepWarm?.optedIn(request.route) === true
    ) {
      handle.planner.observe(target, tenantId, backendEnded, report.coldStart !== true);
    }

    const durationMs = performance.now() - started;
    let series = handle.routes.get(request.route);
    if (series === undefined) {
      series = metrics.routeSeries(functionLabel, request.route);
      handle.routes.set(request.route, series);
    }
    metrics.completed(
      series,
      state,
      outcome.functionError === undefined ? 'ok' : 'function_error',
      durationMs,
      queueWaitMs,
      backendMs,
    );

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

  function budgetGates(): Iterable<BudgetGate> {
    return gates.values();
  }

  deps.metrics.watchBudgets(function* (): Generator<BudgetGaugeReading> {
    for (const handle of handles.values()) {
      const gate = handle.gate;
      // Functions past the label bound share `other`: one series could not tell them apart.
      if (gate === undefined || handle.label === OTHER_LABEL) continue;
      yield {
        label: handle.label,
        cap: gate.cap,
        alive: () => gate.alive(),
        learnedIdleMs: () => gate.learnedIdleMs(),
        keepWarm:
          handle.planner === undefined ? undefined : handle.planner.counters.bind(handle.planner),
      };
    }
  });

  return { invoke, functionInfo, budgetGates };
}
