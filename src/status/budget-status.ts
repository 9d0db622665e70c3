import type { Registry } from 'prom-client';
import type { FunctionBudgetStatus } from './status-document.js';

/**
 * The status page's "Tenant budget" rows (issue 18): each function's
 * tenant-environment budget as its gauges report it now, and its keep-warm
 * counters since the gateway started. Read at document time from the
 * registry, not kept in the sampler's ring: the gauges are current state,
 * and the keep-warm counters are shown as totals (labelled "since start"),
 * so the page and `/metrics` read the same values at the same moment. Only
 * function labels (bounded by the invoker) appear: no key, no tenant.
 */

const ALIVE = 'warmroute_tenant_budget_alive';
const CAP = 'warmroute_tenant_budget_cap';
const IDLE = 'warmroute_idle_lifetime_seconds';
const PINGS = 'warmroute_keep_warm_invocations_total';
const PING_COST = 'warmroute_keep_warm_cost_usd_total';
const AVOIDED = 'warmroute_keep_warm_cold_starts_avoided_total';

async function byFunction(registry: Registry, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return out;
  for (const { labels, value } of (await metric.get()).values) {
    const fn = labels['function'];
    if (typeof fn === 'string' && Number.isFinite(value)) out.set(fn, value);
  }
  return out;
}

/** Every function with a budget (a cap), sorted by name. */
export async function readBudgets(registry: Registry): Promise<FunctionBudgetStatus[]> {
  // Cap first: a function is listed when its budget exists, alive or not.
  const cap = await byFunction(registry, CAP);
  const alive = await byFunction(registry, ALIVE);
  const idle = await byFunction(registry, IDLE);
  const pings = await byFunction(registry, PINGS);
  const pingCost = await byFunction(registry, PING_COST);
  const avoided = await byFunction(registry, AVOIDED);
  return [...cap]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, c]) => {
      const sent = pings.get(name);
      return {
        name,
        alive: alive.get(name) ?? 0,
        cap: c,
        idleLifetimeSeconds: idle.get(name) ?? null,
        // Absent where no route of the function opted in to keep-warm.
        keepWarm:
          sent === undefined
            ? null
            : {
                pings: sent,
                costUsd: pingCost.get(name) ?? 0,
                coldStartsAvoided: avoided.get(name) ?? 0,
              },
      };
    });
}
