import { join } from 'node:path';
import { startLocalHost } from '../../src/localhost/index.js';
import type { ReclaimOptions } from '../../src/localhost/reclaim.js';
import { examplesDir } from '../../src/paths.js';

/**
 * The local Lambda host in its own process for benchmarks; prints `{ "url" }`.
 *
 * Environment (unset: the host's default):
 *   BENCH_FUNCTIONS_FILE            functions file (default: the shipped examples)
 *   BENCH_MAX_ENVIRONMENTS          processes of all functions
 *   BENCH_RECLAIM                   `lru` (default) or `idle` (Lambda-like, README "warmroute local")
 *   BENCH_IDLE_TIMEOUT_MS           `lru` only: idle environments stop after this long
 *   BENCH_IDLE_RECLAIM_MS           `idle` only: idle environments are reclaimed after this long
 *   BENCH_IDLE_JITTER_MS            `idle` only: extra idle time per environment, uniform in [0, this)
 *   BENCH_MAX_LIFETIME_MS           `idle` only: environments are recycled at this age
 *   BENCH_TENANT_ENVIRONMENT_CAP    tenant environments per function before 429
 * The host validates the values (a field of the other mode, a bad number) and
 * refuses to start with every problem in one message.
 */

function numberFrom(name: string): number | undefined {
  const raw = process.env[name];
  // Number('') is 0: an empty variable means unset, not zero.
  return raw === undefined || raw === '' ? undefined : Number(raw);
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function reclaimFromEnv(): ReclaimOptions {
  const mode = process.env['BENCH_RECLAIM'];
  if (mode === 'idle') {
    if (numberFrom('BENCH_IDLE_TIMEOUT_MS') !== undefined)
      throw new Error(
        'BENCH_IDLE_TIMEOUT_MS is for BENCH_RECLAIM=lru; idle takes BENCH_IDLE_RECLAIM_MS',
      );
    return {
      reclaim: 'idle',
      ...optional('idleReclaimMs', numberFrom('BENCH_IDLE_RECLAIM_MS')),
      ...optional('idleJitterMs', numberFrom('BENCH_IDLE_JITTER_MS')),
      ...optional('maxLifetimeMs', numberFrom('BENCH_MAX_LIFETIME_MS')),
    };
  }
  if (mode !== undefined && mode !== '' && mode !== 'lru') {
    throw new Error(`BENCH_RECLAIM must be 'lru' or 'idle', got '${mode}'`);
  }
  for (const name of ['BENCH_IDLE_RECLAIM_MS', 'BENCH_IDLE_JITTER_MS', 'BENCH_MAX_LIFETIME_MS']) {
    // Silently ignoring them would run a different host than the one asked for.
    if (numberFrom(name) !== undefined) throw new Error(`${name} needs BENCH_RECLAIM=idle`);
  }
  return { ...optional('idleTimeoutMs', numberFrom('BENCH_IDLE_TIMEOUT_MS')) };
}

const host = await startLocalHost({
  port: 0,
  functionsFile: process.env['BENCH_FUNCTIONS_FILE'] ?? join(examplesDir, 'functions.json'),
  ...optional('maxEnvironments', numberFrom('BENCH_MAX_ENVIRONMENTS')),
  ...optional('tenantEnvironmentCap', numberFrom('BENCH_TENANT_ENVIRONMENT_CAP')),
  ...reclaimFromEnv(),
});
console.log(JSON.stringify({ url: host.url }));
process.once('SIGTERM', () => {
  void host.close().then(() => process.exit(0));
});
