import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalHost, type LocalHost } from '../../src/localhost/index.js';
import { examplesDir } from '../../src/paths.js';
import { mulberry32 } from '../workload/prng.js';
import { childRss } from './child-rss.js';

/** Eviction settings every scenario shares: the point of comparing them side by side. */
export interface HostLimits {
  /** The host evicts an environment idle this long. */
  readonly idleTimeoutMs: number;
  /** Most environments alive at once; beyond it the host evicts the least recently used idle one. */
  readonly maxEnvironments: number;
}

/**
 * The host's Lambda-like mode (`reclaim: 'idle'`, src/localhost/reclaim.ts):
 * no eviction to make room, idle reclaim, a maximum lifetime and a
 * tenant-environment cap answered with 429, as Lambda does.
 */
export interface IdleHostLimits {
  readonly reclaim: 'idle';
  /** An environment idle this long is reclaimed, ms. */
  readonly idleReclaimMs: number;
  /** Extra idle time per environment, uniform in [0, idleJitterMs), ms. Default 0. */
  readonly idleJitterMs?: number;
  /** Every environment is recycled at this age, ms. Default: the host's. */
  readonly maxLifetimeMs?: number;
  /** Processes of all functions: a guard for the machine, set above the tenant cap. */
  readonly maxEnvironments: number;
  /** Tenant environments per function before 429. */
  readonly tenantEnvironmentCap: number;
  /** Seeds the jitter, so a run's reclaim times repeat. Default 1. */
  readonly jitterSeed?: number;
}

export type ScenarioHostLimits = HostLimits | IdleHostLimits;

/** The local host's reclaim options for `limits`. */
function reclaimOptionsOf(limits: ScenarioHostLimits) {
  if (!('reclaim' in limits)) return { idleTimeoutMs: limits.idleTimeoutMs };
  return {
    reclaim: 'idle' as const,
    idleReclaimMs: limits.idleReclaimMs,
    tenantEnvironmentCap: limits.tenantEnvironmentCap,
    ...(limits.idleJitterMs === undefined ? {} : { idleJitterMs: limits.idleJitterMs }),
    ...(limits.maxLifetimeMs === undefined ? {} : { maxLifetimeMs: limits.maxLifetimeMs }),
    idleJitterRandom: mulberry32(limits.jitterSeed ?? 1),
  };
}

export const WRAPPED_FUNCTION = 'warm-counter';
/** The same code without tenant isolation: what users run today. */
export const SHARED_FUNCTION = 'warm-counter-shared';

export interface FunctionShape {
  readonly handler: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

/** warm-counter's declaration from the shipped functions file, or the house defaults. */
export function wrappedFunctionShape(): FunctionShape {
  const fallback: FunctionShape = { handler: 'index.handler', memoryMb: 128, timeoutSeconds: 3 };
  const file = join(examplesDir, 'functions.json');
  if (!existsSync(file)) return fallback;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const list = Array.isArray(raw) ? raw : (raw as { functions?: unknown }).functions;
  if (!Array.isArray(list)) return fallback;
  const decl = (list as Record<string, unknown>[]).find((f) => f['name'] === WRAPPED_FUNCTION);
  return {
    handler: typeof decl?.['handler'] === 'string' ? decl['handler'] : fallback.handler,
    memoryMb: typeof decl?.['memoryMb'] === 'number' ? decl['memoryMb'] : fallback.memoryMb,
    timeoutSeconds:
      typeof decl?.['timeoutSeconds'] === 'number'
        ? decl['timeoutSeconds']
        : fallback.timeoutSeconds,
  };
}

export interface ScenarioHost {
  readonly host: LocalHost;
  readonly shape: FunctionShape;
  /** Peak of the environments' processes and their summed RSS, sampled every 250 ms. */
  memory(): { peakProcesses: number; peakRssMiB: number; sampled: boolean };
}

/**
 * A fresh local host for one scenario, with its own empty snapshot directory
 * (so every scenario starts from no state), declaring `warm-counter`
 * (PER_TENANT) and `warm-counter-shared` (no tenancy) over the same example
 * code. The functions file is written at run time because the snapshot
 * directory is per scenario.
 */
export async function withScenarioHost<T>(
  limits: ScenarioHostLimits,
  fn: (s: ScenarioHost) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'warmroute-bench-'));
  try {
    const shape = wrappedFunctionShape();
    const common = {
      codeDir: join(examplesDir, 'warm-counter'),
      handler: shape.handler,
      memoryMb: shape.memoryMb,
      timeoutSeconds: shape.timeoutSeconds,
      environment: { WARMROUTE_SNAPSHOT_DIR: join(dir, 'snapshots') },
    };
    const functionsFile = join(dir, 'functions.json');
    await writeFile(
      functionsFile,
      JSON.stringify({
        functions: [
          { name: WRAPPED_FUNCTION, tenancy: 'PER_TENANT', ...common },
          { name: SHARED_FUNCTION, tenancy: 'NONE', ...common },
        ],
      }),
    );
    const host = await startLocalHost({
      port: 0,
      functionsFile,
      maxEnvironments: limits.maxEnvironments,
      ...reclaimOptionsOf(limits),
    });
    let peakProcesses = 0;
    let peakRss = 0;
    let sampled = false;
    const sample = (): void => {
      const m = childRss();
      if (m === undefined) return;
      sampled = true;
      peakProcesses = Math.max(peakProcesses, m.processes);
      peakRss = Math.max(peakRss, m.rssBytes);
    };
    const timer = setInterval(sample, 250);
    try {
      return await fn({
        host,
        shape,
        memory: () => {
          sample();
          return { peakProcesses, peakRssMiB: Math.round(peakRss / 1048576), sampled };
        },
      });
    } finally {
      clearInterval(timer);
      await host.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
