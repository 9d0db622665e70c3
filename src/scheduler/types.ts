/**
 * Public types of the scheduler: per-key serialization, per-tenant and global
 * concurrency caps with fair queuing between tenants. Lambda offers none of
 * these (all tenants share one function's concurrency, and a second
 * concurrent request for a tenant starts a second, cold environment).
 */

import type { CancelSignal } from '../cancel-signal.js';

/**
 * What the scheduler is told: every setting required, resolved from the
 * config (src/create-dependencies.ts `schedulerSettingsOf`; the config schema
 * holds the defaults), so no value here can disagree with the documented one.
 */
export interface SchedulerSettings {
  /**
   * One job per key at a time (`WARMROUTE_SERIALIZE_PER_KEY`). A concurrent
   * second request for a key would make Lambda start a second, cold
   * environment for its tenant, so the second one waits instead.
   */
  readonly serializePerKey: boolean;
  /** Jobs that may wait behind a busy key (`WARMROUTE_MAX_QUEUE_PER_KEY`); one more → `WR_ERR_KEY_BUSY` at once. */
  readonly maxQueuePerKey: number;
  /**
   * Longest a job may wait in total, from `run()` until its `fn` starts
   * (`WARMROUTE_MAX_QUEUE_WAIT_MS`). On expiry: `WR_ERR_KEY_BUSY` if it was
   * still waiting for its key, `WR_ERR_CONCURRENCY_LIMIT` if it was waiting
   * for a tenant or global slot.
   */
  readonly maxQueueWaitMs: number;
  /**
   * Jobs of one tenant running at once (`WARMROUTE_TENANT_CONCURRENCY`). Only
   * binds when several keys share a tenant (pooled mode, bindings) or when
   * `serializePerKey` is false; `Infinity` disables the cap.
   */
  readonly perTenantConcurrency: number;
  /** Jobs running at once over all tenants (`WARMROUTE_GLOBAL_CONCURRENCY`). */
  readonly globalConcurrency: number;
  /** Jobs waiting at once, in every queue together (`WARMROUTE_MAX_GLOBAL_QUEUE`); one more → `WR_ERR_CONCURRENCY_LIMIT`. */
  readonly maxGlobalQueue: number;
  /** `Retry-After` given with the 429s and 503s the scheduler raises (`WARMROUTE_QUEUE_RETRY_AFTER_SECONDS`). */
  readonly retryAfterSeconds: number;
}

export interface SchedulerOptions extends SchedulerSettings {
  /**
   * Epoch milliseconds, injected by tests. Not a setting: unset means the
   * real clock, looked up per call so fake timers installed later apply.
   */
  readonly clock?: () => number;
}

export interface SchedulerJob {
  /** The affinity key: jobs with the same key run one at a time when `serializePerKey`. */
  readonly key: string;
  readonly tenantId: string;
  /** Absolute deadline, epoch milliseconds: the job is rejected if it has not started by then. */
  readonly deadline: number;
  /**
   * The client's signal: aborting it removes a waiting job; for a running one
   * it aborts `ticket.signal` and hands the key to the next waiting job (the
   * tenant and global slots stay held until `fn` settles).
   */
  readonly signal?: CancelSignal | undefined;
}

export interface Ticket {
  /** Milliseconds the job waited before `fn` started (0 when it did not wait). */
  readonly queueWaitMs: number;
  /**
   * Aborts at the job's deadline (reason: a `WR_ERR_DEADLINE` error) or when
   * the client's signal aborts (its reason). Created on first access, so a
   * job that never reads it costs no timer.
   */
  readonly signal: AbortSignal;
}

export interface SchedulerStats {
  /** Jobs whose `fn` is running (global slots in use). */
  readonly running: number;
  /** Jobs waiting in any queue. */
  readonly queued: number;
  /** Keys with a job running or waiting (0 when `serializePerKey` is false: keys are not tracked then). */
  readonly keysActive: number;
  /** Tenants with a job running or waiting for a tenant or global slot. */
  readonly tenantsActive: number;
  /** Jobs rejected since creation, by reason. */
  readonly rejected: {
    readonly keyBusy: number;
    readonly concurrency: number;
    readonly deadline: number;
  };
}

export interface Scheduler {
  /** The settings it runs with (read-only; test/unit/config-single-source.test.ts compares them with the config). */
  readonly settings: Readonly<SchedulerSettings>;
  /**
   * Runs `fn` once the job's key, a tenant slot and a global slot are free;
   * slots are released when the promise `fn` returns settles (or `fn`
   * throws), the key earlier if the job's client leaves while `fn` runs. Rejects without calling `fn` with `WR_ERR_KEY_BUSY`,
   * `WR_ERR_CONCURRENCY_LIMIT`, `WR_ERR_DEADLINE`, `WR_ERR_SHUTTING_DOWN`,
   * or the client signal's reason.
   */
  run<T>(job: SchedulerJob, fn: (ticket: Ticket) => Promise<T>): Promise<T>;
  stats(): SchedulerStats;
  /**
   * Stops admitting (`WR_ERR_SHUTTING_DOWN`) and resolves once nothing runs
   * or waits. Jobs already queued still run. When `timeoutMs` ends, jobs
   * still queued are rejected with `WR_ERR_SHUTTING_DOWN`, and so are the
   * `run()` promises of jobs still running (their `ticket.signal` aborts with
   * that error): every caller has its answer when the promise resolves. A cut
   * job's `fn` may still be running; it keeps its slots until it settles
   * (check `stats()`).
   */
  drain(timeoutMs: number): Promise<void>;
}
