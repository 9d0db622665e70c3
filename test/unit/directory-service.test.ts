import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { EPOCH_BUCKETS, epochBucket } from '../../src/directory/epoch-bucket.js';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import type { DirectoryStore, OutcomeDelta, StoreEvent } from '../../src/directory/store.js';
import { deriveTenantId, MAX_POOL_SIZE } from '../../src/directory/tenant-id.js';
import type { InvalidationNotice } from '../../src/directory/types.js';
import { WarmrouteError, isWarmrouteError } from '../../src/errors.js';
import { keysInDistinctBuckets } from '../helpers/distinct-buckets.js';

const SECRET = 'service-test-secret-0123456789';

class FakeClock {
  now = 1_700_000_000_000;
  readonly read = (): number => this.now;
}

const open: KeyDirectory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

/** The tenant `dir` derives for `key` at `generation` (in its current epoch of the key's bucket in 'default'). */
function derived(dir: KeyDirectory, key: string, generation = 0): string {
  return deriveTenantId(SECRET, 'wr-', {
    namespace: 'default',
    epoch: dir.epochOf('default', key),
    key,
    generation,
  });
}

/** A directory over a memory store, both on `clock`; the config's defaults unless a test says otherwise. */
function newMemoryDirectory(
  clock: FakeClock,
  overrides: { l1Max?: number; l1TtlMs?: number; idleTtlSeconds?: number } = {},
): KeyDirectory {
  return new KeyDirectory({
    secret: SECRET,
    store: new MemoryDirectoryStore({
      idleTtlSeconds: overrides.idleTtlSeconds ?? defaults.keyIdleTtlSeconds,
      clock: clock.read,
    }),
    tenantPrefix: defaults.tenantPrefix,
    namespace: defaults.namespace,
    l1: { max: overrides.l1Max ?? defaults.l1Max, ttlMs: overrides.l1TtlMs ?? defaults.l1TtlMs },
    statsFlushIntervalMs: defaults.statsFlushIntervalMs,
    logger: pino({ level: 'silent' }),
    clock: clock.read,
  });
}

async function memoryDirectory(clock = new FakeClock(), l1TtlMs = 10_000): Promise<KeyDirectory> {
  const directory = newMemoryDirectory(clock, { l1TtlMs });
  open.push(directory);
  await directory.start();
  return directory;
}

/**
 * A memory store that can be switched off (unavailable, every call refused,
 * as the Redis store is while Redis is down), counts the calls the directory
 * makes, and lets a test send the events the Redis store sends.
 */
class SwitchableStore implements DirectoryStore {
  readonly kind = 'redis';
  inner = new MemoryDirectoryStore({ idleTtlSeconds: 0, clock: Date.now });
  down = false;
  readonly calls = { epoch: 0, resolve: 0 };
  #listener: ((event: StoreEvent) => void) | undefined;

