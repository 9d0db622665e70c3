/**
 * Fixtures for unit tests of the local host's EnvironmentPool: a function
 * definition, an environment that records its destruction instead of
 * running a process, and an unwrapper for acquisitions a test expects to
 * succeed.
 */
import type { FunctionDefinition } from '../../src/localhost/function-registry.js';
import type { Acquired, PooledEnvironment } from '../../src/localhost/pool.js';

export function fn(name: string, extra: Partial<FunctionDefinition> = {}): FunctionDefinition {
  return {
    name,
    codeDir: '/code',
    handler: 'index.handler',
    tenancy: 'PER_TENANT',
    memoryMb: 128,
    timeoutSeconds: 3,
    reservedConcurrency: undefined,
    environment: {},
    ...extra,
  };
}

let seq = 0;

export class FakeEnv implements PooledEnvironment {
  readonly id = `env-${++seq}`;
  state: 'busy' | 'idle' = 'busy';
  lastUsedAt = 0;
  retiring = false;
  destroyed = false;
  constructor(
    readonly fn: FunctionDefinition,
    readonly tenantId: string | undefined,
  ) {}
  destroy(): Promise<void> {
    this.destroyed = true;
    return Promise.resolve();
  }
}

/** The environment of an acquisition that must not be throttled; the throttle's reason otherwise. */
export function acquired<E>(r: Acquired<E>): E {
  if ('throttled' in r) throw new Error(`throttled: ${String(r.throttled)} ${r.message}`);
  return r.env;
}
