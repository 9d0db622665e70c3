import type { FunctionDefinition } from './function-registry.js';
import type { ThrottleReason } from './lambda-api-error.js';

/** What the pool needs of an environment (the real one is a child process; tests use fakes). */
export interface PooledEnvironment {
  readonly id: string;
  readonly fn: FunctionDefinition;
  readonly tenantId: string | undefined;
  state: 'busy' | 'idle';
  lastUsedAt: number;
  retiring: boolean;
  destroy(): Promise<void>;
}

export interface PoolOptions<E extends PooledEnvironment> {
  /** Cap on environments of all functions; the least recently used idle one makes room. */
  readonly maxEnvironments: number;
  /** Idle environments older than this are stopped by `sweep()`. */
  readonly idleTimeoutMs: number;
  /** Account concurrency when a function reserves none (the local host passes Lambda's default quota). */
  readonly accountConcurrency: number;
  readonly create: (fn: FunctionDefinition, tenantId: string | undefined) => E;
  readonly now?: () => number;
  /**
   * An environment the pool stopped while it could still have served: to make
   * room (LRU), past the idle timeout, or by `evict()`. Not called for crashes,
   * timeouts or shutdown (those are not evictions).
   */
  readonly onEvict?: (env: E, why: EvictionCause) => void;
}

/** Why the pool stopped a healthy environment. */
export type EvictionCause = 'room' | 'idle' | 'evict';

export type Acquired<E> =
  | { readonly env: E; readonly cold: boolean }
  | {
      /**
       * Lambda's `Reason` for the throttle; `null` where Lambda documents none
       * (the tenant-environment cap: only "Rate exceeded").
       */
      readonly throttled: ThrottleReason | null;
      readonly message: string;
    };

export interface EvictFilter {
  readonly function?: string | undefined;
  readonly tenant?: string | undefined;
}

/** Lambda allows 2,500 tenant environments (active or idle) per 1,000 concurrent executions. */
export function tenantEnvironmentCap(concurrency: number): number {
  return Math.max(1, Math.floor((concurrency * 2500) / 1000));
}

function poolKey(fn: string, tenantId: string | undefined): string {
  return tenantId === undefined ? fn : `${fn}\u0000${tenantId}`;
}

/**
 * Execution environments by function and tenant, with tenant isolation
 * mode's rules: an environment serves one tenant for its whole life and one
 * invocation at a time; a busy tenant gets another environment; functions
 * without tenancy share environments across callers. Throttles as Lambda
 * does (429) instead of queueing.
 */
