import type { FunctionDefinition } from './function-registry.js';
import type { ThrottleReason } from './lambda-api-error.js';
import { DeadlineHeap, type Deadlined } from './deadline-heap.js';
import type { ReclaimPolicy, SweepScheduler } from './reclaim.js';

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
  /**
   * Cap on environments of all functions (each is a process on this
   * machine). `lru`: the least recently used idle one makes room. `idle`:
   * nothing is evicted to make room, as on Lambda; past the cap a new
   * environment is refused with 429 `ConcurrentInvocationLimitExceeded`.
   */
  readonly maxEnvironments: number;
  readonly reclaim: ReclaimPolicy;
  /**
   * Tenant environments (busy or idle) per function before a new one is
   * refused with 429 "Rate exceeded". Default: Lambda's 2,500 per 1,000 of
   * the function's concurrency (`tenantEnvironmentCap`).
   */
  readonly tenantEnvironmentCap?: number | undefined;
  /** Account concurrency when a function reserves none (the local host passes Lambda's default quota). */
  readonly accountConcurrency: number;
  readonly create: (fn: FunctionDefinition, tenantId: string | undefined) => E;
  readonly now?: () => number;
  /** Uniform [0, 1) source of the idle jitter. Default Math.random. */
  readonly random?: () => number;
  /**
   * Wakes the pool at its next deadline (the host passes `unrefTimeout`).
   * Without one nothing is stopped until `sweep()` or the next `acquire()`
   * or `release()`, which check deadlines first.
   */
  readonly schedule?: SweepScheduler;
  /**
   * An environment the pool stopped while it could still have served: to make
   * room (LRU), idle past its reclaim time, at its maximum lifetime, or by
   * `evict()`. Not called for crashes, timeouts or shutdown (those are not
   * evictions).
   */
  readonly onEvict?: (env: E, why: EvictionCause) => void;
}

/** Why the pool stopped a healthy environment. */
export type EvictionCause = 'room' | 'idle' | 'lifetime' | 'evict';

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

/** The pool's bookkeeping for one environment. */
interface Slot<E> extends Deadlined {
  readonly env: E;
  readonly bornAt: number;
  /** How long it may stay idle: the reclaim time plus this environment's jitter. */
  readonly idleAllowanceMs: number;
  /** When it is recycled whatever its use (Infinity in `lru` mode). */
  readonly lifetimeAt: number;
  /** When its current idle period ends (meaningful while idle). */
  idleAt: number;
}

/**
 * Execution environments by function and tenant, with tenant isolation
 * mode's rules: an environment serves one tenant for its whole life and one
 * invocation at a time; a busy tenant gets another environment; functions
 * without tenancy share environments across callers. Throttles as Lambda
 * does (429) instead of queueing.
 *
 * Every environment has one deadline, kept in a heap: while idle, the end of
 * its idle allowance or its lifetime, whichever comes first; while busy, its
 * lifetime (an idle deadline left from before it was reused is requeued when
 * it comes due). The pool expires what is due before it hands out or takes back
 * an environment, so none is ever reused past its deadline, and `schedule`
 * wakes it at the earliest deadline to stop the process on time: one timer,
 * no periodic scan, nothing scheduled when nothing is due.
 */