  emit(event: StoreEvent): void {
    this.#listener?.(event);
  }
  /** The store loses every record and epoch (a FLUSHALL; no announcement). */
  lose(): void {
    this.inner = new MemoryDirectoryStore({ idleTtlSeconds: 0, clock: Date.now });
  }
  #refused<T>(call: () => Promise<T>): Promise<T> {
    return this.down
      ? Promise.reject(new WarmrouteError('WR_ERR_STORE_UNAVAILABLE', ['switched off']))
      : call();
  }
  start(): Promise<void> {
    return this.inner.start();
  }
  available(): boolean {
    return !this.down;
  }
  pubsubUp(): boolean {
    return !this.down;
  }
  unavailableReason(): string | undefined {
    return this.down ? 'switched off' : undefined;
  }
  epoch(namespace: string, bucket: number, candidate: string): Promise<string> {
    this.calls.epoch += 1;
    return this.#refused(() => this.inner.epoch(namespace, bucket, candidate));
  }
  resolve(namespace: string, epoch: string, key: string, functionId: string) {
    this.calls.resolve += 1;
    return this.#refused(() => this.inner.resolve(namespace, epoch, key, functionId));
  }
  rotate(namespace: string, epoch: string, key: string) {
    return this.#refused(() => this.inner.rotate(namespace, epoch, key));
  }
  bind(namespace: string, epoch: string, key: string, target: string) {
    return this.#refused(() => this.inner.bind(namespace, epoch, key, target));
  }
  unbind(namespace: string, epoch: string, key: string) {
    return this.#refused(() => this.inner.unbind(namespace, epoch, key));
  }
  forget(namespace: string, epoch: string, key: string) {
    return this.#refused(() => this.inner.forget(namespace, epoch, key));
  }
  recordOutcomes(batch: readonly OutcomeDelta[]) {
    return this.#refused(() => this.inner.recordOutcomes(batch));
  }
  explain(namespace: string, epoch: string, key: string) {
    return this.#refused(() => this.inner.explain(namespace, epoch, key));
  }
  onEvent(listener: (event: StoreEvent) => void): void {
    this.#listener = listener;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A started directory over a SwitchableStore (switched on), L1 on with a 10 s TTL. */
async function switchableDirectory(
  store = new SwitchableStore(),
  clock = new FakeClock(),
): Promise<{ dir: KeyDirectory; store: SwitchableStore }> {
  const dir = new KeyDirectory({
    secret: SECRET,
    store,
    tenantPrefix: defaults.tenantPrefix,
    namespace: defaults.namespace,
    l1: { max: defaults.l1Max, ttlMs: 10_000 },
    statsFlushIntervalMs: defaults.statsFlushIntervalMs,
    logger: pino({ level: 'silent' }),
    clock: clock.read,
  });
  open.push(dir);
  await dir.start();
  return { dir, store };
}

describe('directory over the memory store', () => {
  it("resolves pooled keys up to the config schema's poolSize bound and refuses one slot more", async () => {
    // Prepare
    const dir = await memoryDirectory();

    // Act
    const atBound = await dir.resolve('ws-pool', { mode: 'pooled', poolSize: MAX_POOL_SIZE });
    const beyond = await dir
      .resolve('ws-pool', { mode: 'pooled', poolSize: MAX_POOL_SIZE + 1 })
      .then(
        () => undefined,
        (err: unknown) => err,
      );

    // Assess
    expect(atBound.mode).toBe('pooled');
    expect(isWarmrouteError(beyond) && beyond.code).toBe('WR_ERR_BAD_REQUEST');
    expect(isWarmrouteError(beyond) && beyond.message).toContain(`from 1 to ${MAX_POOL_SIZE}`);
  });

  it('answers a repeat resolve from L1 with the derived tenant, then from the store after the TTL', async () => {
    // Prepare
    const clock = new FakeClock();
    const dir = await memoryDirectory(clock, 1_000);

    // Act
    const first = await dir.resolve('ws-1');
    const second = await dir.resolve('ws-1');
    clock.now += 1_001;
    const third = await dir.resolve('ws-1');

    // Assess
    expect(first).toMatchObject({
      source: 'store',
      generation: 0,
      mode: 'affinity',
      stateVersion: 0,
    });
    expect(first.tenantId).toBe(derived(dir, 'ws-1', 0));
    expect(second).toEqual({ ...first, source: 'l1' });
    expect(third.source).toBe('store');
    expect(dir.counters()).toMatchObject({
      l1Hits: 1,
      l1Misses: 2,
      storeLookups: 2,
      mappingsCreated: 1,
    });
  });

  it('rotate gives a new tenant on this replica immediately, bound keys included', async () => {
    const dir = await memoryDirectory();
    await dir.bind('session-1', 'ws-1');
    const before = await dir.resolve('session-1');
    const wsBefore = await dir.resolve('ws-1');
    expect(before.tenantId).toBe(wsBefore.tenantId);
    expect(before.boundTo).toBe('ws-1');

    const rotated = await dir.rotate('ws-1');
    const after = await dir.resolve('session-1');

    expect(rotated.generation).toBe(1);
    expect(after.tenantId).toBe(rotated.tenantId);
    expect(after.tenantId).not.toBe(before.tenantId);
    expect(after).toMatchObject({ source: 'store', generation: 1, boundTo: 'ws-1' });
  });

  it('rejects self-binding, cycles and chains deeper than 8 with WR_ERR_BINDING_INVALID', async () => {
    const dir = await memoryDirectory();
    const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
      p.then(
        () => undefined,
        (err: unknown) => (isWarmrouteError(err) ? err.code : 'other'),
      );
    expect(await codeOf(dir.bind('a', 'a'))).toBe('WR_ERR_BINDING_INVALID');
    await dir.bind('a', 'b');
    await dir.bind('b', 'c');
    expect(await codeOf(dir.bind('c', 'a'))).toBe('WR_ERR_BINDING_INVALID');
    // k1 → k2 → … → k8 is 7 hops; k0 → k1 makes 8 (allowed); k(-1) → k0 would be 9.
    for (let i = 1; i < 8; i++) await dir.bind(`k${i}`, `k${i + 1}`);
    await dir.bind('k0', 'k1');
    expect(await codeOf(dir.bind('km', 'k0'))).toBe('WR_ERR_BINDING_INVALID');
    expect((await dir.resolve('k0')).boundTo).toBe('k8');
  });

  it('unbind and forget drop the cached entry and go back to the key’s own tenant', async () => {
    const dir = await memoryDirectory();
    await dir.bind('s', 'w');
    const bound = await dir.resolve('s');
    await dir.unbind('s');
    const unbound = await dir.resolve('s');
    await dir.rotate('s');
    await dir.bind('s', 'w');
    await dir.forget('s');
    const forgotten = await dir.resolve('s');

    expect(bound.boundTo).toBe('w');
    expect(unbound.boundTo).toBeUndefined();
    expect(unbound.tenantId).toBe(derived(dir, 's', 0));
    // Forget drops the binding but keeps the generation: a rotated key never
    // returns to a tenant it had before (issue 11, defect 8).
    expect(forgotten).toMatchObject({
      generation: 1,
      source: 'store',
      tenantId: derived(dir, 's', 1),
    });
    expect(forgotten.boundTo).toBeUndefined();
    expect(forgotten.tenantId).not.toBe(unbound.tenantId);
  });

  it('fresh mode gives a new tenant each time, with the state scope of the key’s current generation', async () => {
    // Fresh mode used to skip the store and always name generation 0, so a
    // rotated key's fresh-mode state was its pre-rotation state. It now looks
    // the key up like the other modes (L1 first) for the state scope only.
    const dir = await memoryDirectory();
    await dir.rotate('k');
    const a = await dir.resolve('k', { mode: 'fresh' });
    const b = await dir.resolve('k', { mode: 'fresh' });
    const affinity = await dir.resolve('k');
    expect(a.tenantId).not.toBe(b.tenantId);
    expect(a.tenantId).not.toBe(affinity.tenantId);
    expect(a.tenantId).toMatch(/^wr-[a-z2-7]{32}$/);
    expect(a).toMatchObject({ mode: 'fresh', generation: 0, stateVersion: 0 });
    expect(a.state).toEqual({
      namespace: 'default',
      epoch: dir.epochOf('default', 'k'),
      generation: 1,
      key: 'k',
    });
    expect(b.source).toBe('l1');
  });

  it('keeps an environment id only when it has an id’s shape (it reaches a Redis script argument)', async () => {
    const dir = await memoryDirectory();
    await dir.resolve('a');
    await dir.resolve('b');
    dir.recordOutcome('a', { envId: '9f2c0011aabbccdd', state: 'hit' });
    dir.recordOutcome('b', { envId: 'x'.repeat(65), state: 'hit' });
    dir.recordOutcome('b', { envId: 'bad\r\nid', state: 'hit' });
    await dir.flush();

    expect((await dir.explain('a')).lastEnvId).toBe('9f2c0011aabbccdd');
    expect((await dir.explain('b')).lastEnvId).toBeUndefined();
    expect((await dir.explain('b')).counts.hit).toBe(2);
  });

  it('gives every memory-store instance an epoch of its own: a restarted gateway never reuses a tenant (defect 8)', async () => {
    // Prepare: a key rotated in one instance, as before a restart without Redis.
    const before = await memoryDirectory();
    const old = [(await before.resolve('k')).tenantId, (await before.rotate('k')).tenantId];

    // Act: a new instance (same secret) that lost everything the old one knew.
    const after = await memoryDirectory();
    const resolved = await after.resolve('k');

    // Assess
    expect(after.epochOf('default', 'k')).not.toBe(before.epochOf('default', 'k'));
    expect(after.epochOf('default', 'k')).toMatch(/^[0-9a-f]{32}$/);
    expect(resolved.generation).toBe(0);
    expect(old).not.toContain(resolved.tenantId);
    expect(resolved.state.epoch).toBe(after.epochOf('default', 'k'));
  });

  it('explain reports the binding chain and the tenant the key resolves to', async () => {
    const dir = await memoryDirectory();
    await dir.bind('s', 'w');
    await dir.rotate('w');
    const explained = await dir.explain('s');
    expect(explained).toMatchObject({
      binding: 'w',
      chain: [{ key: 'w', generation: 1 }],
      tenantId: derived(dir, 'w', 1),
      store: 'memory',
    });
    expect((await dir.explain('never-seen')).known).toBe(false);
  });

  it('expires idle records with the idle TTL', async () => {
    const clock = new FakeClock();
    const dir = newMemoryDirectory(clock, { idleTtlSeconds: 60, l1Max: 0 });
    open.push(dir);
    await dir.start();
    await dir.rotate('k');
    clock.now += 59_000;
    expect((await dir.resolve('k')).generation).toBe(1);
    clock.now += 61_000;
    expect((await dir.resolve('k')).generation).toBe(0);
  });

  it('notifies invalidation listeners and validates keys before anything else', async () => {
    const dir = await memoryDirectory();
    const notices: InvalidationNotice[] = [];
    const off = dir.onInvalidate((n) => notices.push(n));
    await dir.rotate('k');
    off();
    await dir.forget('k');
    expect(notices).toEqual([{ op: 'rotate', namespace: 'default', key: 'k', remote: false }]);
    await expect(dir.resolve('bad\nkey')).rejects.toMatchObject({ code: 'WR_ERR_KEY_INVALID' });
    await expect(dir.bind('ok', '')).rejects.toMatchObject({ code: 'WR_ERR_BINDING_INVALID' });
    expect(dir.health()).toEqual({ status: 'ok', store: 'memory' });
  });

  it('keeps state versions per function, in L1 too: one function’s version (or lie) never reaches another (review findings 1 and 2)', async () => {
    // Prepare: a key resolved for fn-a, with a version recorded for it.
    const dir = await memoryDirectory();
    const fnA = { functionName: 'fn-a' };
    await dir.resolve('k', fnA);
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit', stateVersion: 4, ...fnA });

    // Act: fn-b asks for the cached key; a lying function reports a huge version.
    const firstB = await dir.resolve('k', { functionName: 'fn-b' });
    dir.recordOutcome('k', {
      envId: 'env-2',
      state: 'hit',
      stateVersion: Number.MAX_SAFE_INTEGER,
      functionName: 'liar',
    });
    await dir.flush();
    const a = await dir.resolve('k', fnA);
    const b = await dir.resolve('k', { functionName: 'fn-b' });
    const qualified = await dir.resolve('k', { functionName: 'fn-a:prod' });
    const unnamed = await dir.resolve('k');

    // Assess: the L1 entry held no fn-b version, so fn-b read the store once (not fn-a's 4);
    // afterwards both are L1 hits with their own versions; the lie reached neither.
    expect(firstB).toMatchObject({ source: 'store', stateVersion: 0 });
    expect(a).toMatchObject({ source: 'l1', stateVersion: 4 });
    expect(b).toMatchObject({ source: 'l1', stateVersion: 0 });
    // A qualifier names the same function (the library scopes snapshots by the bare name).
    expect(qualified).toMatchObject({ source: 'l1', stateVersion: 4 });
    expect(unnamed).toMatchObject({ source: 'l1', stateVersion: 0 });
    expect(dir.counters().storeLookups).toBe(2);
    expect((await dir.explain('k')).stateVersions).toEqual({
      'fn-a': 4,
      liar: Number.MAX_SAFE_INTEGER,
    });
  });

  it('serves a bound key its target’s state version, from L1 too, never lagging behind the target', async () => {
    // Prepare: session → ws; the session's L1 entry is filled before the target has a version.
    const clock = new FakeClock();
    const dir = await memoryDirectory(clock, 1_000);
    const fnA = { functionName: 'fn-a' };
    await dir.bind('session', 'ws');
    const before = await dir.resolve('session', fnA);

    // Act: the invoker records a bound key's outcomes under its target.
    dir.recordOutcome('ws', { envId: 'env-1', state: 'fresh', stateVersion: 3, ...fnA });
    const cached = await dir.resolve('session', fnA);
    dir.recordOutcome('ws', { envId: 'env-1', state: 'hit', stateVersion: 5, ...fnA });
    const cachedAgain = await dir.resolve('session', fnA);
    clock.now += 1_001;
    const unflushed = await dir.resolve('session', fnA);
    await dir.flush();
    clock.now += 1_001;
    const flushed = await dir.resolve('session', fnA);
    const pooled = await dir.resolve('session', { ...fnA, mode: 'pooled', poolSize: 16 });
    // A pooled request records under the key itself (the invoker has no boundTo then).
    dir.recordOutcome('session', { envId: 'env-2', state: 'fresh', stateVersion: 2, ...fnA });
    const pooledOwn = await dir.resolve('session', { ...fnA, mode: 'pooled', poolSize: 16 });
    const affinityAfterPooled = await dir.resolve('session', fnA);
    const otherFunction = await dir.resolve('session', { functionName: 'fn-b' });

    // Assess: the L1 hits follow the target with no store read; the store reads return it too.
    expect(before).toMatchObject({ source: 'store', stateVersion: 0, boundTo: 'ws' });
    expect(cached).toMatchObject({ source: 'l1', stateVersion: 3 });
    expect(cachedAgain).toMatchObject({ source: 'l1', stateVersion: 5 });
    expect(unflushed).toMatchObject({ source: 'store', stateVersion: 5 });
    expect(flushed).toMatchObject({ source: 'store', stateVersion: 5 });
    // Pooled mode keeps the key's own state (bindings do not apply): not the target's version.
    expect(pooled).toMatchObject({ source: 'l1', stateVersion: 0 });
    expect(pooledOwn).toMatchObject({ source: 'l1', stateVersion: 2 });
    expect(affinityAfterPooled).toMatchObject({ source: 'l1', stateVersion: 5 });
    expect(otherFunction).toMatchObject({ stateVersion: 0 });
    expect(dir.counters().storeLookups).toBe(4);
  });

  it('records no state version without a function name', async () => {
    const dir = await memoryDirectory();
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit', stateVersion: 4 });
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit', stateVersion: 5, functionName: 'a b' });
    await dir.flush();

    expect(await dir.explain('k')).toMatchObject({ stateVersions: {}, counts: { hit: 2 } });
  });

  it('resolveCached answers exactly what resolve answers from L1, and nothing (uncounted) when resolve would not use L1', async () => {
    // Prepare: a bound key and an unbound one, each looked up once for `counter`.
    const clock = new FakeClock();
    const dir = await memoryDirectory(clock, 1_000);
    await dir.bind('session-1', 'ws-1');
    expect(dir.resolveCached('ws-1', { functionName: 'counter' })).toBeUndefined();
    await dir.resolve('ws-1', { functionName: 'counter' });
    await dir.resolve('session-1', { functionName: 'counter' });
    dir.recordOutcome('ws-1', {
      envId: 'env-1',
      state: 'hit',
      functionName: 'counter',
      stateVersion: 4,
    });
    const before = dir.counters();

    // Act / Assess: a hit equals resolve's own L1 answer, in every mode the cache serves.
    for (const key of ['ws-1', 'session-1']) {
      for (const opts of [
        { functionName: 'counter' },
        { functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:counter:prod' },
        { mode: 'pooled' as const, poolSize: 4, functionName: 'counter' },
        {},
      ]) {
        const cached = dir.resolveCached(key, opts);
        const resolved = await dir.resolve(key, opts);
        expect(resolved.source).toBe('l1');
        expect(cached).toStrictEqual(resolved);
      }
    }
    expect(dir.resolveCached('session-1', { functionName: 'counter' })).toMatchObject({
      boundTo: 'ws-1',
      stateVersion: 4,
      state: { key: 'ws-1' },
    });
    expect(dir.counters().l1Hits - before.l1Hits).toBe(17);
    expect(dir.counters().resolves - before.resolves).toBe(17);

    // No answer where resolve would go to the store: a function the entry has no version of, an expired entry.
    expect(dir.resolveCached('ws-1', { functionName: 'other' })).toBeUndefined();
    clock.now += 1_001;
    expect(dir.resolveCached('ws-1', { functionName: 'counter' })).toBeUndefined();
    expect(dir.counters().resolves - before.resolves).toBe(17);
    // Bad input: never a hit (resolve refuses it), and a bad pool size on a hit is refused as resolve refuses it.
    clock.now -= 1_001;
    for (const [key, opts] of [
      ['', {}],
      [' ws-1', {}],
      ['ws-1\u0000x', {}],
      ['ws-1', { namespace: 'default\u0000' }],
    ] as const) {
      expect(dir.resolveCached(key, opts)).toBeUndefined();
      await expect(dir.resolve(key, opts)).rejects.toThrow(WarmrouteError);
    }
    expect(() => dir.resolveCached('ws-1', { mode: 'pooled' })).toThrow(WarmrouteError);
    await expect(dir.resolve('ws-1', { mode: 'pooled' })).rejects.toThrow(WarmrouteError);
  });

  it('coalesces concurrent misses of one key into one store call', async () => {
    const dir = await memoryDirectory();
    const results = await Promise.all(Array.from({ length: 20 }, () => dir.resolve('same')));
    expect(new Set(results.map((r) => r.tenantId)).size).toBe(1);
    expect(dir.counters()).toMatchObject({ storeLookups: 1, mappingsCreated: 1 });
  });
});

describe('directory epochs per key bucket (issue 15)', () => {
  it('derives a bound key’s tenant and affinity state from its chain end’s bucket epoch, pooled and fresh state from its own', async () => {
    // Prepare: a session and a workspace in different buckets (so different epochs).
    const dir = await memoryDirectory();
    const [session, workspace] = keysInDistinctBuckets('s-', 2) as [string, string];
    await dir.rotate(workspace);
    await dir.bind(session, workspace);

    // Act
    const affinity = await dir.resolve(session);
    const pooled = await dir.resolve(session, { mode: 'pooled', poolSize: 4 });
    const fresh = await dir.resolve(session, { mode: 'fresh' });
    const explained = await dir.explain(session);

    // Assess
    const sessionEpoch = dir.epochOf('default', session);
    const workspaceEpoch = dir.epochOf('default', workspace);
    expect(sessionEpoch).not.toBe(workspaceEpoch);
    expect(affinity.tenantId).toBe(derived(dir, workspace, 1));
    expect(affinity.state).toEqual({
      namespace: 'default',
      epoch: workspaceEpoch,
      generation: 1,
      key: workspace,
    });
    for (const other of [pooled, fresh]) {
      expect(other.state).toEqual({
        namespace: 'default',
        epoch: sessionEpoch,
        generation: 0,
        key: session,
      });
    }
    expect(explained).toMatchObject({
      epoch: workspaceEpoch,
      ownEpoch: sessionEpoch,
      tenantId: affinity.tenantId,
      chain: [{ key: workspace, generation: 1, epoch: workspaceEpoch }],
    });
  });

  it('prefetches every bucket’s epoch at start, so a miss then costs one store call', async () => {
    // Prepare
    const { dir, store } = await switchableDirectory();

    // Act
    await dir.epochsLoaded();
    const afterStart = { ...store.calls };
    const keys = keysInDistinctBuckets('p-', 20);
    for (const key of keys) await dir.resolve(key);

    // Assess: one epoch read per bucket at start, none later; one resolve per miss.
    expect(afterStart).toEqual({ epoch: EPOCH_BUCKETS, resolve: 0 });
    expect(store.calls).toEqual({ epoch: EPOCH_BUCKETS, resolve: keys.length });
  });

  it('prefetches another namespace’s epochs at its first use', async () => {
    const { dir, store } = await switchableDirectory();
    await dir.epochsLoaded();

    await dir.resolve('k', { namespace: 'other' });
    await dir.epochsLoaded('other');
    await dir.resolve('k2', { namespace: 'other' });

    expect(store.calls.epoch).toBe(2 * EPOCH_BUCKETS);
    expect(dir.epochOf('other', 'k2')).toBe(
      await store.inner.epoch('other', epochBucket('k2'), 'unused'),
    );
  });

  it('while the store is down, derives unseen keys from their own bucket’s cached epoch', async () => {
    // Prepare: epochs prefetched, then the store goes away.
    const { dir, store } = await switchableDirectory();
    await dir.epochsLoaded();
    const [a, b] = keysInDistinctBuckets('down-', 2) as [string, string];
    store.down = true;

    // Act
    const resolvedA = await dir.resolve(a);
    const resolvedB = await dir.resolve(b);

    // Assess: each key's tenant is the one the store's epoch of its bucket gives at generation 0.
    store.down = false;
    for (const [key, resolved] of [
      [a, resolvedA],
      [b, resolvedB],
    ] as const) {
      const storeEpoch = await store.inner.epoch('default', epochBucket(key), 'unused');
      expect(resolved).toMatchObject({ source: 'derived', generation: 0 });
      expect(resolved.state.epoch).toBe(storeEpoch);
      expect(resolved.tenantId).toBe(
        deriveTenantId(SECRET, 'wr-', {
          namespace: 'default',
          epoch: storeEpoch,
          key,
          generation: 0,
        }),
      );
    }
    expect(resolvedA.state.epoch).not.toBe(resolvedB.state.epoch);
  });

  it('started while the store is down, derives from one process-local epoch, then reads the real ones', async () => {
    // Prepare: a store that already holds the epoch of k's bucket, switched off.
    const store = new SwitchableStore();
    const real = await store.inner.epoch('default', epochBucket('k'), 'the-real-epoch');
    store.down = true;

    // Act
    const { dir } = await switchableDirectory(store);
    const during = await dir.resolve('k');
    const local = dir.epochOf('default', 'k');
    const localOfAnotherBucket = dir.epochOf('default', 'other-key');
    store.down = false;
    // The retry gate after a failed call has passed once the store reports itself up: no failure was noted.
    const after = await dir.resolve('k');

    // Assess
    expect(during).toMatchObject({ source: 'derived' });
    expect(during.state.epoch).toBe(local);
    expect(local).not.toBe(real);
    expect(localOfAnotherBucket).toBe(local);
    expect(after).toMatchObject({ source: 'store' });
    expect(after.state.epoch).toBe(real);
  });

  it('adopts an epoch announced for one bucket once the store confirms it: drops L1 and that bucket’s pending outcomes, keeps the other buckets’', async () => {
    // Prepare: two keys in different buckets, cached, each with a pending outcome.
    const { dir, store } = await switchableDirectory();
    await dir.epochsLoaded();
    const [moved, stayed] = keysInDistinctBuckets('e-', 2) as [string, string];
    await dir.resolve(moved);
    await dir.resolve(stayed);
    dir.recordOutcome(moved, { envId: 'env-1', state: 'hit' });
    dir.recordOutcome(stayed, { envId: 'env-1', state: 'hit' });
    const stayedEpoch = dir.epochOf('default', stayed);
    const notices: InvalidationNotice[] = [];
    dir.onInvalidate((n) => notices.push(n));

    // Act: the first key's bucket lost its epoch and another replica created a new one.
    store.lose();
    await store.inner.epoch('default', epochBucket(moved), 'announced-epoch');
    await store.inner.epoch('default', epochBucket(stayed), stayedEpoch);
    store.emit({
      type: 'epoch',
      namespace: 'default',
      bucket: epochBucket(moved),
      epoch: 'announced-epoch',
    });
    // One for a namespace this replica never used is not taken.
    store.emit({ type: 'epoch', namespace: 'unused', bucket: 0, epoch: 'ignored' });
    await new Promise((resolve) => setImmediate(resolve));

    // Assess
    expect(dir.epochOf('default', moved)).toBe('announced-epoch');
    expect(dir.epochOf('default', stayed)).toBe(stayedEpoch);
    expect(dir.epochOf('unused', 'x')).not.toBe('ignored');
    expect(notices).toEqual([{ op: 'resync', namespace: '', key: '', remote: false }]);
    expect(dir.counters()).toMatchObject({ epochChanges: 1, statsPending: 1 });
    store.calls.resolve = 0;
    expect((await dir.resolve(stayed)).source).toBe('store');
    expect(store.calls.resolve).toBe(1);
  });
  it('reads every bucket’s epoch again when a store call finds one changed, at most once per 5 s', async () => {
    // Prepare: the store loses its epochs without telling this replica (a FLUSHALL).
    const clock = new FakeClock();
    const { dir, store } = await switchableDirectory(new SwitchableStore(), clock);
    await dir.epochsLoaded();
    const keys = keysInDistinctBuckets('r-', 3) as [string, string, string];
    const stale = new Map<string, string>();
    const makeStale = (key: string): void => {
      stale.set(key, dir.epochOf('default', key));
      store.lose();
    };
    const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    store.calls.epoch = 0;

    // Act: each time, the store refuses the stale epoch and one read creates a new one.
    const calls: number[] = [];
    const resolved = [];
    for (const [key, advanceMs] of [
      [keys[0], 0],
      [keys[1], 4_000],
      [keys[2], 1_001],
    ] as const) {
      clock.now += advanceMs;
      makeStale(key);
      const resolution = await dir.resolve(key);
      resolved.push({ used: resolution.state.epoch, known: dir.epochOf('default', key) });
      await settled();
      calls.push(store.calls.epoch);
    }

    // Assess: besides the one read of each change found, one pass over every
    // bucket for the first change, none for one 4 s later, one 5 s later.
    expect(calls).toEqual([1 + EPOCH_BUCKETS, 2 + EPOCH_BUCKETS, 3 + 2 * EPOCH_BUCKETS]);
    // Each resolve used the store's new epoch, never the one lost.
    for (const [i, key] of keys.entries()) {
      expect(resolved[i]?.used).toBe(resolved[i]?.known);
      expect(resolved[i]?.used).not.toBe(stale.get(key));
    }
  });

  it('does not adopt an announced epoch the store does not hold, and a flood of announcements costs at most two store reads per bucket', async () => {
    // Prepare: a cached key.
    const { dir, store } = await switchableDirectory();
    await dir.epochsLoaded();
    const key = 'victim';
    await dir.resolve(key);
    const real = dir.epochOf('default', key);
    store.calls.epoch = 0;

    // Act: anyone who can publish on the channel announces made-up epochs.
    for (let i = 0; i < 1_000; i++) {
      store.emit({
        type: 'epoch',
        namespace: 'default',
        bucket: epochBucket(key),
        epoch: `attacker-${String(i)}`,
      });
    }
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));

    // Assess: the store's epoch stays; L1 was not dropped.
    expect(store.calls.epoch).toBeGreaterThanOrEqual(1);
    expect(store.calls.epoch).toBeLessThanOrEqual(2);
    expect(dir.epochOf('default', key)).toBe(real);
    expect(dir.counters().epochChanges).toBe(0);
    expect((await dir.resolve(key)).source).toBe('l1');
  });

  it('reads nothing for an announced epoch while the store is down, and keeps the epoch it knows for derivation', async () => {
    // Prepare
    const { dir, store } = await switchableDirectory();
    await dir.epochsLoaded();
    const known = dir.epochOf('default', 'k');
    store.down = true;
    store.calls.epoch = 0;

    // Act
    store.emit({ type: 'epoch', namespace: 'default', bucket: epochBucket('k'), epoch: 'forged' });
    await new Promise((resolve) => setImmediate(resolve));
    const derived = await dir.resolve('k');

    // Assess
    expect(store.calls.epoch).toBe(0);
    expect(derived.source).toBe('derived');
    expect(derived.state.epoch).toBe(known);
  });
});