export class EnvironmentPool<E extends PooledEnvironment> {
  private readonly all = new Map<string, E>();
  /** Idle environments per function+tenant, most recently used last (reused first). */
  private readonly idle = new Map<string, E[]>();
  private readonly busyByFunction = new Map<string, number>();
  private readonly countByFunction = new Map<string, number>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: PoolOptions<E>) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.all.size;
  }

  /** An environment for this invocation (marked busy), or why Lambda would throttle it. */
  acquire(fn: FunctionDefinition, tenantId: string | undefined): Acquired<E> {
    if (this.closed)
      return {
        throttled: 'ConcurrentInvocationLimitExceeded',
        message: 'The local host is shutting down.',
      };
    const busy = this.busyByFunction.get(fn.name) ?? 0;
    if (fn.reservedConcurrency !== undefined && busy >= fn.reservedConcurrency) {
      return {
        throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        message: 'Rate Exceeded.',
      };
    }
    const stack = this.idle.get(poolKey(fn.name, tenantId));
    const reused = stack?.pop();
    if (reused !== undefined) {
      reused.state = 'busy';
      this.busyByFunction.set(fn.name, busy + 1);
      return { env: reused, cold: false };
    }
    if (fn.tenancy === 'PER_TENANT') {
      const cap = tenantEnvironmentCap(fn.reservedConcurrency ?? this.options.accountConcurrency);
      if ((this.countByFunction.get(fn.name) ?? 0) >= cap) {
        // AWS documents this throttle only as 429 TooManyRequestsException "Rate exceeded", with
        // no Reason (https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-troubleshooting.html);
        // the gateway counts a Reason-less throttle as `unattributed` (src/invoker/metric-labels.ts).
        return { throttled: null, message: 'Rate exceeded' };
      }
    }
    if (this.all.size >= this.options.maxEnvironments) {
      const victim = this.leastRecentlyUsedIdle();
      if (victim === undefined) {
        return { throttled: 'ConcurrentInvocationLimitExceeded', message: 'Rate Exceeded.' };
      }
      this.remove(victim);
      this.options.onEvict?.(victim, 'room');
      void victim.destroy();
    }
    const env = this.options.create(fn, tenantId);
    env.state = 'busy';
    env.lastUsedAt = this.now();
    this.all.set(env.id, env);
    this.busyByFunction.set(fn.name, busy + 1);
    this.countByFunction.set(fn.name, (this.countByFunction.get(fn.name) ?? 0) + 1);
    return { env, cold: true };
  }

  /** The invocation finished; the environment may serve the same tenant again. */
  release(env: E): void {
    if (!this.all.has(env.id) || env.state !== 'busy') return;
    env.state = 'idle';
    env.lastUsedAt = this.now();
    this.busyByFunction.set(env.fn.name, (this.busyByFunction.get(env.fn.name) ?? 1) - 1);
    if (env.retiring || this.closed) {
      this.remove(env);
      void env.destroy();
      return;
    }
    const key = poolKey(env.fn.name, env.tenantId);
    const stack = this.idle.get(key);
    if (stack === undefined) this.idle.set(key, [env]);
    else stack.push(env);
  }

  /** Forget and stop an environment (timeout, crash, init failure, or it died while idle). */
  discard(env: E): Promise<void> {
    this.remove(env);
    return env.destroy();
  }

  /**
   * Stops the matching environments, as Lambda recycling them would: idle
   * ones now, busy ones right after their current invocation. Returns how many.
   */
  evict(filter: EvictFilter = {}): number {
    let n = 0;
    for (const env of [...this.all.values()]) {
      if (filter.function !== undefined && env.fn.name !== filter.function) continue;
      if (filter.tenant !== undefined && env.tenantId !== filter.tenant) continue;
      n++;
      // Counted once, when asked: a busy one stops after its invocation.
      if (!env.retiring) this.options.onEvict?.(env, 'evict');
      if (env.state === 'idle') {
        this.remove(env);
        void env.destroy();
      } else {
        env.retiring = true;
      }
    }
    return n;
  }

  /** Stops environments idle for longer than the idle timeout. */
  sweep(): number {
    const oldest = this.now() - this.options.idleTimeoutMs;
    let n = 0;
    for (const env of [...this.all.values()]) {
      if (env.state === 'idle' && env.lastUsedAt <= oldest) {
        this.remove(env);
        this.options.onEvict?.(env, 'idle');
        void env.destroy();
        n++;
      }
    }
    return n;
  }

  list(): E[] {
    return [...this.all.values()];
  }

  async close(): Promise<void> {
    this.closed = true;
    const envs = [...this.all.values()];
    for (const env of envs) this.remove(env);
    await Promise.all(envs.map((env) => env.destroy()));
  }

  private leastRecentlyUsedIdle(): E | undefined {
    let victim: E | undefined;
    for (const env of this.all.values()) {
      if (env.state === 'idle' && (victim === undefined || env.lastUsedAt < victim.lastUsedAt))
        victim = env;
    }
    return victim;
  }

  private remove(env: E): void {
    if (!this.all.delete(env.id)) return;
    const name = env.fn.name;
    this.countByFunction.set(name, (this.countByFunction.get(name) ?? 1) - 1);
    if (env.state === 'busy')
      this.busyByFunction.set(name, (this.busyByFunction.get(name) ?? 1) - 1);
    else {
      const key = poolKey(name, env.tenantId);
      const stack = this.idle.get(key);
      if (stack !== undefined) {
        const i = stack.indexOf(env);
        if (i >= 0) stack.splice(i, 1);
        if (stack.length === 0) this.idle.delete(key);
      }
    }
  }
}
