import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BudgetGate,
  MIN_IDLE_CONFIDENCE,
  type SpillOutcome,
} from '../../src/budget/budget-gate.js';
import { IdleEvidence } from '../../src/budget/idle-evidence.js';
import { IdleLifetime } from '../../src/budget/idle-lifetime.js';
import { PoolTenants } from '../../src/budget/pool-tenant.js';
import { routeBudgetOf, type RouteBudget } from '../../src/budget/route-budget.js';
import { WarmrouteError } from '../../src/errors.js';

const SECRET = 'unit-test-secret-0123456789abcdef';
const LIFETIME = 1_000;

const queue = (queueWaitMs = 5_000): RouteBudget =>
  routeBudgetOf({ policy: 'queue', queueWaitMs }, 10_000);
const reject = routeBudgetOf({ policy: 'reject' }, 10_000);
const pool = (poolTenants = 2): RouteBudget =>
  routeBudgetOf({ policy: 'pool', domain: { from: 'header', name: 'x-org' }, poolTenants }, 10_000);

function gateWith(cap: number, spills: [string, SpillOutcome][] = [], poolReserve = 0): BudgetGate {
  return new BudgetGate({
    functionName: 'fn',
    cap,
    poolReserve,
    priorIdleMs: LIFETIME,
    pool: new PoolTenants(SECRET, 'wr-', 'ns'),
    retryAfterSeconds: 7,
    // One fake clock for decisions and deadlines.
    clock: () => Date.now(),
    wallClock: () => Date.now(),
    onSpill: (policy, outcome) => spills.push([policy, outcome]),
  });
}

function spill(
  key: string,
  extra: { domain?: string; deadline?: number; signal?: AbortSignal } = {},
) {
  return {
    key,
    tenantId: `t-${key}`,
    domain: extra.domain,
    deadline: extra.deadline ?? Date.now() + 30_000,
    signal: extra.signal,
  };
}

