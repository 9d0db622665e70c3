import { performance } from 'node:perf_hooks';
import type { CancelSignal } from '../cancel-signal.js';
import { WarmrouteError } from '../errors.js';
import { IdleEvidence } from './idle-evidence.js';
import { IdleLifetime } from './idle-lifetime.js';
import type { PoolTenants } from './pool-tenant.js';
import type { BudgetPolicy, RouteBudget } from './route-budget.js';
import { TenantBudget, type Admission } from './tenant-budget.js';

/**
 * One function's tenant-environment budget on the request path (issue 18;
 * README "Tenant-environment budget"): whether a key's own tenant may be
 * invoked, and what happens when it may not, by the route's policy.
 *
 * - `admit` decides synchronously and, for a tenant already alive,
 *   allocates nothing (TenantBudget's frozen answers). `queue` routes ask
 *   for strict isolation (`admitWhileRoom`: a place while one is free,
 *   whatever the key's frequency; nobody demoted), since their alternative
 *   to a place is waiting: keeping the last places for frequent keys would
 *   make a new key wait, or fail, where Lambda would have served it.
 *   `pool` and `reject` routes ask for TinyLFU admission (`admit`): near
 *   the cap only keys seen more often than the coldest live one get a
 *   tenant of their own; the rest spill.
 * - `place` handles a spill: `reject` answers 429; `pool` invokes one of
 *   the domain's pooled tenants, which live in a share of the cap kept for
 *   them (`poolReserve`; a function no `pool` route calls keeps none), so
 *   dedicated and pooled tenants together never exceed the cap; `queue`
 *   waits, FIFO, until an environment counts dead
 *   (one timer at the budget's next expiry, not polling), bounded by the
 *   route's `queueWaitMs` and the request's deadline, then 429.
 * - `answered` starts the tenant's idle time at the end of its call and
 *   feeds the learned idle lifetime. The budget counts an environment alive
 *   for a high quantile (0.9) of the learned lifetime once the estimate has
 *   evidence on both sides of its median, and for the configured prior
 *   before: erring towards "alive" can only spill more, never exceed the cap.
 */

export type SpillOutcome = 'dedicated' | 'pooled' | 'rejected' | 'abandoned';

/** Learned-estimate evidence (IdleLifetime.confidence) before it replaces the prior. */
export const MIN_IDLE_CONFIDENCE = 16;
/** The quantile of the learned lifetime the budget counts environments alive for. */
export const BUDGET_IDLE_QUANTILE = 0.9;
/** Longest Retry-After the gate suggests, seconds. */
const MAX_RETRY_AFTER_SECONDS = 3_600;

export interface BudgetGateOptions {
  readonly functionName: string;
  /** Tenant environments the function may have alive (src/budget/function-budget.ts). */
  readonly cap: number;
  /** Of the cap, the places kept for pooled tenants (0: no route pools this function). */
  readonly poolReserve: number;
  /** The idle lifetime assumed until one is learned, ms. */
  readonly priorIdleMs: number;
  readonly pool: PoolTenants;
  /** Retry-After of a 429 when no place is known to free (no lifetime known yet), seconds. */
  readonly retryAfterSeconds: number;
  /** Tenants whose last answer is remembered for the idle evidence. Default: 2 × cap, 1,024 to 100,000. */
  readonly evidenceTenants?: number;
  /** Monotonic ms; default performance.now. */
  readonly clock?: () => number;
  /** Epoch ms, the clock of request deadlines; default Date.now. */
  readonly wallClock?: () => number;
  readonly onSpill?: (policy: BudgetPolicy, outcome: SpillOutcome) => void;
}

/** A spilled request, as `place` needs it. */
export interface SpillRequest {
  readonly key: string;
  /** The key's own tenant. */
  readonly tenantId: string;
  /** The request's isolation domain (`pool`), as the route read it. */
  readonly domain: string | undefined;
  /** Epoch ms. */
  readonly deadline: number;
  readonly signal: CancelSignal | undefined;
}

export interface Placement {
  readonly tenantId: string;
  /** A pooled tenant of the request's domain, shared with its other spilled keys. */
  readonly pooled: boolean;
}

/** A `queue` request waiting for a place; it is its own signal listener (no closure). */
class Waiter {
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly gate: BudgetGate,
    readonly key: string,
    readonly tenantId: string,
    readonly waitMs: number,
    readonly signal: CancelSignal | undefined,
    readonly resolve: (placement: Placement) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  handleEvent(): void {
    this.gate.abandon(this);
  }
}

