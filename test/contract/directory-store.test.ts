import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import type { DirectoryStore, OutcomeDelta } from '../../src/directory/store.js';
import { isWarmrouteError } from '../../src/errors.js';
import { SHARED_REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.js';

const IDLE_TTL_SECONDS = 3_600;

interface StoreFactory {
  readonly name: string;
  create(): Promise<DirectoryStore>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const factories: StoreFactory[] = [
  {
    name: 'memory',
    async create() {
      const store = new MemoryDirectoryStore({ idleTtlSeconds: IDLE_TTL_SECONDS, clock: Date.now });
      await store.start();
      cleanups.push(() => store.close());
      return store;
    },
  },
  {
    name: 'redis',
    async create() {
      const prefix = uniquePrefix('dirstore');
      cleanups.push(() => deleteByPrefix(SHARED_REDIS_URL, prefix));
      const store = new RedisDirectoryStore({
        url: SHARED_REDIS_URL,
        keyPrefix: prefix,
        idleTtlSeconds: IDLE_TTL_SECONDS,
        clock: Date.now,
        logger: pino({ level: 'silent' }),
        instanceId: randomBytes(4).toString('hex'),
      });
      cleanups.push(() => store.close());
      await store.start();
      return store;
    },
  },
];

function delta(key: string, fields: Partial<OutcomeDelta>): OutcomeDelta {
  return {
    namespace: 'ns',
    key,
    hit: 0,
    rehydrated: 0,
    fresh: 0,
    unknown: 0,
    envId: '',
    stateVersion: 0,
    lastSeenMs: 1_700_000_000_000,
    ...fields,
  };
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (err: unknown) => (isWarmrouteError(err) ? err.code : String(err)),
  );
}

describe.each(factories)('DirectoryStore contract: $name', (factory) => {
  it('creates a mapping on first resolve only, at generation 0', async () => {
    const store = await factory.create();

    const first = await store.resolve('ns', 'k');
    const second = await store.resolve('ns', 'k');

    expect(first).toEqual({ created: true, generation: 0, stateVersion: 0, chain: [] });
    expect(second).toEqual({ created: false, generation: 0, stateVersion: 0, chain: [] });
  });

  it('creates exactly one mapping under concurrent first resolves', async () => {
    const store = await factory.create();

    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.resolve('ns', 'race')),
    );

    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('rotates generations, per namespace', async () => {
    const store = await factory.create();

    expect(await store.rotate('ns', 'k')).toBe(1);
    expect(await store.rotate('ns', 'k')).toBe(2);
    expect((await store.resolve('ns', 'k')).generation).toBe(2);
    expect((await store.resolve('other', 'k')).generation).toBe(0);
  });

  it('starts the state version again at 0 on rotation (a new generation has state of its own)', async () => {
    const store = await factory.create();
    await store.resolve('ns', 'rv');
    await store.recordOutcomes([delta('rv', { hit: 1, envId: 'env-1', stateVersion: 5 })]);
    expect((await store.resolve('ns', 'rv')).stateVersion).toBe(5);

    await store.rotate('ns', 'rv');

    expect((await store.resolve('ns', 'rv')).stateVersion).toBe(0);
  });

  it('binds with the whole chain returned, and with the targets’ generations', async () => {
    const store = await factory.create();
    await store.rotate('ns', 'c');
    await store.bind('ns', 'b', 'c');
    await store.bind('ns', 'a', 'b');

    const resolved = await store.resolve('ns', 'a');

    expect(resolved.chain).toEqual([
      { key: 'b', generation: 0 },
      { key: 'c', generation: 1 },
    ]);
  });

  it('rejects self-binding, cycles and chains deeper than 8 hops', async () => {
    const store = await factory.create();
    expect(await errorCode(store.bind('ns', 'a', 'a'))).toBe('WR_ERR_BINDING_INVALID');
    await store.bind('ns', 'a', 'b');
    await store.bind('ns', 'b', 'c');
    expect(await errorCode(store.bind('ns', 'c', 'a'))).toBe('WR_ERR_BINDING_INVALID');
    for (let i = 1; i < 8; i++) await store.bind('ns', `k${i}`, `k${i + 1}`);
    expect(await errorCode(store.bind('ns', 'k0', 'k1'))).toBeUndefined();
    expect(await errorCode(store.bind('ns', 'km', 'k0'))).toBe('WR_ERR_BINDING_INVALID');
    expect((await store.resolve('ns', 'k0')).chain).toHaveLength(8);
    // A rejected binding leaves nothing behind.
    expect((await store.resolve('ns', 'c')).chain).toEqual([]);
  });

  it('keys with separators and namespaces with braces stay apart', async () => {
    const store = await factory.create();
    await store.rotate('a', 'b:c');
    await store.rotate('a}{', 'x');

    expect((await store.resolve('a:b', 'c')).generation).toBe(0);
    expect((await store.resolve('a', 'b:c')).generation).toBe(1);
    expect((await store.resolve('a}{', 'x')).generation).toBe(1);
    expect((await store.resolve('a', 'x')).generation).toBe(0);
  });

  it('unbinds and forgets, reporting whether there was something to remove', async () => {
    const store = await factory.create();
    await store.bind('ns', 's', 'w');
    await store.rotate('ns', 's');

    expect(await store.unbind('ns', 's')).toBe(true);
    expect(await store.unbind('ns', 's')).toBe(false);
    expect((await store.resolve('ns', 's')).chain).toEqual([]);
    expect(await store.forget('ns', 's')).toBe(true);
    expect(await store.forget('ns', 's')).toBe(false);
    expect(await store.resolve('ns', 's')).toMatchObject({ created: true, generation: 0 });
  });

  it('adds outcome counts, keeps the last environment and never lowers the state version', async () => {
    const store = await factory.create();
    await store.resolve('ns', 'k');

    const failed = await store.recordOutcomes([
      delta('k', { hit: 2, fresh: 1, envId: 'env-1', stateVersion: 7 }),
      delta('other', { unknown: 1 }),
    ]);
    await store.recordOutcomes([
      delta('k', { rehydrated: 1, envId: 'env-2', stateVersion: 4, lastSeenMs: 1_700_000_000_500 }),
    ]);
    const explained = await store.explain('ns', 'k');

    expect(failed).toEqual([]);
    expect(explained).toMatchObject({
      exists: true,
      stateVersion: 7,
      lastEnvId: 'env-2',
      lastSeenMs: 1_700_000_000_500,
      counts: { hit: 2, rehydrated: 1, fresh: 1, unknown: 0 },
    });
    expect((await store.resolve('ns', 'k')).stateVersion).toBe(7);
  });

  it('explains without creating, with the binding, chain and idle expiry', async () => {
    const store = await factory.create();

    const unknown = await store.explain('ns', 'nobody');
    await store.bind('ns', 's', 'w');
    const bound = await store.explain('ns', 's');

    expect(unknown).toMatchObject({ exists: false, generation: 0, chain: [], stateVersion: 0 });
    expect((await store.resolve('ns', 'nobody')).created).toBe(true);
    expect(bound).toMatchObject({
      exists: true,
      binding: 'w',
      chain: [{ key: 'w', generation: 0 }],
    });
    expect(bound.createdMs).toBeGreaterThan(0);
    expect(bound.expiresInSeconds).toBeGreaterThan(IDLE_TTL_SECONDS - 5);
    expect(bound.expiresInSeconds).toBeLessThanOrEqual(IDLE_TTL_SECONDS);
  });
});
