import type { BudgetConfig, Config } from '../config/schema.js';

/**
 * Each route's budget policy with its defaults applied, found by the route
 * label the invoker is given (`rpc`, `sdk`, or a proxy route's prefix).
 */

export type BudgetPolicy = BudgetConfig['policy'];
export type DomainSource = NonNullable<BudgetConfig['domain']>;

/** Pooled tenants per isolation domain when a `pool` budget names no `poolTenants`. */
export const DEFAULT_POOL_TENANTS = 4;

/**
 * Share of a function's cap kept for pooled tenants when a route may pool
 * it: the width of TinyLFU's near-cap band (tenant-budget.ts `nearCapRatio`),
 * so the keys that band turns away have somewhere to go.
 */
export const POOL_RESERVE_SHARE = 0.1;

export interface RouteBudget {
  readonly policy: BudgetPolicy;
  /** `queue`: longest wait for a place, ms. */
  readonly queueWaitMs: number;
  /** `pool`: pooled tenants per domain. */
  readonly poolTenants: number;
  /** `pool`: where the route reads the request's isolation domain. */
  readonly domain: DomainSource | undefined;
}

export function routeBudgetOf(
  budget: BudgetConfig | undefined,
  maxQueueWaitMs: number,
): RouteBudget {
  return Object.freeze({
    // Routes that do not opt in keep strict isolation: a new key waits for a place.
    policy: budget?.policy ?? 'queue',
    queueWaitMs: budget?.queueWaitMs ?? maxQueueWaitMs,
    poolTenants: budget?.poolTenants ?? DEFAULT_POOL_TENANTS,
    domain: budget?.domain,
  });
}

/** Route label → budget, from the config (labels come from code and config, never requests). */
export class RouteBudgets {
  readonly default: RouteBudget;
  private readonly byRoute = new Map<string, RouteBudget>();
  /** Functions a `pool` proxy route calls (every function when the RPC route pools). */
  private readonly pooling = new Set<string>();
  private readonly rpcPools: boolean;

  constructor(config: Pick<Config, 'routes' | 'rpcBudget' | 'maxQueueWaitMs'>) {
    this.default = routeBudgetOf(undefined, config.maxQueueWaitMs);
    const rpc = routeBudgetOf(config.rpcBudget, config.maxQueueWaitMs);
    // The SDK's embedded transport is the RPC route without HTTP.
    this.byRoute.set('rpc', rpc);
    // It passes no domain, so under a pooling rpcBudget it keeps the default (queue).
    this.byRoute.set('sdk', rpc.policy === 'pool' ? this.default : rpc);
    this.rpcPools = rpc.policy === 'pool';
    for (const route of config.routes) {
      const budget = routeBudgetOf(route.budget, config.maxQueueWaitMs);
      this.byRoute.set(route.prefix, budget);
      if (budget.policy === 'pool') this.pooling.add(route.function);
    }
  }

  /** Places of `cap` kept for `functionName`'s pooled tenants: POOL_RESERVE_SHARE, at least 1. */
  poolReserveOf(functionName: string, cap: number): number {
    if (!this.rpcPools && !this.pooling.has(functionName)) return 0;
    return Math.min(cap - 1, Math.max(1, Math.ceil(cap * POOL_RESERVE_SHARE)));
  }

  of(route: string): RouteBudget {
    return this.byRoute.get(route) ?? this.default;
  }
}