export class BudgetGate {
  readonly functionName: string;
  readonly cap: number;
  readonly lifetime = new IdleLifetime();
  private readonly budget: TenantBudget;
  private readonly pooledBudget: TenantBudget | undefined;
  private readonly evidence: IdleEvidence;
  private readonly priorIdleMs: number;
  private readonly pool: PoolTenants;
  private readonly retryAfterSeconds: number;
  private readonly clock: () => number;
  private readonly wallClock: () => number;
  private readonly onSpill: (policy: BudgetPolicy, outcome: SpillOutcome) => void;
  private readonly waiters: Waiter[] = [];
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;

  constructor(options: BudgetGateOptions) {
    this.functionName = options.functionName;
    this.cap = options.cap;
    this.priorIdleMs = options.priorIdleMs;
    this.pool = options.pool;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.clock = options.clock ?? (() => performance.now());
    this.wallClock = options.wallClock ?? Date.now;
    this.onSpill = options.onSpill ?? (() => undefined);
    const idleLifetimeMs = (): number => this.idleLifetimeMs();
    const reserve = Math.max(0, Math.min(options.poolReserve, options.cap - 1));
    this.budget = new TenantBudget({ cap: options.cap - reserve, idleLifetimeMs });
    this.pooledBudget =
      reserve > 0 ? new TenantBudget({ cap: reserve, idleLifetimeMs }) : undefined;
    const evidenceTenants =
      options.evidenceTenants ?? Math.min(100_000, Math.max(1_024, 2 * options.cap));
    this.evidence = new IdleEvidence(this.lifetime, evidenceTenants);
  }

  /** Whether `key` may invoke its own tenant now (see the top of this file). */
  admit(key: string, tenantId: string, route: RouteBudget): Admission {
    const now = this.clock();
    return route.policy === 'queue'
      ? this.budget.admitWhileRoom(key, tenantId, now)
      : this.budget.admit(key, tenantId, now);
  }

  /** Where a spilled request runs, by the route's policy; throws 429 WR_ERR_TENANT_BUDGET when nowhere. */
  place(request: SpillRequest, route: RouteBudget): Promise<Placement> {
    switch (route.policy) {
      case 'reject':
        this.onSpill('reject', 'rejected');
        return Promise.reject(this.full('policy reject'));
      case 'pool':
        return this.placeInPool(request, route);
      case 'queue':
        return this.wait(request, route);
    }
  }

  /**
   * A call of `tenantId` reached its environment at `startedAt` and was
   * answered at `endedAt` (this gate's clock) by environment `envId`, warm
   * when `hit`.
   */
  answered(
    tenantId: string,
    envId: string | undefined,
    hit: boolean,
    startedAt: number,
    endedAt: number,
  ): void {
    this.budget.completed(tenantId, endedAt);
    this.pooledBudget?.completed(tenantId, endedAt);
    this.evidence.answered(tenantId, envId, hit, startedAt, endedAt);
  }

  /** A call of `tenantId` ended without an answer: its environment (if any) is idle from now. */
  ended(tenantId: string): void {
    const now = this.clock();
    this.budget.completed(tenantId, now);
    this.pooledBudget?.completed(tenantId, now);
  }

  /** How long an environment counts alive after its last call, ms (see the top of this file). */
  idleLifetimeMs(): number {
    if (this.lifetime.confidence < MIN_IDLE_CONFIDENCE) return this.priorIdleMs;
    return (
      this.lifetime.estimateMs(BUDGET_IDLE_QUANTILE) ??
      this.lifetime.estimateMs() ??
      this.priorIdleMs
    );
  }

  /** The learned median idle lifetime, ms; undefined until it has enough evidence. */
  learnedIdleMs(): number | undefined {
    if (this.lifetime.confidence < MIN_IDLE_CONFIDENCE) return undefined;
    return this.lifetime.estimateMs();
  }

  /** Tenant environments estimated alive now, dedicated and pooled. */
  alive(): number {
    const now = this.clock();
    return this.budget.alive(now) + (this.pooledBudget?.alive(now) ?? 0);
  }