async function rejection(promise: Promise<unknown>): Promise<WarmrouteError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WarmrouteError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('BudgetGate queue policy', () => {
  it('admits new keys while there is room, whatever their frequency (strict isolation)', () => {
    // Prepare
    const gate = gateWith(10);

    // Act: ten one-off keys; TinyLFU would spill the last one.
    const kinds = Array.from(
      { length: 10 },
      (_, i) => gate.admit(`k${i}`, `t-k${i}`, queue()).kind,
    );

    // Assess
    expect(kinds).toEqual(Array(10).fill('dedicated'));
    expect(gate.alive()).toBe(10);
    expect(gate.admit('k10', 't-k10', queue()).kind).toBe('spill');
  });

  it('waits at the cap, then runs on its own tenant once an environment counts dead', async () => {
    // Prepare
    const spills: [string, SpillOutcome][] = [];
    const gate = gateWith(2, spills);
    gate.admit('a', 't-a', queue());
    vi.advanceTimersByTime(100);
    gate.admit('b', 't-b', queue());
    expect(gate.admit('c', 't-c', queue())).toEqual({ kind: 'spill', reason: 'cap' });

    // Act
    let placed: unknown;
    void gate.place(spill('c'), queue()).then((p) => (placed = p));
    await vi.advanceTimersByTimeAsync(LIFETIME - 200);
    const before = placed;
    await vi.advanceTimersByTimeAsync(200);

    // Assess: still waiting just before `a` counts dead, placed just after; one timer, no polling.
    expect(before).toBeUndefined();
    expect(placed).toEqual({ tenantId: 't-c', pooled: false });
    expect(spills).toEqual([['queue', 'dedicated']]);
    expect(gate.waiting).toBe(0);
    expect(gate.admit('c', 't-c', queue())).toEqual({ kind: 'dedicated', reason: 'alive' });
  });

  it('answers 429 WR_ERR_TENANT_BUDGET with Retry-After when no place frees within queueWaitMs', async () => {
    // Prepare
    const spills: [string, SpillOutcome][] = [];
    const gate = gateWith(1, spills);
    gate.admit('a', 't-a', queue());
    gate.admit('b', 't-b', queue());

    // Act
    const waiting = rejection(gate.place(spill('b'), queue(300)));
    await vi.advanceTimersByTimeAsync(300);
    const err = await waiting;

    // Assess: `a` counts dead 700 ms later: Retry-After rounds up to 1 s.
    expect(err.code).toBe('WR_ERR_TENANT_BUDGET');
    expect(err.statusCode).toBe(429);
    expect(err.retryAfterSeconds).toBe(1);
    expect(spills).toEqual([['queue', 'rejected']]);
    expect(gate.waiting).toBe(0);
  });

  it('keeps a busy key alive from the end of its call, not from its admission', () => {
    // Prepare
    const gate = gateWith(1);
    gate.admit('a', 't-a', queue());

    // Act: the call takes 3 lifetimes, then answers.
    vi.advanceTimersByTime(3 * LIFETIME);
    gate.answered('t-a', 'env-1', false, Date.now() - 3 * LIFETIME, Date.now());

    // Assess
    expect(gate.alive()).toBe(1);
    expect(gate.admit('b', 't-b', queue()).kind).toBe('spill');
  });

  it('never waits past the request deadline', async () => {
    // Prepare
    const gate = gateWith(1);
    gate.admit('a', 't-a', queue());

    // Act
    const waiting = rejection(gate.place(spill('b', { deadline: Date.now() + 50 }), queue(5_000)));
    await vi.advanceTimersByTimeAsync(50);

    // Assess
    expect((await waiting).code).toBe('WR_ERR_TENANT_BUDGET');
    expect((await rejection(gate.place(spill('c', { deadline: Date.now() }), queue()))).code).toBe(
      'WR_ERR_TENANT_BUDGET',
    );
  });

  it('stops waiting when the client leaves', async () => {
    // Prepare
    const spills: [string, SpillOutcome][] = [];
    const gate = gateWith(1, spills);
    gate.admit('a', 't-a', queue());
    const controller = new AbortController();

    // Act
    const waiting = gate.place(spill('b', { signal: controller.signal }), queue());
    controller.abort(new Error('client gone'));

    // Assess
    await expect(waiting).rejects.toThrow('client gone');
    expect(spills).toEqual([['queue', 'abandoned']]);
    expect(gate.waiting).toBe(0);
  });

  it('serves waiters oldest first when one place frees', async () => {
    // Prepare
    const gate = gateWith(1);
    gate.admit('a', 't-a', queue());
    const order: string[] = [];
    void gate.place(spill('b'), queue()).then(() => order.push('b'));
    void gate.place(spill('c'), queue()).then(() => order.push('c'));

    // Act
    await vi.advanceTimersByTimeAsync(LIFETIME + 1);

    // Assess: `b` took the place; `c` waits for `b`'s to free.
    expect(order).toEqual(['b']);
    expect(gate.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(LIFETIME + 1);
    expect(order).toEqual(['b', 'c']);
  });
});

describe('BudgetGate reject policy', () => {
  it('refuses at once with 429 and the time until a place frees', async () => {
    // Prepare
    const spills: [string, SpillOutcome][] = [];
    const gate = gateWith(1, spills);
    gate.admit('a', 't-a', reject);
    vi.advanceTimersByTime(100);

    // Act
    const admission = gate.admit('b', 't-b', reject);
    const err = await rejection(gate.place(spill('b'), reject));

    // Assess
    expect(admission.kind).toBe('spill');
    expect(err.code).toBe('WR_ERR_TENANT_BUDGET');
    expect(err.retryAfterSeconds).toBe(1);
    expect(spills).toEqual([['reject', 'rejected']]);
  });

  it('keeps the hot key in its tenant while one-off keys spill near the cap', () => {
    // Prepare: cap 10, so places above 9 go to keys seen more often than the victim.
    const gate = gateWith(10);
    for (let i = 0; i < 9; i++) gate.admit(`warm${i}`, `t-warm${i}`, reject);

    // Act: a hot key comes back between one-off keys.
    const hot: string[] = [];
    const cold: string[] = [];
    for (let i = 0; i < 20; i++) {
      hot.push(gate.admit('hot', 't-hot', reject).kind);
      cold.push(gate.admit(`once${i}`, `t-once${i}`, reject).kind);
    }

    // Assess: the hot key got the last place and kept it; every one-off key spilled.
    expect(hot.slice(1)).toEqual(Array(19).fill('dedicated'));
    expect(cold.slice(1)).toEqual(Array(19).fill('spill'));
  });
});

describe('BudgetGate pool policy', () => {
  it('places the spilled keys of one domain in its pooled tenants, never in another domain’s', async () => {
    // Prepare
    const spills: [string, SpillOutcome][] = [];
    const gate = gateWith(20, spills, 4);

    // Act
    const tenantsOf = async (domain: string): Promise<Set<string>> => {
      const tenants = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const placement = await gate.place(spill(`${domain}-k${i}`, { domain }), pool(2));
        expect(placement.pooled).toBe(true);
        tenants.add(placement.tenantId);
      }
      return tenants;
    };
    const org1 = await tenantsOf('org-1');
    const org2 = await tenantsOf('org-2');

    // Assess
    expect(org1.size).toBe(2);
    expect(org2.size).toBe(2);
    expect([...org1].filter((t) => org2.has(t))).toEqual([]);
    expect(spills.every(([policy, outcome]) => policy === 'pool' && outcome === 'pooled')).toBe(
      true,
    );
    // Pooled tenants hold places of the budget too.
    expect(gate.alive()).toBe(4);
  });

  it('derives pooled tenants by function as well as by domain', () => {
    // Prepare
    const tenants = new PoolTenants(SECRET, 'wr-', 'ns');

    // Act
    const a = tenants.tenantOf('fn-a', 'org', 'k', 1);
    const b = tenants.tenantOf('fn-b', 'org', 'k', 1);

    // Assess
    expect(a).not.toBe(b);
    expect(a).toMatch(/^wr-[a-z2-7]{32}$/);
  });

  it('refuses a spilled request without a domain (400) and a pooled tenant with no place (429)', async () => {
    // Prepare: one of two places kept for pooled tenants.
    const gate = gateWith(2, [], 1);
    expect(gate.admit('a', 't-a', pool()).kind).toBe('dedicated');
    expect(gate.admit('b', 't-b', pool()).kind).toBe('spill');
    await gate.place(spill('b', { domain: 'org-1' }), pool(1));

    // Act
    const noDomain = await rejection(gate.place(spill('c'), pool(1)));
    const full = await rejection(gate.place(spill('c', { domain: 'org-2' }), pool(1)));

    // Assess
    expect(noDomain.code).toBe('WR_ERR_BAD_REQUEST');
    expect(full.code).toBe('WR_ERR_TENANT_BUDGET');
    expect(gate.alive()).toBe(2);
  });
});

