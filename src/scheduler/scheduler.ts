/**
 * The gateway's scheduler. A job passes three gates in order, holding each
 * once passed until its `fn` settles:
 *
 *   1. its key (FIFO per key; skipped when `serializePerKey` is false),
 *   2. a tenant slot (FIFO per tenant, `perTenantConcurrency`),
 *   3. a global slot (`globalConcurrency`), handed out round-robin across
 *      the tenants that have a job waiting at this gate, FIFO within one.
 *
 * A client that leaves while its job runs frees the job's key at once (the
 * key only; the tenant and global slots stay held, since the call still
 * occupies an environment and a share of the function's concurrency until it
 * ends). The next job for the key then runs beside the orphaned call, which
 * makes Lambda start a second environment for the tenant, rather than
 * waiting up to the function's timeout for a result nobody will read. To
 * keep the uncontended path free of listeners, a running job only starts
 * watching its client once another job queues behind its key.
 *
 * Round-robin with a quantum of one job is deficit round robin for jobs of
 * equal cost: a tenant with 1,000 queued jobs gets one slot, then a tenant
 * with one gets the next. Because the tenant gate comes first, a tenant has
 * at most `perTenantConcurrency` jobs at the global gate anyway.
 *
 * Hot path: at ~8k req/s every request goes through `run()`, so the path
 * where nothing waits allocates one object (the job, which is also the
 * ticket) plus the promise of `execute()` and the two callbacks on `fn`'s
 * promise (a promise the scheduler can reject, so a drain can answer a job
 * that outlives its grace; its executor is one module function), settles it
 * in the same microtask as `fn`'s promise, reads the clock once, and starts
 * no timer: the deadline timer
 * behind `ticket.signal` is only created if `fn` reads the signal. Every
 * queue is an intrusive linked list (O(1) push, shift and removal of an
 * aborted waiter; running jobs sit in one too, for the drain), and
 * per-tenant state objects are recycled through a small free list.
 *
 * Drain: no new jobs; queued and running ones go on until the grace ends,
 * then every caller still waiting gets `WR_ERR_SHUTTING_DOWN` at once, the
 * running ones included (their calls are left to end on their own).
 */

import type { CancelSignal } from '../cancel-signal.js';
import { MAX_TIMER_DELAY_MS } from '../clock-limits.js';
import { WarmrouteError } from '../errors.js';
import { LinkedList, type ListNode } from './linked-list.js';
import type {
  Scheduler,
  SchedulerJob,
  SchedulerOptions,
  SchedulerSettings,
  SchedulerStats,
  Ticket,
} from './types.js';

const TENANT_POOL_MAX = 1024;

const STAGE_NEW = 0;
const STAGE_KEY = 1;
const STAGE_TENANT = 2;
const STAGE_GLOBAL = 3;
const STAGE_RUNNING = 4;
const STAGE_DONE = 5;
type Stage =
  | typeof STAGE_NEW
  | typeof STAGE_KEY
  | typeof STAGE_TENANT
  | typeof STAGE_GLOBAL
  | typeof STAGE_RUNNING
  | typeof STAGE_DONE;

interface ResolvedOptions extends SchedulerSettings {
  readonly clock: () => number;
}

class TenantState implements ListNode<TenantState> {
  // Links in the scheduler's round-robin ring of tenants waiting for a global slot.
  prev: TenantState | undefined = undefined;
  next: TenantState | undefined = undefined;
  list: LinkedList<TenantState> | undefined = undefined;
  id = '';
  /** Tenant slots held (jobs past the tenant gate: running or waiting for a global slot). */
  held = 0;
  /** Jobs waiting for a tenant slot. */
  readonly waiting = new LinkedList<Job>();
  /** Jobs holding a tenant slot and waiting for a global slot. */
  readonly globalWaiting = new LinkedList<Job>();
}

