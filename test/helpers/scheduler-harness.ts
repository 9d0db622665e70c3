/**
 * Test-side driver for the scheduler: submits jobs whose `fn` stays pending
 * until the test finishes or fails it, and records start order and how many
 * ran at once per key, per tenant and overall.
 */
import { WarmrouteError } from '../../src/errors.js';
import type { Scheduler, Ticket } from '../../src/scheduler/index.js';

export interface Handle {
  readonly id: string;
  readonly key: string;
  readonly tenantId: string;
  started: boolean;
  ticket: Ticket | undefined;
  /** Settled outcome of run(), recorded synchronously once known. */
  outcome: { ok: true; value: string } | { ok: false; error: unknown } | undefined;
  readonly settled: Promise<void>;
  finish(): void;
  fail(error: Error): void;
}

export interface SubmitOptions {
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** Throw synchronously from fn instead of returning a promise. */
  readonly throwSync?: Error;
}

export class Harness {
  readonly starts: string[] = [];
  readonly maxPerKey = new Map<string, number>();
  readonly maxPerTenant = new Map<string, number>();
  maxRunning = 0;
  private running = 0;
  private readonly runningPerKey = new Map<string, number>();
  private readonly runningPerTenant = new Map<string, number>();

  constructor(
    readonly scheduler: Scheduler,
    private readonly now: () => number = () => Date.now(),
  ) {}

  submit(id: string, key: string, tenantId: string, options: SubmitOptions = {}): Handle {
    let finish: () => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    const done = new Promise<string>((resolve, reject) => {
      finish = () => {
        resolve(id);
      };
      fail = reject;
    });
    const handle: Handle = {
      id,
      key,
      tenantId,
      started: false,
      ticket: undefined,
      outcome: undefined,
      settled: Promise.resolve(),
      finish: () => {
        finish();
      },
      fail: (error) => {
        fail(error);
      },
    };
    const result = this.scheduler.run(
      { key, tenantId, deadline: options.deadline ?? this.now() + 60_000, signal: options.signal },
      (ticket) => {
        handle.started = true;
        handle.ticket = ticket;
        this.starts.push(id);
        this.enter(key, tenantId);
        if (options.throwSync !== undefined) {
          this.leave(key, tenantId);
          throw options.throwSync;
        }
        return done.finally(() => {
          this.leave(key, tenantId);
        });
      },
    );
    (handle as { settled: Promise<void> }).settled = result.then(
      (value) => {
        handle.outcome = { ok: true, value };
      },
      (error: unknown) => {
        handle.outcome = { ok: false, error };
      },
    );
    return handle;
  }

  private enter(key: string, tenantId: string): void {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const k = (this.runningPerKey.get(key) ?? 0) + 1;
    this.runningPerKey.set(key, k);
    this.maxPerKey.set(key, Math.max(this.maxPerKey.get(key) ?? 0, k));
    const t = (this.runningPerTenant.get(tenantId) ?? 0) + 1;
    this.runningPerTenant.set(tenantId, t);
    this.maxPerTenant.set(tenantId, Math.max(this.maxPerTenant.get(tenantId) ?? 0, t));
  }

  private leave(key: string, tenantId: string): void {
    this.running--;
    this.runningPerKey.set(key, (this.runningPerKey.get(key) ?? 1) - 1);
    this.runningPerTenant.set(tenantId, (this.runningPerTenant.get(tenantId) ?? 1) - 1);
  }
}

/** Lets every pending promise chain run (the scheduler hands slots over through microtasks). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export function errorCode(handle: Handle): string | undefined {
  const outcome = handle.outcome;
  if (outcome === undefined || outcome.ok) return undefined;
  return outcome.error instanceof WarmrouteError ? outcome.error.code : 'not-a-warmroute-error';
}