describe('BudgetGate learned idle lifetime', () => {
  it('uses the prior until the estimate has evidence, then a lifetime near the host’s', () => {
    // Prepare: a simulated host that reclaims environments idle over 4 s.
    const reclaimMs = 4_000;
    const gate = gateWith(100);
    let seed = 7;
    const random = (): number => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const env = new Map<string, number>();
    const endedAt = new Map<string, number>();

    // Act: 50 keys, gaps log-uniform over T/20..20T.
    const before = gate.idleLifetimeMs();
    for (let i = 0; i < 1_500; i++) {
      const tenant = `t${i % 50}`;
      const gap = (reclaimMs / 20) * 400 ** random();
      const started = (endedAt.get(tenant) ?? 0) + gap;
      endedAt.set(tenant, started + 5);
      const previous = env.get(tenant) ?? 0;
      const reused = gap < reclaimMs && previous > 0;
      const id = reused ? previous : previous + 1;
      env.set(tenant, id);
      gate.answered(tenant, `env-${tenant}-${id}`, reused, started, started + 5);
    }

    // Assess
    expect(before).toBe(LIFETIME);
    expect(gate.lifetime.confidence).toBeGreaterThanOrEqual(MIN_IDLE_CONFIDENCE);
    const learned = gate.learnedIdleMs() ?? 0;
    expect(Math.abs(learned / reclaimMs - 1)).toBeLessThan(0.15);
    // The budget counts environments alive for the high quantile: at least the median.
    expect(gate.idleLifetimeMs()).toBeGreaterThanOrEqual(learned);
  });

  it('remembers a bounded number of tenants', () => {
    // Prepare
    const evidence = new IdleEvidence(new IdleLifetime(), 16);

    // Act
    for (let i = 0; i < 1_000; i++) evidence.answered(`t${i}`, 'env', true, i, i + 1);

    // Assess
    expect(evidence.size).toBe(16);
  });

  it('takes no evidence from an answer without an environment id', () => {
    // Prepare
    const lifetime = new IdleLifetime({ refitEvery: 1 });
    const evidence = new IdleEvidence(lifetime, 16);

    // Act
    for (let i = 0; i < 100; i++) evidence.answered('t', undefined, true, i * 10, i * 10 + 1);

    // Assess
    expect(evidence.size).toBe(0);
    expect(lifetime.confidence).toBe(0);
  });
});
