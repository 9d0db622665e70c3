import { afterEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../bench/workload/prng.js';
import { DEFAULT_ACCOUNT_CONCURRENCY } from '../../src/localhost/local-host.js';
import { EnvironmentPool, type PoolOptions } from '../../src/localhost/pool.js';
import { resolveReclaim, unrefTimeout, type ReclaimOptions } from '../../src/localhost/reclaim.js';
import { acquired, FakeEnv, fn } from '../helpers/pool-fixtures.js';

interface IdlePoolOptions {
  idleReclaimMs?: number;
  idleJitterMs?: number;
  maxLifetimeMs?: number;
  maxEnvironments?: number;
  tenantEnvironmentCap?: number;
  random?: () => number;
  schedule?: PoolOptions<FakeEnv>['schedule'];
  /** Use the real clock (faked by vi.useFakeTimers) instead of a manual one. */
  realClock?: boolean;
}

/** A pool in `idle` mode on a manual clock; evictions recorded as `tenant:cause`. */
function idlePool(options: IdlePoolOptions = {}) {
  let now = 1_000;
  const evicted: string[] = [];
  const p = new EnvironmentPool<FakeEnv>({
    maxEnvironments: options.maxEnvironments ?? 100,
    reclaim: {
      mode: 'idle',
      idleReclaimMs: options.idleReclaimMs ?? 1_000,
      idleJitterMs: options.idleJitterMs ?? 0,
      maxLifetimeMs: options.maxLifetimeMs ?? 1_000_000,
    },
    tenantEnvironmentCap: options.tenantEnvironmentCap,
    accountConcurrency: DEFAULT_ACCOUNT_CONCURRENCY,
    random: options.random,
    schedule: options.schedule,
    ...(options.realClock === true ? {} : { now: () => now }),
    onEvict: (env, why) => evicted.push(`${env.tenantId ?? '-'}:${why}`),
    create: (f, t) => new FakeEnv(f, t),
  });
  return {
    p,
    evicted,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** One invocation of `tenant` on `f`: acquire, release; returns the environment and whether it was cold. */
function call(
  p: EnvironmentPool<FakeEnv>,
  tenant: string,
  f = fn('f'),
): { env: FakeEnv; cold: boolean } {
  const r = p.acquire(f, tenant);
  const env = acquired(r);
  p.release(env);
  return { env, cold: 'cold' in r && r.cold };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("EnvironmentPool, reclaim 'idle' (Lambda's way)", () => {
  it('keeps an environment warm within the idle reclaim time and reclaims it at that time', () => {
    // Prepare
    const { p, evicted, advance } = idlePool({ idleReclaimMs: 1_000 });
    const first = call(p, 'a');

    // Act: back just before the reclaim time, then idle exactly that long.
    advance(999);
    const warm = call(p, 'a');
    advance(1_000);
    const cold = call(p, 'a');

    // Assess
    expect(first.cold).toBe(true);
    expect(warm).toEqual({ env: first.env, cold: false });
    // No sweep ran: the next acquire itself refused the expired environment.
    expect(cold.cold).toBe(true);
    expect(first.env.destroyed).toBe(true);
    expect(evicted).toEqual(['a:idle']);
  });

  it('adds each environment its own jitter, drawn once, within [reclaim, reclaim + jitter)', () => {
    const draws = [0, 0.5, 0.999_999];
    const { p, evicted, advance } = idlePool({
      idleReclaimMs: 1_000,
      idleJitterMs: 400,
      random: () => draws.shift() ?? 0,
    });
    const envs = ['lo', 'mid', 'hi'].map((t) => call(p, t).env);

    const alive = (): string[] =>
      p
        .list()
        .map((e) => e.tenantId ?? '')
        .sort();
    advance(999);
    p.sweep();
    const before = alive();
    advance(1);
    p.sweep();
    const atReclaim = alive();
    advance(199);
    p.sweep();
    const beforeMid = alive();
    advance(1);
    p.sweep();
    const atMid = alive();
    advance(198);
    p.sweep();
    const beforeHi = alive();
    advance(1);
    p.sweep();

    expect(before).toEqual(['hi', 'lo', 'mid']);
    expect(atReclaim).toEqual(['hi', 'mid']);
    expect(beforeMid).toEqual(['hi', 'mid']);
    expect(atMid).toEqual(['hi']);
    // 1,000 + floor(0.999999 × 400) = 1,399: still below reclaim + jitter.
    expect(beforeHi).toEqual(['hi']);
    expect(p.size).toBe(0);
    expect(envs.every((e) => e.destroyed)).toBe(true);
    expect(evicted).toEqual(['lo:idle', 'mid:idle', 'hi:idle']);
  });

  it('never reclaims an environment during an invocation longer than the idle time; idle time counts from its end', () => {
    vi.useFakeTimers({ now: 1_000 });
    const { p, evicted } = idlePool({
      idleReclaimMs: 1_000,
      schedule: unrefTimeout,
      realClock: true,
    });
    const env = call(p, 'a').env;
    vi.advanceTimersByTime(500);
    const again = acquired(p.acquire(fn('f'), 'a'));

    // Busy well past the idle deadline it had before this invocation.
    vi.advanceTimersByTime(5_000);
    const destroyedWhileBusy = env.destroyed;
    p.release(again);
    vi.advanceTimersByTime(999);
    const destroyedBeforeIdleTime = env.destroyed;
    vi.advanceTimersByTime(1);

    expect(again).toBe(env);
    expect(destroyedWhileBusy).toBe(false);
    expect(destroyedBeforeIdleTime).toBe(false);
    expect(env.destroyed).toBe(true);
    expect(evicted).toEqual(['a:idle']);
  });

  it('recycles an idle environment at its maximum lifetime however recently it served', () => {
    const { p, evicted, advance } = idlePool({ idleReclaimMs: 10_000, maxLifetimeMs: 1_000 });
    const first = call(p, 'a');
    advance(900);
    expect(call(p, 'a').cold).toBe(false);
    advance(99);

    expect(p.sweep()).toBe(0);
    advance(1);
    expect(p.sweep()).toBe(1);

    expect(first.env.destroyed).toBe(true);
    expect(call(p, 'a').cold).toBe(true);
    expect(evicted).toEqual(['a:lifetime']);
  });

  it('lets a busy environment past its lifetime finish its invocation, then recycles it, counted once', () => {
    const { p, evicted, advance } = idlePool({ idleReclaimMs: 10_000, maxLifetimeMs: 1_000 });
    const busy = acquired(p.acquire(fn('f'), 'a'));
    advance(1_500);

    // The sweep marks it; it keeps running until released.
    expect(p.sweep()).toBe(0);
    expect(busy).toMatchObject({ retiring: true, destroyed: false });
    p.sweep();
    p.release(busy);

    expect(busy.destroyed).toBe(true);
    expect(p.size).toBe(0);
    expect(evicted).toEqual(['a:lifetime']);
  });

  it('recycles a busy environment whose lifetime ended during its invocation when it is released, with no sweep', () => {
    const { p, evicted, advance } = idlePool({ maxLifetimeMs: 1_000 });
    const busy = acquired(p.acquire(fn('f'), 'a'));
    advance(1_000);

    p.release(busy);

    expect(busy.destroyed).toBe(true);
    expect(call(p, 'a').cold).toBe(true);
    expect(evicted).toEqual(['a:lifetime']);
  });

  it('never evicts to make room: at maxEnvironments a new environment gets 429 and idle ones stay', () => {
    const { p, evicted } = idlePool({ maxEnvironments: 2 });
    const a = call(p, 'a').env;
    const b = call(p, 'b').env;

    const third = p.acquire(fn('f'), 'c');

    expect(third).toEqual({
      throttled: 'ConcurrentInvocationLimitExceeded',
      message: 'Rate Exceeded.',
    });
    expect(a.destroyed || b.destroyed).toBe(false);
    expect(evicted).toEqual([]);
    // The tenants already there stay warm.
    expect(call(p, 'a')).toEqual({ env: a, cold: false });
  });

  it('caps tenant environments per function, idle ones included, with Lambda\'s Reason-less "Rate exceeded"', () => {
    const { p, advance } = idlePool({ tenantEnvironmentCap: 2, idleReclaimMs: 1_000 });
    const f = fn('f');
    call(p, 'a', f);
    advance(500);
    const b = acquired(p.acquire(f, 'b'));

    const newTenant = p.acquire(f, 'c');
    // A second environment for a tenant already there counts as much as a new tenant.
    const secondOfB = p.acquire(f, 'b');
    const otherFunction = p.acquire(fn('g'), 'c');
    p.release(b);
    // a's environment is reclaimed: room for c.
    advance(500);
    const afterReclaim = p.acquire(f, 'c');

    expect(newTenant).toEqual({ throttled: null, message: 'Rate exceeded' });
    expect(secondOfB).toEqual({ throttled: null, message: 'Rate exceeded' });
    expect(otherFunction).toHaveProperty('cold', true);
    expect(afterReclaim).toHaveProperty('cold', true);
  });

  it('reports every eviction with its cause: idle, lifetime, evict', () => {
    const { p, evicted, advance } = idlePool({ idleReclaimMs: 1_000, maxLifetimeMs: 5_000 });
    call(p, 'idle');
    call(p, 'evicted');
    const old = acquired(p.acquire(fn('f'), 'old'));
    p.evict({ tenant: 'evicted' });
    advance(1_000);
    p.sweep();
    // old stays busy past its lifetime, then finishes.
    advance(4_000);
    p.sweep();
    p.release(old);
    // A crash is not an eviction.
    void p.discard(acquired(p.acquire(fn('f'), 'crashed')));

    expect(evicted).toEqual(['evicted:evict', 'idle:idle', 'old:lifetime']);
  });

  it('wakes itself at the deadline with one timer, and keeps none when nothing is due', () => {
    vi.useFakeTimers({ now: 1_000 });
    const { p } = idlePool({
      idleReclaimMs: 1_000,
      maxLifetimeMs: 10_000,
      schedule: unrefTimeout,
      realClock: true,
    });
    const env = call(p, 'a').env;
    // Reused and released half-way: the deadline moves back, no second timer.
    vi.advanceTimersByTime(500);
    call(p, 'a');
    const timersWhileIdle = vi.getTimerCount();

    vi.advanceTimersByTime(999);
    const aliveBeforeDeadline = !env.destroyed;
    vi.advanceTimersByTime(1);

    expect(timersWhileIdle).toBe(1);
    expect(aliveBeforeDeadline).toBe(true);
    expect(env.destroyed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never keeps an idle environment past its deadline, nor stops one before it (seeded random workload)', () => {
    const random = mulberry32(18);
    const reclaimMs = 200;
    const jitterMs = 100;
    const lifetimeMs = 1_500;
    const { p, advance } = idlePool({
      idleReclaimMs: reclaimMs,
      idleJitterMs: jitterMs,
      maxLifetimeMs: lifetimeMs,
      random,
    });
    const f = fn('f');
    let t = 1_000;
    const born = new Map<string, number>();
    const busy: FakeEnv[] = [];
    const destroyedEarly: string[] = [];
    const keptLate: string[] = [];
    for (let step = 0; step < 5_000; step++) {
      const dt = Math.floor(random() * 40);
      advance(dt);
      t += dt;
      const before = new Map(p.list().map((e) => [e.id, e]));
      if (busy.length > 0 && random() < 0.5) {
        p.release(busy.splice(Math.floor(random() * busy.length), 1)[0]!);
      } else {
        const r = p.acquire(f, `t${Math.floor(random() * 20)}`);
        if (!('throttled' in r)) {
          born.set(r.env.id, born.get(r.env.id) ?? t);
          busy.push(r.env);
        }
      }
      if (random() < 0.1) p.sweep();
      for (const [id, env] of before) {
        const idleFor = t - env.lastUsedAt;
        const age = t - (born.get(id) ?? t);
        const gone = env.destroyed;
        // Idle environments within both limits survive; none outlives either.
        if (gone && env.state === 'idle' && idleFor < reclaimMs && age < lifetimeMs)
          destroyedEarly.push(id);
        if (
          !gone &&
          env.state === 'idle' &&
          (idleFor >= reclaimMs + jitterMs || age >= lifetimeMs)
        ) {
          // Only a sweep or the next acquire/release stops it: check after one.
          p.sweep();
          if (!env.destroyed) keptLate.push(id);
        }
      }
    }

    expect(destroyedEarly).toEqual([]);
    expect(keptLate).toEqual([]);
    expect(born.size).toBeGreaterThan(20);
  });
});

describe('resolveReclaim', () => {
  it('applies the defaults and refuses a field of the other mode or a bad number, all in one list', () => {
    const problems: string[] = [];
    expect(resolveReclaim({}, problems)).toEqual({ mode: 'lru', idleTimeoutMs: 600_000 });
    expect(resolveReclaim({ reclaim: 'idle' }, problems)).toEqual({
      mode: 'idle',
      idleReclaimMs: 600_000,
      idleJitterMs: 0,
      maxLifetimeMs: 7_200_000,
    });
    expect(problems).toEqual([]);

    resolveReclaim({ idleReclaimMs: 5 } as unknown as ReclaimOptions, problems);
    resolveReclaim({ reclaim: 'idle', idleTimeoutMs: 5 } as unknown as ReclaimOptions, problems);
    resolveReclaim({ reclaim: 'idle', idleJitterMs: -1, maxLifetimeMs: 0.5 }, problems);
    resolveReclaim({ reclaim: 'sometimes' } as unknown as ReclaimOptions, problems);

    expect(problems).toEqual([
      expect.stringMatching(/idleReclaimMs applies only with reclaim 'idle'/),
      expect.stringMatching(/idleTimeoutMs applies only with reclaim 'lru'/),
      expect.stringMatching(/idleJitterMs must be an integer ≥ 0, got -1/),
      expect.stringMatching(/maxLifetimeMs must be an integer ≥ 1, got 0.5/),
      expect.stringMatching(/reclaim must be 'lru' or 'idle', got "sometimes"/),
    ]);
  });
});