  /** Requests waiting for a place now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** A waiter's client left: it stops waiting. */
  abandon(waiter: Waiter): void {
    if (!this.remove(waiter)) return;
    this.onSpill('queue', 'abandoned');
    const reason: unknown = waiter.signal?.reason;
    waiter.reject(
      reason instanceof Error ? reason : new Error('The operation was aborted', { cause: reason }),
    );
  }

  private placeInPool(request: SpillRequest, route: RouteBudget): Promise<Placement> {
    if (request.domain === undefined) {
      this.onSpill('pool', 'rejected');
      return Promise.reject(
        new WarmrouteError('WR_ERR_BAD_REQUEST', [
          `no isolation domain in the request (${route.domain?.from ?? '?'} ${route.domain?.name ?? '?'}), which the pool policy places this key by`,
        ]),
      );
    }
    const tenantId = this.pool.tenantOf(
      this.functionName,
      request.domain,
      request.key,
      route.poolTenants,
    );
    // Pooled tenants take places too: Lambda counts their environments against the same cap.
    const pooled = this.pooledBudget;
    if (pooled?.admitWhileRoom(tenantId, tenantId, this.clock()).kind !== 'dedicated') {
      this.onSpill('pool', 'rejected');
      return Promise.reject(
        this.full("no place for the domain's pooled tenant either", pooled ?? this.budget),
      );
    }
    this.onSpill('pool', 'pooled');
    return Promise.resolve({ tenantId, pooled: true });
  }

  private wait(request: SpillRequest, route: RouteBudget): Promise<Placement> {
    const waitMs = Math.min(route.queueWaitMs, request.deadline - this.wallClock());
    if (waitMs <= 0 || request.signal?.aborted === true) {
      this.onSpill('queue', 'rejected');
      return Promise.reject(this.full(`no place within ${route.queueWaitMs} ms`));
    }
    return new Promise<Placement>((resolve, reject) => {
      const waiter = new Waiter(
        this,
        request.key,
        request.tenantId,
        route.queueWaitMs,
        request.signal,
        resolve,
        reject,
      );
      waiter.timer = setTimeout(() => {
        this.expired(waiter);
      }, waitMs);
      request.signal?.addEventListener('abort', waiter, { once: true });
      this.waiters.push(waiter);
      this.arm();
    });
  }

  private expired(waiter: Waiter): void {
    waiter.timer = undefined;
    if (!this.remove(waiter)) return;
    this.onSpill('queue', 'rejected');
    waiter.reject(this.full(`no place within ${waiter.waitMs} ms`));
  }

  /** One timer for all waiters, at the time the next environment counts dead. */
  private arm(): void {
    if (this.waiters.length === 0) return;
    const next = this.budget.nextExpiryAt();
    // Unknown (nothing held, or no lifetime yet): the waiters' own bounds end the wait.
    if (next === undefined) return;
    if (this.wakeTimer !== undefined && this.wakeAt <= next) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAt = next;
    // +1 ms: the budget counts an environment dead once its lifetime has fully passed.
    const delay = Math.max(0, Math.ceil(next - this.clock()) + 1);
    this.wakeTimer = setTimeout(() => {
      this.wake();
    }, delay);
    this.wakeTimer.unref();
  }

  /** Places free: waiters, oldest first, take those their key may have. */
  private wake(): void {
    this.wakeTimer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.waiters.length;) {
      const waiter = this.waiters[i] as Waiter;
      // Not counted again: waiting does not make a key more frequent.
      const admission = this.budget.admitWhileRoom(
        waiter.key,
        waiter.tenantId,
        this.clock(),
        false,
      );
      if (admission.kind === 'spill') {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.settle(waiter);
      this.onSpill('queue', 'dedicated');
      waiter.resolve({ tenantId: waiter.tenantId, pooled: false });
    }
    this.arm();
  }

  private remove(waiter: Waiter): boolean {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return false;
    this.waiters.splice(i, 1);
    this.settle(waiter);
    return true;
  }

  private settle(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    waiter.signal?.removeEventListener('abort', waiter);
  }

  /** 429 with the time until a place of `budget` is expected to free. */
  private full(why: string, budget: TenantBudget = this.budget): WarmrouteError {
    const next = budget.nextExpiryAt();
    const retryAfterSeconds =
      next === undefined
        ? this.retryAfterSeconds
        : Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil((next - this.clock()) / 1000)));
    return new WarmrouteError('WR_ERR_TENANT_BUDGET', [this.functionName, this.cap, why], {
      retryAfterSeconds,
    });
  }
}