export class EnvironmentPool<E extends PooledEnvironment> {
  private readonly all = new Map<string, Slot<E>>();
  /** Idle environments per function+tenant, most recently used last (reused first). */
  private readonly idle = new Map<string, E[]>();
  private readonly busyByFunction = new Map<string, number>();
  private readonly countByFunction = new Map<string, number>();
  private readonly deadlines = new DeadlineHeap<Slot<E>>();
  private readonly now: () => number;
  private readonly random: () => number;
  /** When the scheduled wake-up fires, and how to cancel it. */
  private armedAt: number | undefined;
  private cancelWakeUp: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: PoolOptions<E>) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
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
    const now = this.now();
    this.expire(now);
    const result = this.take(fn, tenantId, now);
    this.rearm(now);
    return result;
  }

  /** The invocation finished; the environment may serve the same tenant again. */
  release(env: E): void {
    const slot = this.all.get(env.id);
    if (slot?.env !== env || env.state !== 'busy') return;
    const now = this.now();
    // A lifetime that ended during the invocation retires it now.
    this.expire(now);
    env.state = 'idle';
    env.lastUsedAt = now;
    this.busyByFunction.set(env.fn.name, (this.busyByFunction.get(env.fn.name) ?? 1) - 1);
    if (env.retiring || this.closed) {
      this.remove(env);
      void env.destroy();
    } else {
      const key = poolKey(env.fn.name, env.tenantId);
      const stack = this.idle.get(key);
      if (stack === undefined) this.idle.set(key, [env]);
      else stack.push(env);
      slot.idleAt = now + slot.idleAllowanceMs;
      this.deadlines.set(slot, Math.min(slot.idleAt, slot.lifetimeAt));
    }
    this.rearm(now);
  }

  /** Forget and stop an environment (timeout, crash, init failure, or it died while idle). */
  discard(env: E): Promise<void> {
    this.remove(env);
    this.rearm(this.now());
    return env.destroy();
  }

  /**
   * Stops the matching environments, as Lambda recycling them would: idle
   * ones now, busy ones right after their current invocation. Returns how many.
   */
  evict(filter: EvictFilter = {}): number {
    let n = 0;
    for (const { env } of [...this.all.values()]) {
      if (filter.function !== undefined && env.fn.name !== filter.function) continue;
      if (filter.tenant !== undefined && env.tenantId !== filter.tenant) continue;
      n++;
      this.retire(env, 'evict');
    }
    this.rearm(this.now());
    return n;
  }

  /**
   * Stops the idle environments whose deadline has come (and marks busy ones
   * past their lifetime to stop after their invocation). Returns how many
   * were stopped.
   */
  sweep(): number {
    const now = this.now();
    const n = this.expire(now);
    this.rearm(now);
    return n;
  }

  list(): E[] {
    return [...this.all.values()].map((slot) => slot.env);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.disarm();
    const envs = this.list();
    for (const env of envs) this.remove(env);
    await Promise.all(envs.map((env) => env.destroy()));
  }

  private take(fn: FunctionDefinition, tenantId: string | undefined, now: number): Acquired<E> {
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
      // Its idle deadline stays queued (moving it costs more on every call than
      // the rare wake-up it causes): expire() tells it is busy and requeues it.
      reused.state = 'busy';
      this.busyByFunction.set(fn.name, busy + 1);
      return { env: reused, cold: false };
    }
    if (fn.tenancy === 'PER_TENANT') {
      const cap =
        this.options.tenantEnvironmentCap ??
        tenantEnvironmentCap(fn.reservedConcurrency ?? this.options.accountConcurrency);
      if ((this.countByFunction.get(fn.name) ?? 0) >= cap) {
        // AWS documents this throttle only as 429 TooManyRequestsException "Rate exceeded", with
        // no Reason (https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-troubleshooting.html);
        // the gateway counts a Reason-less throttle as `unattributed` (src/invoker/metric-labels.ts).
        return { throttled: null, message: 'Rate exceeded' };
      }
    }
    if (this.all.size >= this.options.maxEnvironments) {
      // Lambda never stops a warm environment to make room; in `idle` mode the
      // cap only guards this machine, and answers as Lambda's concurrency limit does.
      const victim = this.options.reclaim.mode === 'lru' ? this.leastRecentlyUsedIdle() : undefined;
      if (victim === undefined) {
        return { throttled: 'ConcurrentInvocationLimitExceeded', message: 'Rate Exceeded.' };
      }
      this.remove(victim);
      this.options.onEvict?.(victim, 'room');
      void victim.destroy();
    }
    const env = this.options.create(fn, tenantId);
    env.state = 'busy';
    env.lastUsedAt = now;
    const reclaim = this.options.reclaim;
    const slot: Slot<E> = {
      env,
      bornAt: now,
      idleAllowanceMs:
        reclaim.mode === 'lru'
          ? reclaim.idleTimeoutMs
          : reclaim.idleReclaimMs + Math.floor(this.random() * reclaim.idleJitterMs),
      lifetimeAt: reclaim.mode === 'lru' ? Infinity : now + reclaim.maxLifetimeMs,
      idleAt: Infinity,
      deadline: Infinity,
      heapIndex: -1,
    };
    this.all.set(env.id, slot);
    this.busyByFunction.set(fn.name, busy + 1);
    this.countByFunction.set(fn.name, (this.countByFunction.get(fn.name) ?? 0) + 1);
    if (slot.lifetimeAt !== Infinity) this.deadlines.set(slot, slot.lifetimeAt);
    return { env, cold: true };
  }

  /** Stops an idle environment now, or a busy one after its invocation; reported once. */
  private retire(env: E, why: EvictionCause): void {
    // A busy one already retiring was reported when it was marked.
    if (!env.retiring) this.options.onEvict?.(env, why);
    if (env.state === 'idle') {
      this.remove(env);
      void env.destroy();
    } else {
      env.retiring = true;
      const slot = this.all.get(env.id);
      if (slot !== undefined) this.deadlines.delete(slot);
    }
  }

  /** Retires everything whose deadline is `now` or earlier; returns how many were stopped. */
  private expire(now: number): number {
    let stopped = 0;
    for (let slot = this.deadlines.peek(); slot !== undefined && slot.deadline <= now;) {
      const { env } = slot;
      const idle = env.state === 'idle';
      if (!idle && now < slot.lifetimeAt) {
        // The idle deadline of an environment reused since: only its lifetime applies while busy.
        if (slot.lifetimeAt === Infinity) this.deadlines.delete(slot);
        else this.deadlines.set(slot, slot.lifetimeAt);
      } else {
        this.deadlines.delete(slot);
        // Whichever deadline came first is the cause.
        this.retire(env, idle && slot.idleAt < slot.lifetimeAt ? 'idle' : 'lifetime');
        if (idle) stopped++;
      }
      slot = this.deadlines.peek();
    }
    return stopped;
  }

  /** Keeps one wake-up at or before the earliest deadline. */
  private rearm(now: number): void {
    const schedule = this.options.schedule;
    if (schedule === undefined || this.closed) return;
    const next = this.deadlines.peek()?.deadline;
    if (next === undefined) {
      this.disarm();
      return;
    }
    // A wake-up already due sooner stays: when it fires early it arms the next one.
    if (this.armedAt !== undefined && this.armedAt <= next) return;
    this.disarm();
    this.armedAt = next;
    this.cancelWakeUp = schedule(next - now, () => {
      this.armedAt = undefined;
      this.cancelWakeUp = undefined;
      this.sweep();
    });
  }

  private disarm(): void {
    this.cancelWakeUp?.();
    this.cancelWakeUp = undefined;
    this.armedAt = undefined;
  }

  private leastRecentlyUsedIdle(): E | undefined {
    let victim: E | undefined;
    for (const { env } of this.all.values()) {
      if (env.state === 'idle' && (victim === undefined || env.lastUsedAt < victim.lastUsedAt))
        victim = env;
    }
    return victim;
  }

  private remove(env: E): void {
    const slot = this.all.get(env.id);
    if (slot?.env !== env) return;
    this.all.delete(env.id);
    this.deadlines.delete(slot);
    const name = env.fn.name;
    this.countByFunction.set(name, (this.countByFunction.get(name) ?? 1) - 1);
    if (env.state === 'busy')
      this.busyByFunction.set(name, (this.busyByFunction.get(name) ?? 1) - 1);
    // acquire() leaves a tenant's stack empty rather than delete and recreate it
    // on every call; it goes with the tenant's last environment.
    const key = poolKey(name, env.tenantId);
    const stack = this.idle.get(key);
    if (stack !== undefined) {
      const i = env.state === 'idle' ? stack.indexOf(env) : -1;
      if (i >= 0) stack.splice(i, 1);
      if (stack.length === 0) this.idle.delete(key);
    }
  }
}
