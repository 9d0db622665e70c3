import { performance } from 'node:perf_hooks';
import type { Backend } from '../backend/backend.js';
import type { GatewayFunctionSettings } from '../config/function-settings.js';
import type { Config, KeepWarmConfig } from '../config/schema.js';
import type { Scheduler } from '../scheduler/types.js';
import { MIN_IDLE_CONFIDENCE, type BudgetGate } from './budget-gate.js';
import { KeepWarmPlanner } from './keep-warm.js';
import { keepWarmPrice } from './keep-warm-price.js';
import { keepWarmSender } from './keep-warm-sender.js';

/**
 * The keep-warm planners of the functions whose proxy routes opted in
 * (`budget.keepWarm`, README "Keep-warm"), made on a function's first call
 * since each plans on its budget's learned idle lifetime.
 *
 * - L is a low quantile (0.1) of the learned lifetime: a ping must reach the
 *   environment before it dies, so the early side of the estimate is the
 *   safe one. Until learned, the function's configured `idleLifetimeMs` (a
 *   measurement stated by the operator); neither: no ping, since the
 *   10-minute guess the budget starts from could be too long.
 * - A ping's answer feeds the budget like a request's (the environment is
 *   busy, then idle from the answer; a `hit` is evidence it lived through
 *   the gap), on the gate's clock (performance.now), which the planner uses too.
 * - A ping takes its tenant's turn in the scheduler, as a request does: one
 *   sent while the key's request runs would make Lambda start a second
 *   environment for the tenant, and every Invoke on the wire holds a global
 *   slot (the backend has one connection per slot).
 */

/** Billed init time assumed when a route names none, ms: a Node runtime with a few modules. */
export const DEFAULT_KEEP_WARM_INIT_MS = 500;
/** A ping slower than this is not worth waiting for, ms. */
export const DEFAULT_KEEP_WARM_TIMEOUT_MS = 2_000;
/** The learned lifetime's quantile pings plan on. */
export const KEEP_WARM_IDLE_QUANTILE = 0.1;

export class KeepWarmPlanners {
  /** Function → its routes' settings (check-config holds them equal). */
  private readonly settings = new Map<string, KeepWarmConfig>();
  private readonly routes = new Set<string>();
  private readonly planners = new Map<string, KeepWarmPlanner>();
  private readonly coldStartPricePerGb: number;
  /** The gateway's backend, each call in its tenant's turn. */
  private readonly backend: Backend;
  private closed = false;

  constructor(
    config: Pick<Config, 'routes' | 'coldStartPricePerGb'>,
    backend: Backend,
    scheduler: Pick<Scheduler, 'run'>,
  ) {
    this.backend = {
      invoke: (request) =>
        scheduler.run(
          {
            // The invoker's turn key of a tenant (affinity-invoker.ts tenantTurnKey).
            key: `t:${request.tenantId ?? ''}`,
            tenantId: request.tenantId ?? '',
            deadline: request.deadline,
          },
          () => backend.invoke(request),
        ),
      close: () => backend.close(),
    };
    this.coldStartPricePerGb = config.coldStartPricePerGb;
    for (const route of config.routes) {
      const keepWarm = route.budget?.keepWarm;
      if (keepWarm === undefined || route.mode !== 'affinity') continue;
      this.routes.add(route.prefix);
      if (!this.settings.has(route.function)) this.settings.set(route.function, keepWarm);
    }
  }

  /** Whether requests on `route` (its label) feed keep-warm. */
  optedIn(route: string): boolean {
    return this.routes.has(route);
  }

  /** `name`'s planner, made on first use; undefined when no route of it opted in. */
  plannerOf(
    name: string,
    fn: Readonly<GatewayFunctionSettings>,
    gate: BudgetGate,
  ): KeepWarmPlanner | undefined {
    const existing = this.planners.get(name);
    if (existing !== undefined) return existing;
    const settings = this.settings.get(name);
    if (settings === undefined || this.closed) return undefined;
    const price = keepWarmPrice({
      memoryMb: fn.memoryMb,
      initMs: settings.initMs ?? DEFAULT_KEEP_WARM_INIT_MS,
      rehydrateMs: settings.rehydrateMs ?? 0,
      coldStartPricePerGb: this.coldStartPricePerGb,
    });
    const prior = fn.idleLifetimeMs;
    const clock = (): number => performance.now();
    const planner = new KeepWarmPlanner({
      functionName: name,
      pingsPerMinute: settings.pingsPerMinute,
      ...(settings.burst === undefined ? {} : { burst: settings.burst }),
      send: keepWarmSender(this.backend, {
        timeoutMs: settings.timeoutMs ?? DEFAULT_KEEP_WARM_TIMEOUT_MS,
        // The sender's clock stays Date.now (its deadline is epoch ms); the gate's is monotonic.
        onAnswer: (answer) => {
          const offset = clock() - Date.now();
          gate.answered(
            answer.tenantId,
            answer.report.env,
            answer.report.state === 'hit',
            answer.startedAt + offset,
            answer.endedAt + offset,
          );
        },
      }),
      idleLifetimeMs: () =>
        gate.lifetime.confidence >= MIN_IDLE_CONFIDENCE
          ? (gate.lifetime.estimateMs(KEEP_WARM_IDLE_QUANTILE) ?? prior)
          : prior,
      price: () => price,
      now: clock,
    });
    this.planners.set(name, planner);
    return planner;
  }

  /** Stops every planner's timer (no ping after the gateway closes). */
  close(): void {
    this.closed = true;
    for (const planner of this.planners.values()) planner.close();
  }
}