class Job implements Ticket, ListNode<Job> {
  prev: Job | undefined = undefined;
  next: Job | undefined = undefined;
  list: LinkedList<Job> | undefined = undefined;
  stage: Stage = STAGE_NEW;
  queueWaitMs = 0;
  /** Set while the job is counted in `queued` (and has a wait timer). */
  waiting = false;
  enqueuedAt = 0;
  holdsKey = false;
  /** While the job holds its key: the jobs waiting for that key, FIFO (created on first waiter). */
  keyWaiters: LinkedList<Job> | undefined = undefined;
  holdsTenant = false;
  /** The tenant whose gate the job is at or past (undefined before and after). */
  tenant: TenantState | undefined = undefined;
  /** The wait bound while waiting; the deadline behind `signal` while running. */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  controller: AbortController | undefined = undefined;
  listening = false;
  grant: (() => void) | undefined = undefined;
  /** While `fn` runs: settles the caller's promise (the drain's cut uses `fail`). */
  succeed: ((value: unknown) => void) | undefined = undefined;
  fail: ((err: unknown) => void) | undefined = undefined;

  constructor(
    readonly scheduler: SchedulerImpl,
    readonly key: string,
    readonly tenantId: string,
    readonly deadline: number,
    readonly clientSignal: CancelSignal | undefined,
  ) {}

  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = new AbortController();
      this.controller = controller;
      if (this.stage === STAGE_RUNNING) this.scheduler.armSignal(this, controller);
    }
    return controller.signal;
  }

  /** The client's signal aborted (the job is the listener object: no closure per job). */
  handleEvent(): void {
    this.scheduler.clientAborted(this);
  }
}

function onWaitTimeout(job: Job): void {
  job.scheduler.waitExpired(job);
}

function onDeadline(job: Job): void {
  job.timer = undefined;
  job.controller?.abort(
    new WarmrouteError('WR_ERR_DEADLINE', [Math.max(0, job.deadline - job.enqueuedAt)]),
  );
}

/**
 * The job whose promise `new Promise(takeSettlers)` is making: the executor
 * is one module function instead of a closure per job (it runs synchronously
 * inside the constructor, so nothing else can see this in between).
 */
let settling: Job | undefined;

function takeSettlers(resolve: (value: never) => void, reject: (err: unknown) => void): void {
  const job = settling as Job;
  // The job's promise is a Promise<T> for the T of its own `fn`.
  job.succeed = resolve as (value: unknown) => void;
  job.fail = reject;
}

/** Rejections must be Errors; a signal's reason is whatever the client passed to abort(). */
function abortError(signal: CancelSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new Error('The operation was aborted', { cause: reason });
}

/** A promise rejected with `reason` as thrown, whatever it is (fn's own error passes through). */
function rejectWith(reason: unknown): Promise<never> {
  return Promise.resolve().then(() => {
    throw reason;
  });
}

function checkOption(
  problems: string[],
  name: string,
  value: number,
  min: number,
  allowInfinity: boolean,
): void {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    const what = allowInfinity ? `an integer ≥ ${min} or Infinity` : `an integer ≥ ${min}`;
    problems.push(`scheduler.${name} must be ${what} (got ${String(value)})`);
  }
}

function resolveOptions(options: SchedulerOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    serializePerKey: options.serializePerKey,
    maxQueuePerKey: options.maxQueuePerKey,
    maxQueueWaitMs: options.maxQueueWaitMs,
    perTenantConcurrency: options.perTenantConcurrency,
    globalConcurrency: options.globalConcurrency,
    maxGlobalQueue: options.maxGlobalQueue,
    retryAfterSeconds: options.retryAfterSeconds,
    // Looked up per call, not captured, so fake timers installed later apply.
    clock: options.clock ?? (() => Date.now()),
  };
  const problems: string[] = [];
  checkOption(problems, 'maxQueuePerKey', resolved.maxQueuePerKey, 0, true);
  checkOption(problems, 'maxQueueWaitMs', resolved.maxQueueWaitMs, 1, false);
  checkOption(problems, 'perTenantConcurrency', resolved.perTenantConcurrency, 1, true);
  checkOption(problems, 'globalConcurrency', resolved.globalConcurrency, 1, true);
  checkOption(problems, 'maxGlobalQueue', resolved.maxGlobalQueue, 0, true);
  checkOption(problems, 'retryAfterSeconds', resolved.retryAfterSeconds, 0, false);
  if (problems.length > 0) throw new WarmrouteError('WR_ERR_CONFIG', [problems.join('\n')]);
  return resolved;
}

