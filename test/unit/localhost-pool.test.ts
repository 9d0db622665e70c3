import { describe, expect, it } from 'vitest';
import { DEFAULT_ACCOUNT_CONCURRENCY } from '../../src/localhost/local-host.js';
import { EnvironmentPool, tenantEnvironmentCap } from '../../src/localhost/pool.js';
import { acquired, FakeEnv, fn } from '../helpers/pool-fixtures.js';

function pool(options: { maxEnvironments?: number; idleTimeoutMs?: number } = {}) {
  let now = 1_000;
  const created: FakeEnv[] = [];
  const evicted: string[] = [];
  const p = new EnvironmentPool<FakeEnv>({
    onEvict: (env, why) => evicted.push(`${env.id}:${why}`),
    maxEnvironments: options.maxEnvironments ?? 100,
    reclaim: { mode: 'lru', idleTimeoutMs: options.idleTimeoutMs ?? 60_000 },
    accountConcurrency: DEFAULT_ACCOUNT_CONCURRENCY,
    now: () => now,
    create: (f, t) => {
      const env = new FakeEnv(f, t);
      created.push(env);
      return env;
    },
  });
  return {
    p,
    created,
    evicted,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('EnvironmentPool', () => {
  it('reports each healthy environment it stops as an eviction, with the cause, once', () => {
    const { p, evicted, advance } = pool({ maxEnvironments: 2, idleTimeoutMs: 1_000 });
    const counter = fn('counter');
    const a = acquired(p.acquire(counter, 'a'));
    p.release(a);
    advance(10);
    const b = acquired(p.acquire(counter, 'b'));
    p.release(b);
    // Full: the least recently used idle one (a) makes room.
    const c = acquired(p.acquire(counter, 'c'));
    // c is busy: evicted when asked, stopped after its invocation, counted once.
    expect(p.evict({ tenant: 'c' })).toBe(1);
    expect(p.evict({ tenant: 'c' })).toBe(1);
    p.release(c);
    advance(5_000);
    expect(p.sweep()).toBe(1);
    expect(evicted).toEqual([`${a.id}:room`, `${c.id}:evict`, `${b.id}:idle`]);
    // Discarding a crashed one is not an eviction.
    const d = acquired(p.acquire(counter, 'd'));
    void p.discard(d);
    expect(evicted).toHaveLength(3);
  });

  it('reuses an idle environment only for the same function and tenant', () => {
    const { p } = pool();
    const counter = fn('counter');
    const blue = acquired(p.acquire(counter, 'blue'));
    p.release(blue);

    const blueAgain = p.acquire(counter, 'blue');
    const green = p.acquire(counter, 'green');
    const other = p.acquire(fn('other'), 'blue');

    expect(blueAgain).toEqual({ env: blue, cold: false });
    expect('env' in green && green.env !== blue && green.cold).toBe(true);
    expect('env' in other && other.env !== blue).toBe(true);
  });

  it('never gives a busy environment a second invocation: a concurrent call gets a new one', () => {
    const { p } = pool();
    const a = acquired(p.acquire(fn('counter'), 'blue'));
    const b = acquired(p.acquire(fn('counter'), 'blue'));

    expect(b).not.toBe(a);
    expect(p.size).toBe(2);
  });

  it('shares environments across callers of a function without tenancy', () => {
    const { p } = pool();
    const shared = fn('shared', { tenancy: 'NONE' });
    const a = acquired(p.acquire(shared, undefined));
    p.release(a);

    expect(acquired(p.acquire(shared, undefined))).toBe(a);
  });

  it('throttles over reserved concurrency, counting busy environments only', () => {
    const { p } = pool();
    const limited = fn('limited', { reservedConcurrency: 1 });
    const a = acquired(p.acquire(limited, 'a'));

    expect(p.acquire(limited, 'b')).toMatchObject({
      throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    p.release(a);
    expect(p.acquire(limited, 'a')).toMatchObject({ env: a, cold: false });
    expect(p.acquire(fn('zero', { reservedConcurrency: 0 }), 'a')).toHaveProperty('throttled');
  });

  it('caps tenant environments at 2,500 per 1,000 concurrency, idle ones included', () => {
    const { p } = pool();
    const limited = fn('limited', { reservedConcurrency: 2 });
    for (const t of ['a', 'b', 'c', 'd', 'e']) p.release(acquired(p.acquire(limited, t)));

    expect(tenantEnvironmentCap(1000)).toBe(2500);
    expect(tenantEnvironmentCap(2)).toBe(5);
    // Lambda documents no Reason for this throttle, only "Rate exceeded".
    expect(p.acquire(limited, 'f')).toEqual({ throttled: null, message: 'Rate exceeded' });
    expect(p.acquire(limited, 'a')).toHaveProperty('cold', false);
  });

  it('stops the least recently used idle environment to stay under the cap, and throttles when none is idle', () => {
    const { p, advance } = pool({ maxEnvironments: 2 });
    const a = acquired(p.acquire(fn('f'), 'a'));
    advance(10);
    const b = acquired(p.acquire(fn('f'), 'b'));
    p.release(a);
    advance(10);
    p.release(b);

    const c = acquired(p.acquire(fn('f'), 'c'));

    expect(a.destroyed).toBe(true);
    expect(b.destroyed).toBe(false);
    expect(
      p
        .list()
        .map((e) => e.tenantId)
        .sort(),
    ).toEqual(['b', 'c']);
    acquired(p.acquire(fn('f'), 'b'));
    expect(p.acquire(fn('f'), 'd')).toMatchObject({
      throttled: 'ConcurrentInvocationLimitExceeded',
    });
    expect(c.destroyed).toBe(false);
  });

  it('sweeps environments idle longer than the idle timeout', () => {
    const { p, advance } = pool({ idleTimeoutMs: 1000 });
    const old = acquired(p.acquire(fn('f'), 'old'));
    p.release(old);
    advance(600);
    const recent = acquired(p.acquire(fn('f'), 'recent'));
    p.release(recent);
    const busy = acquired(p.acquire(fn('f'), 'busy'));
    advance(500);

    expect(p.sweep()).toBe(1);
    expect(old.destroyed).toBe(true);
    expect(p.list()).toEqual(expect.arrayContaining([recent, busy]));
    expect(p.acquire(fn('f'), 'old')).toHaveProperty('cold', true);
  });

  it('evicts by function and tenant: idle ones now, busy ones after their invocation', () => {
    const { p } = pool();
    const idleBlue = acquired(p.acquire(fn('counter'), 'blue'));
    const busyBlue = acquired(p.acquire(fn('counter'), 'blue'));
    const green = acquired(p.acquire(fn('counter'), 'green'));
    const otherBlue = acquired(p.acquire(fn('other'), 'blue'));
    p.release(idleBlue);
    p.release(green);
    p.release(otherBlue);

    expect(p.evict({ function: 'counter', tenant: 'blue' })).toBe(2);
    expect(idleBlue.destroyed).toBe(true);
    expect(busyBlue.destroyed).toBe(false);
    p.release(busyBlue);
    expect(busyBlue.destroyed).toBe(true);
    expect(p.list()).toEqual(expect.arrayContaining([green, otherBlue]));
    expect(p.size).toBe(2);
    expect(p.evict()).toBe(2);
    expect(p.size).toBe(0);
  });

  it('discards a failed environment so the next call is cold', () => {
    const { p } = pool();
    const a = acquired(p.acquire(fn('f'), 'a'));
    void p.discard(a);

    const next = p.acquire(fn('f'), 'a');

    expect(a.destroyed).toBe(true);
    expect(next).toHaveProperty('cold', true);
  });
});
