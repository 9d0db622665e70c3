import type { GatewayFunctionSettings } from '../config/function-settings.js';

/**
 * A function's tenant-environment budget as Lambda sets it (AWS's tenant
 * isolation quotas: 2,500 tenant environments, active or idle, per 1,000
 * concurrent executions; the local host's pool.ts applies the same rule),
 * and the idle lifetime the gateway assumes before it has learned one.
 */

/** Lambda's default account concurrency quota: the function's concurrency when it reserves none. */
export const ACCOUNT_CONCURRENCY = 1_000;

/** Tenant environments Lambda allows per unit of concurrency (2,500 per 1,000). */
export const TENANT_ENVIRONMENTS_PER_CONCURRENCY = 2.5;

/**
 * The idle lifetime assumed until one is learned, ms: 10 minutes. AWS
 * publishes none (measurements range from minutes to about an hour); it is
 * the local host's idle timeout and idle reclaim default
 * (src/localhost/reclaim.ts), so a gateway in front of it starts right. A
 * function's `idleLifetimeMs` replaces it.
 */
export const DEFAULT_IDLE_LIFETIME_MS = 10 * 60_000;

/** The tenant environments Lambda allows `fn`: its own cap, else 2.5 × its concurrency. */
export function tenantEnvironmentCapOf(
  fn: Pick<GatewayFunctionSettings, 'tenantEnvironmentCap' | 'reservedConcurrency'>,
): number {
  if (fn.tenantEnvironmentCap !== undefined) return fn.tenantEnvironmentCap;
  const concurrency = fn.reservedConcurrency ?? ACCOUNT_CONCURRENCY;
  // Reserved concurrency 0 throttles every call anyway; 1 keeps the budget constructible.
  return Math.max(1, Math.floor(concurrency * TENANT_ENVIRONMENTS_PER_CONCURRENCY));
}