class SchedulerImpl implements Scheduler {
  private readonly opts: ResolvedOptions;
  private readonly clock: () => number;
  /** Held keys → the job holding each (its `keyWaiters` queue behind it). */
  private readonly keys = new Map<string, Job>();
  private readonly tenants = new Map<string, TenantState>();
  private readonly tenantPool: TenantState[] = [];
  /** Tenants with a job waiting for a global slot, in round-robin order. */
  private readonly ring = new LinkedList<TenantState>();
  /** Jobs whose `fn` runs: the drain cuts them loose when its grace ends. */
  private readonly active = new LinkedList<Job>();
  private running = 0;
  private queued = 0;
  private rejectedKeyBusy = 0;
  private rejectedConcurrency = 0;
  private rejectedDeadline = 0;
  private draining = false;
  private drainWaiters: (() => void)[] = [];

  readonly settings: Readonly<SchedulerSettings>;

  constructor(opts: ResolvedOptions) {
    this.opts = opts;
    const { clock, ...settings } = opts;
    this.clock = clock;
    this.settings = Object.freeze(settings);
  }

  run<T>(spec: SchedulerJob, fn: (ticket: Ticket) => Promise<T>): Promise<T> {
    if (this.draining) {
      return Promise.reject(
        new WarmrouteError('WR_ERR_SHUTTING_DOWN', [], {
          retryAfterSeconds: this.opts.retryAfterSeconds,
        }),
      );
    }
    const clientSignal = spec.signal;
    if (clientSignal?.aborted === true) return Promise.reject(abortError(clientSignal));
    const now = this.clock();
    if (spec.deadline <= now) {
      this.rejectedDeadline++;
      return Promise.reject(
        new WarmrouteError('WR_ERR_DEADLINE', [0], { details: { stage: 'queue' } }),
      );
    }
    const job = new Job(this, spec.key, spec.tenantId, spec.deadline, clientSignal);
    job.enqueuedAt = now;
    const error = this.admit(job);
    if (error !== undefined) return Promise.reject(error);
    if (job.stage === STAGE_RUNNING) return this.execute(job, fn);
    return new Promise<void>((resolve, reject) => {
      job.grant = resolve;
      job.fail = reject;
    }).then(() => this.execute(job, fn));
  }

  stats(): SchedulerStats {
    return {
      running: this.running,
      queued: this.queued,
      keysActive: this.keys.size,
      tenantsActive: this.tenants.size,
      rejected: {
        keyBusy: this.rejectedKeyBusy,
        concurrency: this.rejectedConcurrency,
        deadline: this.rejectedDeadline,
      },
    };
  }

  drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.running === 0 && this.queued === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          this.rejectAllQueued();
          this.cutAllRunning();
          done();
        },
        Math.min(Math.max(0, timeoutMs), MAX_TIMER_DELAY_MS),
      );
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.drainWaiters.push(done);
    });
  }

  // ---- called by Job and the timer callbacks ----

  /** Starts the deadline timer and client-abort forwarding behind a running job's `ticket.signal`. */
  armSignal(job: Job, controller: AbortController): void {
    const clientSignal = job.clientSignal;
    if (clientSignal?.aborted === true) {
      controller.abort(clientSignal.reason);
      return;
    }
    const remaining = job.deadline - this.clock();
    if (remaining <= 0) {
      onDeadline(job);
      return;
    }
    const timer = setTimeout(onDeadline, Math.min(remaining, MAX_TIMER_DELAY_MS), job);
    timer.unref();
    job.timer = timer;
    if (clientSignal !== undefined && !job.listening) {
      clientSignal.addEventListener('abort', job);
      job.listening = true;
    }
  }

  clientAborted(job: Job): void {
    const clientSignal = job.clientSignal;
    if (clientSignal === undefined) return;
    if (job.stage === STAGE_RUNNING) {
      job.controller?.abort(clientSignal.reason);
      // Nobody reads the result: the key goes to the next waiter now, not when the call ends.
      this.releaseKey(job);
    } else if (job.waiting) this.abandon(job, abortError(clientSignal));
  }

  waitExpired(job: Job): void {
    job.timer = undefined;
    if (!job.waiting) return;
    const { maxQueueWaitMs, retryAfterSeconds } = this.opts;
    let error: WarmrouteError;
    if (job.deadline <= job.enqueuedAt + maxQueueWaitMs) {
      this.rejectedDeadline++;
      error = new WarmrouteError('WR_ERR_DEADLINE', [job.deadline - job.enqueuedAt], {
        details: { stage: 'queue' },
      });
    } else if (job.stage === STAGE_KEY) {
      this.rejectedKeyBusy++;
      error = new WarmrouteError('WR_ERR_KEY_BUSY', [maxQueueWaitMs], { retryAfterSeconds });
    } else {
      this.rejectedConcurrency++;
      const gate = job.stage === STAGE_TENANT ? 'tenant' : 'global';
      error = new WarmrouteError(
        'WR_ERR_CONCURRENCY_LIMIT',
        [`no ${gate} slot within ${maxQueueWaitMs} ms`],
        {
          retryAfterSeconds,
        },
      );
    }
    this.abandon(job, error);
  }

  // ---- gates ----

  /** Runs the gates for a new job: it ends running, queued, or rejected (the error is returned). */
  private admit(job: Job): WarmrouteError | undefined {
    if (this.opts.serializePerKey) {
      let holder = this.keys.get(job.key);
      // A holder whose client already left (and was not watched) gives up the key now.
      if (holder?.stage === STAGE_RUNNING && holder.clientSignal?.aborted === true) {
        this.releaseKey(holder);
        holder = this.keys.get(job.key);
      }
      if (holder === undefined) {
        this.keys.set(job.key, job);
        job.holdsKey = true;
      } else {
        if ((holder.keyWaiters?.size ?? 0) >= this.opts.maxQueuePerKey) {
          this.rejectedKeyBusy++;
          return new WarmrouteError('WR_ERR_KEY_BUSY', [this.opts.maxQueueWaitMs], {
            retryAfterSeconds: this.opts.retryAfterSeconds,
          });
        }
        const error = this.startWaiting(job);
        if (error !== undefined) return error;
        holder.keyWaiters ??= new LinkedList<Job>();
        holder.keyWaiters.push(job);
        job.stage = STAGE_KEY;
        this.watchClient(holder);
        return undefined;
      }
    }
    return this.enterTenantGate(job);
  }

  /** Someone waits for a running job's key: from now on its client's leaving frees the key. */
  private watchClient(holder: Job): void {
    const clientSignal = holder.clientSignal;
    if (holder.stage !== STAGE_RUNNING || clientSignal === undefined || holder.listening) return;
    clientSignal.addEventListener('abort', holder);
    holder.listening = true;
  }

  private enterTenantGate(job: Job): WarmrouteError | undefined {
    let tenant = this.tenants.get(job.tenantId);
    if (tenant === undefined) {
      tenant = this.tenantPool.pop() ?? new TenantState();
      tenant.id = job.tenantId;
      this.tenants.set(job.tenantId, tenant);
    }
    job.tenant = tenant;
    if (tenant.held < this.opts.perTenantConcurrency && tenant.waiting.size === 0) {
      tenant.held++;
      job.holdsTenant = true;
      return this.enterGlobalGate(job, tenant);
    }
    const error = this.startWaiting(job);
    if (error !== undefined) {
      this.releaseHeld(job);
      return error;
    }
    tenant.waiting.push(job);
    job.stage = STAGE_TENANT;
    return undefined;
  }

  private enterGlobalGate(job: Job, tenant: TenantState): WarmrouteError | undefined {
    // Waiters exist only while every slot is taken (a freed slot goes straight
    // to the next waiter); the ring check keeps newcomers behind them regardless.
    if (this.running < this.opts.globalConcurrency && this.ring.size === 0) {
      this.running++;
      this.grant(job);
      return undefined;
    }
    const error = this.startWaiting(job);
    if (error !== undefined) {
      this.releaseHeld(job);
      return error;
    }
    tenant.globalWaiting.push(job);
    if (tenant.list === undefined) this.ring.push(tenant);
    job.stage = STAGE_GLOBAL;
    return undefined;
  }

  /** Counts a job as queued and starts its wait bound, unless it already waits (moving between gates). */
  private startWaiting(job: Job): WarmrouteError | undefined {
    if (job.waiting) return undefined;
    if (this.queued >= this.opts.maxGlobalQueue) {
      this.rejectedConcurrency++;
      return new WarmrouteError(
        'WR_ERR_CONCURRENCY_LIMIT',
        [`${this.queued} requests already queued`],
        {
          retryAfterSeconds: this.opts.retryAfterSeconds,
        },
      );
    }
    job.waiting = true;
    this.queued++;
    const expiresAt = Math.min(job.deadline, job.enqueuedAt + this.opts.maxQueueWaitMs);
    const timer = setTimeout(
      onWaitTimeout,
      Math.min(Math.max(0, expiresAt - this.clock()), MAX_TIMER_DELAY_MS),
      job,
    );
    timer.unref();
    job.timer = timer;
    const clientSignal = job.clientSignal;
    if (clientSignal !== undefined) {
      clientSignal.addEventListener('abort', job);
      job.listening = true;
    }
    return undefined;
  }

  /** The job got its global slot (it holds all three gates now). */
  private grant(job: Job): void {
    job.stage = STAGE_RUNNING;
    if (job.waiting) {
      job.waiting = false;
      this.queued--;
      clearTimeout(job.timer);
      job.timer = undefined;
      job.queueWaitMs = Math.max(0, this.clock() - job.enqueuedAt);
      // The client listener stays: while running it forwards aborts to ticket.signal.
      job.grant?.();
    }
  }

  /**
   * Runs `fn`; the returned promise settles with it, or earlier when the drain
   * cuts the job (`job.fail`): a call that outlives the shutdown grace must
   * not hold its client's answer until the process is killed.
   */
  private execute<T>(job: Job, fn: (ticket: Ticket) => Promise<T>): Promise<T> {
    this.active.push(job);
    let call: Promise<T>;
    try {
      call = fn(job);
    } catch (err) {
      // Released at once, as when fn's promise rejects: the next job may start in this tick.
      this.finish(job);
      return rejectWith(err);
    }
    settling = job;
    const result = new Promise<T>(takeSettlers);
    settling = undefined;
    // fn's value or rejection reason is passed on as it is (not `resolve(call)`,
    // which costs two more microtask hops to adopt a promise); once the drain
    // cut the job, settling its promise again does nothing.
    call.then(
      (value) => {
        const resolve = job.succeed;
        this.finish(job);
        resolve?.(value);
      },
      (err: unknown) => {
        const reject = job.fail;
        this.finish(job);
        reject?.(err);
      },
    );
    return result;
  }

  private finish(job: Job): void {
    job.stage = STAGE_DONE;
    job.succeed = undefined;
    job.fail = undefined;
    this.active.remove(job);
    this.detach(job);
    // The global slot first, so it goes to the ring's next tenant rather than
    // to this tenant's next job, which only reaches the global gate below.
    const nextTenant = this.ring.head;
    if (nextTenant === undefined) {
      this.running--;
    } else {
      const next = nextTenant.globalWaiting.shift();
      this.ring.remove(nextTenant);
      if (nextTenant.globalWaiting.size > 0) this.ring.push(nextTenant);
      if (next === undefined) this.running--;
      else this.grant(next);
    }
    this.releaseHeld(job);
    this.checkDrained();
  }

  /** A job that is done stops its timer (wait bound or deadline) and its client-abort listener. */
  private detach(job: Job): void {
    if (job.timer !== undefined) {
      clearTimeout(job.timer);
      job.timer = undefined;
    }
    if (job.listening) {
      job.clientSignal?.removeEventListener('abort', job);
      job.listening = false;
    }
  }

  /** Gives up the key a job holds (if it still does), handing it to the key's next waiter. */
  private releaseKey(job: Job): void {
    if (!job.holdsKey) return;
    job.holdsKey = false;
    const waiters = job.keyWaiters;
    job.keyWaiters = undefined;
    const next = waiters?.shift();
    if (next === undefined) {
      this.keys.delete(job.key);
      return;
    }
    next.holdsKey = true;
    next.keyWaiters = waiters !== undefined && waiters.size > 0 ? waiters : undefined;
    this.keys.set(job.key, next);
    // A waiting job is already counted, so this cannot be rejected.
    this.enterTenantGate(next);
  }

  /** Gives up the key and tenant slot a job holds, handing each to its next waiter. */
  private releaseHeld(job: Job): void {
    const tenant = job.tenant;
    if (tenant !== undefined) {
      job.tenant = undefined;
      if (job.holdsTenant) {
        job.holdsTenant = false;
        tenant.held--;
        if (tenant.held < this.opts.perTenantConcurrency) {
          const next = tenant.waiting.shift();
          if (next !== undefined) {
            tenant.held++;
            next.holdsTenant = true;
            // A waiting job is already counted, so this cannot be rejected.
            this.enterGlobalGate(next, tenant);
          }
        }
      }
      if (tenant.held === 0 && tenant.waiting.size === 0 && tenant.globalWaiting.size === 0) {
        this.tenants.delete(tenant.id);
        if (this.tenantPool.length < TENANT_POOL_MAX) this.tenantPool.push(tenant);
      }
    }
    this.releaseKey(job);
  }

  /** Removes a waiting job from its queue, releases what it holds and rejects it. */
  private abandon(job: Job, reason: unknown): void {
    if (!job.waiting) return;
    const list = job.list;
    list?.remove(job);
    const tenant = job.tenant;
    if (job.stage === STAGE_GLOBAL && tenant !== undefined && tenant.globalWaiting.size === 0) {
      this.ring.remove(tenant);
    }
    if (job.stage === STAGE_KEY && list !== undefined && list.size === 0) {
      // Keep the key held (by the job running it) but drop the empty list.
      const holder = this.keys.get(job.key);
      if (holder?.keyWaiters === list) holder.keyWaiters = undefined;
    }
    job.waiting = false;
    this.queued--;
    job.stage = STAGE_DONE;
    this.detach(job);
    this.releaseHeld(job);
    job.fail?.(reason);
    this.checkDrained();
  }

  private rejectAllQueued(): void {
    const queued: Job[] = [];
    for (const holder of this.keys.values()) {
      for (let job = holder.keyWaiters?.head; job !== undefined; job = job.next) queued.push(job);
    }
    for (const tenant of this.tenants.values()) {
      for (let job = tenant.waiting.head; job !== undefined; job = job.next) queued.push(job);
      for (let job = tenant.globalWaiting.head; job !== undefined; job = job.next) queued.push(job);
    }
    for (const job of queued) {
      this.abandon(
        job,
        new WarmrouteError('WR_ERR_SHUTTING_DOWN', [], {
          retryAfterSeconds: this.opts.retryAfterSeconds,
        }),
      );
    }
  }

  /**
   * The drain's grace is over: every running job's caller gets
   * `WR_ERR_SHUTTING_DOWN` now and its `ticket.signal` aborts with it. The
   * job keeps its slots until `fn` settles (the call may still occupy an
   * environment), so `stats().running` still counts it.
   */
  private cutAllRunning(): void {
    for (let job = this.active.shift(); job !== undefined; job = this.active.shift()) {
      const error = new WarmrouteError('WR_ERR_SHUTTING_DOWN', [], {
        retryAfterSeconds: this.opts.retryAfterSeconds,
      });
      job.controller?.abort(error);
      const fail = job.fail;
      job.fail = undefined;
      fail?.(error);
    }
  }

  private checkDrained(): void {
    if (!this.draining || this.running !== 0 || this.queued !== 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const done of waiters) done();
  }
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  return new SchedulerImpl(resolveOptions(options));
}
