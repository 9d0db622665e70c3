/*
 * How the local host retires healthy environments: the option types, their
 * defaults (each defined once, here; `warmroute local` prints them) and
 * their validation.
 *
 * Two modes, because they answer two questions. `lru` (the default) is a
 * machine with a fixed number of slots: when full, the least recently used
 * idle environment makes room, so the hit rate a router reaches is the LRU
 * bound the hit-rate bench compares against. `idle` is what Lambda does:
 * nothing is ever evicted to make room; an environment goes when it has been
 * idle for the reclaim time, or has reached its maximum lifetime, and a new
 * tenant past the tenant-environment cap is refused with 429. A router that
 * does well on the first can still hit the cap or the idle reclaim on the
 * second; only the second shows it.
 */

/** `lru` mode: idle environments are stopped after this long, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
/**
 * `idle` mode: an environment idle this long is reclaimed, ms. AWS publishes
 * no idle time (measurements vary from minutes to about an hour); the LRU
 * mode's idle timeout, so that switching `reclaim` alone changes only what
 * happens when environments run out, not how long an idle one lives.
 */
export const DEFAULT_IDLE_RECLAIM_MS = DEFAULT_IDLE_TIMEOUT_MS;
/** `idle` mode: no jitter unless asked, so a run's reclaim times are exact. */
export const DEFAULT_IDLE_JITTER_MS = 0;
/**
 * `idle` mode: every environment is recycled at this age, ms. AWS says
 * environments are recycled "every few hours" even under steady traffic;
 * two hours is the low end of that.
 */
export const DEFAULT_MAX_LIFETIME_MS = 2 * 3_600_000;

/** Today's mode: a fixed number of environments, the least recently used idle one making room. */
export interface LruReclaimOptions {
  readonly reclaim?: 'lru';
  /** Idle environments are stopped after this long, ms. Default `DEFAULT_IDLE_TIMEOUT_MS`. */
  readonly idleTimeoutMs?: number;
  readonly idleReclaimMs?: never;
  readonly idleJitterMs?: never;
  readonly maxLifetimeMs?: never;
  readonly idleJitterRandom?: never;
}

/** Lambda's behaviour: idle reclaim and a maximum lifetime, never eviction to make room. */
export interface IdleReclaimOptions {
  readonly reclaim: 'idle';
  readonly idleTimeoutMs?: never;
  /** An environment idle this long is reclaimed, ms. Default `DEFAULT_IDLE_RECLAIM_MS`. */
  readonly idleReclaimMs?: number;
  /**
   * Each environment draws, when created, a uniform extra idle time in
   * [0, idleJitterMs), so environments created together do not all go at
   * once. Default `DEFAULT_IDLE_JITTER_MS`.
   */
  readonly idleJitterMs?: number;
  /**
   * Every environment is recycled at this age, ms: an idle one at once, a
   * busy one after its invocation. Default `DEFAULT_MAX_LIFETIME_MS`.
   */
  readonly maxLifetimeMs?: number;
  /** Uniform [0, 1) source of the jitter (a seeded one makes a run repeatable). Default Math.random. */
  readonly idleJitterRandom?: () => number;
}

export type ReclaimOptions = LruReclaimOptions | IdleReclaimOptions;

/** A reclaim mode with every default resolved. */
export type ReclaimPolicy =
  | { readonly mode: 'lru'; readonly idleTimeoutMs: number }
  | {
      readonly mode: 'idle';
      readonly idleReclaimMs: number;
      readonly idleJitterMs: number;
      readonly maxLifetimeMs: number;
    };

const IDLE_ONLY = ['idleReclaimMs', 'idleJitterMs', 'maxLifetimeMs', 'idleJitterRandom'] as const;

function checkInteger(
  problems: string[],
  name: string,
  value: number | undefined,
  min: number,
): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    problems.push(`  local host: ${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
}

/**
 * The policy `options` ask for, defaults applied. Each problem (a field of
 * the other mode, a bad number) is appended to `problems`, so the caller can
 * report them with its own in one message.
 */
export function resolveReclaim(options: ReclaimOptions, problems: string[]): ReclaimPolicy {
  // Read as plain data: a JavaScript caller is not held to the types.
  const o = options as Partial<Record<string, unknown>> & ReclaimOptions;
  const mode: unknown = o.reclaim ?? 'lru';
  if (mode !== 'lru' && mode !== 'idle') {
    problems.push(`  local host: reclaim must be 'lru' or 'idle', got ${JSON.stringify(mode)}`);
    return { mode: 'lru', idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS };
  }
  if (mode === 'lru') {
    for (const name of IDLE_ONLY) {
      if (o[name] !== undefined) {
        problems.push(
          `  local host: ${name} applies only with reclaim 'idle' (the 'lru' mode stops idle environments after idleTimeoutMs)`,
        );
      }
    }
    checkInteger(problems, 'idleTimeoutMs', o.idleTimeoutMs, 1);
    return { mode, idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS };
  }
  if (o.idleTimeoutMs !== undefined) {
    problems.push(
      "  local host: idleTimeoutMs applies only with reclaim 'lru'; the 'idle' mode takes idleReclaimMs",
    );
  }
  checkInteger(problems, 'idleReclaimMs', o.idleReclaimMs, 1);
  checkInteger(problems, 'idleJitterMs', o.idleJitterMs, 0);
  checkInteger(problems, 'maxLifetimeMs', o.maxLifetimeMs, 1);
  if (o.idleJitterRandom !== undefined && typeof o.idleJitterRandom !== 'function') {
    problems.push('  local host: idleJitterRandom must be a function returning [0, 1)');
  }
  return {
    mode,
    idleReclaimMs: o.idleReclaimMs ?? DEFAULT_IDLE_RECLAIM_MS,
    idleJitterMs: o.idleJitterMs ?? DEFAULT_IDLE_JITTER_MS,
    maxLifetimeMs: o.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS,
  };
}

/** Runs `run` once after `delayMs`; returns a cancel function. */
export type SweepScheduler = (delayMs: number, run: () => void) => () => void;

/** Node's longest timer; a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer that never keeps the process alive: an idle host must not stop Node from exiting. */
export const unrefTimeout: SweepScheduler = (delayMs, run) => {
  const timer = setTimeout(run, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)));
  timer.unref();
  return () => {
    clearTimeout(timer);
  };
};
