import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { epochBucket } from '../../src/directory/epoch-bucket.js';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import {
  EpochMismatchError,
  type DirectoryStore,
  type OutcomeDelta,
} from '../../src/directory/store.js';
import { isWarmrouteError } from '../../src/errors.js';
import { directoryKeys } from '../../src/redis/keys.js';
import { keysInDistinctBuckets } from '../helpers/distinct-buckets.js';
import { SHARED_REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.js';

const IDLE_TTL_SECONDS = 3_600;

/**
 * The store under test, with each key's bucket epoch (epoch-bucket.ts)
 * fetched (or created) once per (namespace, bucket) and passed along, as the
 * directory does: most cases are about one epoch per bucket; the epoch cases
 * below use `raw`.
 */
class InEpoch {
  readonly #epochs = new Map<string, string>();
  constructor(readonly raw: DirectoryStore) {}

  /** The epoch of `key`'s bucket in `namespace`. */
  async epochOf(namespace: string, key: string): Promise<string> {
    const bucket = epochBucket(key);
    const id = `${namespace}\u0000${bucket}`;
    let epoch = this.#epochs.get(id);
    if (epoch === undefined) {
      epoch = await this.raw.epoch(namespace, bucket, randomBytes(16).toString('hex'));
      this.#epochs.set(id, epoch);
    }
    return epoch;
  }
  /** `functionId` names whose state version comes back ('' = none). */
  async resolve(namespace: string, key: string, functionId = '') {
    return this.raw.resolve(namespace, await this.epochOf(namespace, key), key, functionId);
  }
  async rotate(namespace: string, key: string) {
    return this.raw.rotate(namespace, await this.epochOf(namespace, key), key);
  }
  async bind(namespace: string, key: string, target: string) {
    return this.raw.bind(namespace, await this.epochOf(namespace, key), key, target);
  }
  async unbind(namespace: string, key: string) {
    return this.raw.unbind(namespace, await this.epochOf(namespace, key), key);
  }
  async forget(namespace: string, key: string) {
    return this.raw.forget(namespace, await this.epochOf(namespace, key), key);
  }
  async explain(namespace: string, key: string) {
    return this.raw.explain(namespace, await this.epochOf(namespace, key), key);
  }
  async recordOutcomes(batch: readonly Omit<OutcomeDelta, 'epoch'>[]) {
    const withEpochs = await Promise.all(
      batch.map(async (d) => ({ ...d, epoch: await this.epochOf(d.namespace, d.key) })),
    );
    return this.raw.recordOutcomes(withEpochs);
  }
}

/**
 * One implementation under test: `make()` builds and starts a fresh store
 * (a key prefix of its own), `cleanup()` (after every test) closes and
 * deletes all it made since. `loseEpoch` deletes one bucket's epoch of a
 * namespace, as Redis may lose it alone (an eviction, a cluster shard that
 * lost its data); absent where that cannot happen (the memory store's
 * epochs live and die with the instance).
 */
interface StoreTarget {
  readonly name: string;
  make(): Promise<DirectoryStore>;
  cleanup(): Promise<void>;
  readonly loseEpoch?: (store: DirectoryStore, namespace: string, bucket: number) => Promise<void>;
}

function memoryTarget(): StoreTarget {
  const made: DirectoryStore[] = [];
  return {
    name: 'memory',
    async make() {
      const store = new MemoryDirectoryStore({ idleTtlSeconds: IDLE_TTL_SECONDS, clock: Date.now });
      made.push(store);
      await store.start();
      return store;
    },
    async cleanup() {
      for (const store of made.splice(0)) await store.close();
    },
  };
}

function redisTarget(): StoreTarget {
  const prefixes = new Map<DirectoryStore, string>();
  return {
    name: 'redis',
    async make() {
      const prefix = uniquePrefix('dirstore');
      const store = new RedisDirectoryStore({
        target: { mode: 'standalone', url: SHARED_REDIS_URL },
        keyPrefix: prefix,
        commandTimeoutMs: 250,
        connectTimeoutMs: 2_000,
        maxReconnectDelayMs: 1_000,
        idleTtlSeconds: IDLE_TTL_SECONDS,
        clock: Date.now,
        logger: pino({ level: 'silent' }),
        instanceId: randomBytes(4).toString('hex'),
      });
      prefixes.set(store, prefix);
      await store.start();
      return store;
    },
    async cleanup() {
      for (const [store, prefix] of prefixes) {
        await store.close();
        await deleteByPrefix(SHARED_REDIS_URL, prefix);
      }
      prefixes.clear();
    },
    async loseEpoch(store, namespace, bucket) {
      const prefix = prefixes.get(store);
      if (prefix === undefined) throw new Error('not a store this target made');
      const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        expect(await redis.del(directoryKeys(prefix).epoch(namespace, bucket))).toBe(1);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** Every implementation the contract holds for (a Redis Cluster target joins here). */
const targets: readonly StoreTarget[] = [memoryTarget(), redisTarget()];

afterEach(async () => {
  for (const target of targets) await target.cleanup();
});

async function make(target: StoreTarget): Promise<InEpoch> {
  return new InEpoch(await target.make());
}

function delta(key: string, fields: Partial<OutcomeDelta>): Omit<OutcomeDelta, 'epoch'> {
  return {
    namespace: 'ns',
    key,
    hit: 0,
    rehydrated: 0,
    fresh: 0,
    unknown: 0,
    envId: '',
    stateVersions: new Map(),
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

describe.each(targets)('DirectoryStore contract: $name', (target) => {
  it('creates a mapping on first resolve only, at generation 0', async () => {
    const store = await make(target);

    const first = await store.resolve('ns', 'k');
    const second = await store.resolve('ns', 'k');

    expect(first).toEqual({
      created: true,
      generation: 0,
      stateVersion: 0,
      chain: [],
      ownStateVersion: 0,
    });
    expect(second).toEqual({
      created: false,
      generation: 0,
      stateVersion: 0,
      chain: [],
      ownStateVersion: 0,
    });
  });

  it('creates exactly one mapping under concurrent first resolves', async () => {
    const store = await make(target);

    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.resolve('ns', 'race')),
    );

    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('rotates generations, per namespace', async () => {
    const store = await make(target);

    expect(await store.rotate('ns', 'k')).toBe(1);
    expect(await store.rotate('ns', 'k')).toBe(2);
    expect((await store.resolve('ns', 'k')).generation).toBe(2);
    expect((await store.resolve('other', 'k')).generation).toBe(0);
  });

  it('starts the state version again at 0 on rotation (a new generation has state of its own)', async () => {
    const store = await make(target);
    await store.resolve('ns', 'rv');
    await store.recordOutcomes([
      delta('rv', {
        hit: 1,
        envId: 'env-1',
        stateVersions: new Map([
          ['fn-a', 5],
          ['fn-b', 3],
        ]),
      }),
    ]);
    expect((await store.resolve('ns', 'rv', 'fn-a')).stateVersion).toBe(5);

    await store.rotate('ns', 'rv');

    expect((await store.resolve('ns', 'rv', 'fn-a')).stateVersion).toBe(0);
    expect((await store.resolve('ns', 'rv', 'fn-b')).stateVersion).toBe(0);
    expect((await store.explain('ns', 'rv')).stateVersions).toEqual({});
  });

  it('binds with the whole chain returned, and with the targets’ generations and bucket epochs', async () => {
    const store = await make(target);
    await store.rotate('ns', 'c');
    await store.bind('ns', 'b', 'c');
    await store.bind('ns', 'a', 'b');

    const resolved = await store.resolve('ns', 'a');

    expect(resolved.chain).toEqual([
      { key: 'b', generation: 0, epoch: await store.epochOf('ns', 'b') },
      { key: 'c', generation: 1, epoch: await store.epochOf('ns', 'c') },
    ]);
  });

  it('rejects self-binding, cycles and chains deeper than 8 hops', async () => {
    const store = await make(target);
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
    const store = await make(target);
    await store.rotate('a', 'b:c');
    await store.rotate('a}{', 'x');

    expect((await store.resolve('a:b', 'c')).generation).toBe(0);
    expect((await store.resolve('a', 'b:c')).generation).toBe(1);
    expect((await store.resolve('a}{', 'x')).generation).toBe(1);
    expect((await store.resolve('a', 'x')).generation).toBe(0);
  });

  it('unbinds and forgets, reporting whether there was something to remove', async () => {
    const store = await make(target);
    await store.bind('ns', 's', 'w');
    await store.rotate('ns', 's');

    expect(await store.unbind('ns', 's')).toBe(true);
    expect(await store.unbind('ns', 's')).toBe(false);
    expect((await store.resolve('ns', 's')).chain).toEqual([]);
    expect(await store.forget('ns', 's')).toBe(true);
    expect(await store.forget('ns', 's')).toBe(false);
    // The generation is all forget keeps: a rotated key never returns to an earlier tenant.
    expect(await store.resolve('ns', 's')).toMatchObject({ created: true, generation: 1 });
    expect(await store.forget('ns', 'never-rotated')).toBe(false);
    expect(await store.resolve('ns', 'never-rotated')).toMatchObject({
      created: true,
      generation: 0,
    });
  });

  it('keeps one epoch per namespace and bucket: created from the first candidate, then returned as is', async () => {
    const { raw } = await make(target);

    const first = await raw.epoch('ns-e', 7, 'candidate-1');
    const second = await raw.epoch('ns-e', 7, 'candidate-2');
    const otherBucket = await raw.epoch('ns-e', 1023, 'candidate-3');
    const otherNamespace = await raw.epoch('ns-other', 7, 'candidate-4');
    const firstBucket = await raw.epoch('ns-e', 0, 'candidate-5');

    expect([first, second, otherBucket, otherNamespace, firstBucket]).toEqual([
      'candidate-1',
      'candidate-1',
      'candidate-3',
      'candidate-4',
      'candidate-5',
    ]);
  });

  it('checks each call against the epoch of its key’s bucket, not another bucket’s', async () => {
    // Prepare: two keys in different buckets, each bucket with an epoch of its own.
    const store = await make(target);
    const [a, b] = keysInDistinctBuckets('key-', 2) as [string, string];
    await store.rotate('ns', a);
    await store.rotate('ns', b);
    const epochA = await store.epochOf('ns', a);
    const epochB = await store.epochOf('ns', b);

    // Act: each key's call under the other bucket's epoch.
    const crossed = await Promise.all([
      store.raw.resolve('ns', epochB, a, '').catch((e: unknown) => e),
      store.raw.rotate('ns', epochA, b).catch((e: unknown) => e),
    ]);

    // Assess: refused with that key's bucket epoch; nothing changed.
    expect(epochA).not.toBe(epochB);
    expect(crossed[0]).toBeInstanceOf(EpochMismatchError);
    expect((crossed[0] as EpochMismatchError).current).toBe(epochA);
    expect(crossed[1]).toBeInstanceOf(EpochMismatchError);
    expect((crossed[1] as EpochMismatchError).current).toBe(epochB);
    expect((await store.resolve('ns', a)).generation).toBe(1);
    expect((await store.resolve('ns', b)).generation).toBe(1);
  });

  it('binds, explains, unbinds and forgets across buckets, each link reporting its own bucket’s epoch (created when missing)', async () => {
    // Prepare: session → workspace → project, three buckets; the project's
    // bucket has never been given an epoch by a caller.
    const store = await make(target);
    const [session, workspace, project] = keysInDistinctBuckets('x-', 3) as [
      string,
      string,
      string,
    ];
    await store.rotate('ns', workspace);

    // Act
    await store.bind('ns', workspace, project);
    await store.bind('ns', session, workspace);
    const resolved = await store.resolve('ns', session);
    const explained = await store.explain('ns', session);
    // The store created the project bucket's epoch: a later candidate does not replace it.
    const projectEpoch = await store.raw.epoch('ns', epochBucket(project), 'late-candidate');

    // Assess
    expect(projectEpoch).not.toBe('late-candidate');
    expect(projectEpoch).not.toBe('');
    const chain = [
      { key: workspace, generation: 1, epoch: await store.epochOf('ns', workspace) },
      { key: project, generation: 0, epoch: projectEpoch },
    ];
    expect(resolved.chain).toEqual(chain);
    expect(explained).toMatchObject({ exists: true, binding: workspace, chain });
    expect(await store.unbind('ns', session)).toBe(true);
    await store.bind('ns', session, project);
    expect(await store.forget('ns', session)).toBe(true);
    expect(await store.forget('ns', workspace)).toBe(true);
    expect((await store.resolve('ns', session)).chain).toEqual([]);
    expect(await store.explain('ns', workspace)).toMatchObject({ generation: 1, chain: [] });
  });

  it('refuses every call under another epoch or none, changing nothing (issue 11, defect 8)', async () => {
    const store = await make(target);
    const { raw } = store;
    await store.rotate('ns', 'k');
    await store.bind('ns', 's', 'k');
    const current = await store.epochOf('ns', 'k');
    // [call, the epoch its refusal names: that of its key's bucket]
    const calls: [string, (epoch: string) => Promise<unknown>, string][] = [
      ['resolve', (e) => raw.resolve('ns', e, 'k', 'fn-a'), current],
      ['rotate', (e) => raw.rotate('ns', e, 'k'), current],
      ['bind', (e) => raw.bind('ns', e, 'k', 'w'), current],
      ['unbind', (e) => raw.unbind('ns', e, 's'), await store.epochOf('ns', 's')],
      ['forget', (e) => raw.forget('ns', e, 'k'), current],
      ['explain', (e) => raw.explain('ns', e, 'k'), current],
      ['resolve in a namespace without epoch', () => raw.resolve('ns-none', current, 'k', ''), ''],
    ];

    for (const [name, call, named] of calls) {
      for (const epoch of ['another-epoch', '']) {
        const err: unknown = await call(epoch).catch((e: unknown) => e);
        expect(err, `${name} under ${JSON.stringify(epoch)}`).toBeInstanceOf(EpochMismatchError);
        expect((err as EpochMismatchError).current, name).toBe(named);
      }
    }
    // Outcomes under another epoch are dropped, not retried.
    const failed = await raw.recordOutcomes([
      { ...delta('k', { hit: 5, stateVersions: new Map([['fn-a', 9]]) }), epoch: 'another-epoch' },
    ]);

    expect(failed).toEqual([]);
    expect(await store.explain('ns', 'k')).toMatchObject({
      generation: 1,
      stateVersions: {},
      counts: { hit: 0 },
    });
    expect((await store.resolve('ns', 's')).chain).toEqual([
      { key: 'k', generation: 1, epoch: current },
    ]);
  });

  it('adds outcome counts, keeps the last environment and never lowers the state version', async () => {
    const store = await make(target);
    await store.resolve('ns', 'k');

    const failed = await store.recordOutcomes([
      delta('k', { hit: 2, fresh: 1, envId: 'env-1', stateVersions: new Map([['fn-a', 7]]) }),
      delta('other', { unknown: 1 }),
    ]);
    await store.recordOutcomes([
      delta('k', {
        rehydrated: 1,
        envId: 'env-2',
        stateVersions: new Map([['fn-a', 4]]),
        lastSeenMs: 1_700_000_000_500,
      }),
    ]);
    const explained = await store.explain('ns', 'k');

    expect(failed).toEqual([]);
    expect(explained).toMatchObject({
      exists: true,
      stateVersions: { 'fn-a': 7 },
      lastEnvId: 'env-2',
      lastSeenMs: 1_700_000_000_500,
      counts: { hit: 2, rehydrated: 1, fresh: 1, unknown: 0 },
    });
    expect((await store.resolve('ns', 'k', 'fn-a')).stateVersion).toBe(7);
  });

  it('keeps state versions per function: one function’s versions never reach another’s (review findings 1 and 2)', async () => {
    // Prepare: two functions' versions for one key, one of them absurd (a lying function).
    const store = await make(target);
    await store.resolve('ns', 'k');

    // Act
    await store.recordOutcomes([
      delta('k', {
        hit: 1,
        stateVersions: new Map([
          ['fn-a', 4],
          ['fn-liar', Number.MAX_SAFE_INTEGER],
        ]),
      }),
    ]);
    await store.recordOutcomes([delta('k', { hit: 1, stateVersions: new Map([['fn-b', 2]]) })]);

    // Assess: each function reads back its own version, and only its own.
    expect((await store.resolve('ns', 'k', 'fn-a')).stateVersion).toBe(4);
    expect((await store.resolve('ns', 'k', 'fn-b')).stateVersion).toBe(2);
    expect((await store.resolve('ns', 'k', 'fn-liar')).stateVersion).toBe(Number.MAX_SAFE_INTEGER);
    expect((await store.resolve('ns', 'k', 'fn-c')).stateVersion).toBe(0);
    expect((await store.resolve('ns', 'k')).stateVersion).toBe(0);
    expect((await store.explain('ns', 'k')).stateVersions).toEqual({
      'fn-a': 4,
      'fn-b': 2,
      'fn-liar': Number.MAX_SAFE_INTEGER,
    });
  });

  it('serves a bound key the state version of its chain’s last key, per function', async () => {
    // Prepare: session → workspace → project; the session's own record holds
    // a version too (left from before it was bound), which must not be served.
    const store = await make(target);
    await store.bind('ns', 'workspace', 'project');
    await store.bind('ns', 'session', 'workspace');
    await store.recordOutcomes([
      delta('session', { hit: 1, stateVersions: new Map([['fn-a', 99]]) }),
      delta('workspace', { hit: 1, stateVersions: new Map([['fn-a', 50]]) }),
    ]);

    // Act: outcomes are recorded under the chain's last key (the invoker does so).
    await store.recordOutcomes([
      delta('project', {
        hit: 1,
        stateVersions: new Map([
          ['fn-a', 3],
          ['fn-b', 8],
        ]),
      }),
    ]);
    const session = await store.resolve('ns', 'session', 'fn-a');

    // Assess
    expect(session.chain.map((link) => link.key)).toEqual(['workspace', 'project']);
    expect(session.stateVersion).toBe(3);
    expect((await store.resolve('ns', 'session', 'fn-b')).stateVersion).toBe(8);
    expect((await store.resolve('ns', 'session', 'fn-c')).stateVersion).toBe(0);
    expect((await store.resolve('ns', 'session')).stateVersion).toBe(0);
    expect((await store.resolve('ns', 'workspace', 'fn-a')).stateVersion).toBe(3);
    // The key's own version stays available (pooled mode ignores bindings).
    expect(session.ownStateVersion).toBe(99);
    // Unbound, the key serves its own version again.
    await store.unbind('ns', 'session');
    expect((await store.resolve('ns', 'session', 'fn-a')).stateVersion).toBe(99);
  });

  it('serves a bound key version 0 when its target has none (a missing target is no state)', async () => {
    const store = await make(target);
    await store.bind('ns', 'session', 'workspace');
    await store.recordOutcomes([delta('session', { stateVersions: new Map([['fn-a', 5]]) })]);

    expect((await store.resolve('ns', 'session', 'fn-a')).stateVersion).toBe(0);
  });

  it('stores no version under a name that cannot be a function’s', async () => {
    const store = await make(target);
    await store.resolve('ns', 'k');

    await store.recordOutcomes([
      delta('k', {
        stateVersions: new Map([
          ['', 5],
          ['a b', 5],
          ['x:y', 5],
          ['f'.repeat(65), 5],
          ['fn-ok', 1],
        ]),
      }),
    ]);

    expect((await store.explain('ns', 'k')).stateVersions).toEqual({ 'fn-ok': 1 });
    expect((await store.resolve('ns', 'k', 'x:y')).stateVersion).toBe(0);
  });

  it('explains without creating, with the binding, chain and idle expiry', async () => {
    const store = await make(target);

    const unknown = await store.explain('ns', 'nobody');
    await store.bind('ns', 's', 'w');
    const bound = await store.explain('ns', 's');

    expect(unknown).toMatchObject({ exists: false, generation: 0, chain: [], stateVersions: {} });
    expect((await store.resolve('ns', 'nobody')).created).toBe(true);
    expect(bound).toMatchObject({
      exists: true,
      binding: 'w',
      chain: [{ key: 'w', generation: 0, epoch: await store.epochOf('ns', 'w') }],
    });
    expect(bound.createdMs).toBeGreaterThan(0);
    expect(bound.expiresInSeconds).toBeGreaterThan(IDLE_TTL_SECONDS - 5);
    expect(bound.expiresInSeconds).toBeLessThanOrEqual(IDLE_TTL_SECONDS);
  });
});

describe.each(targets.filter((t) => t.loseEpoch !== undefined))(
  'DirectoryStore contract, one bucket’s epoch lost: $name',
  (target) => {
    it('moves only that bucket’s keys, bound keys through it included, and never back to old records', async () => {
      // Prepare: a rotated key in each of two buckets, and a session (a third bucket) bound to the first.
      const store = await make(target);
      const loseEpoch = target.loseEpoch;
      if (loseEpoch === undefined) throw new Error('filtered above');
      const [lost, kept, session] = keysInDistinctBuckets('l-', 3) as [string, string, string];
      await store.rotate('ns', lost);
      await store.rotate('ns', kept);
      await store.bind('ns', session, lost);
      await store.recordOutcomes([delta(lost, { hit: 1, stateVersions: new Map([['fn', 4]]) })]);
      const oldEpoch = await store.epochOf('ns', lost);
      const keptEpoch = await store.epochOf('ns', kept);

      // Act: the lost key's bucket loses its epoch; its records stay (an eviction of the epoch alone).
      await loseEpoch(store.raw, 'ns', epochBucket(lost));
      const refused = await store.raw.resolve('ns', oldEpoch, lost, '').catch((e: unknown) => e);
      const viaSession = await store.resolve('ns', session, 'fn');
      const newEpoch = await store.raw.epoch('ns', epochBucket(lost), 'late-candidate');
      const lostAfter = await store.raw.resolve('ns', newEpoch, lost, 'fn');

      // Assess: the lost bucket's key starts over under a new epoch; the other bucket is untouched.
      expect(refused).toBeInstanceOf(EpochMismatchError);
      expect((refused as EpochMismatchError).current).toBe('');
      expect(newEpoch).not.toBe(oldEpoch);
      expect(newEpoch).not.toBe('late-candidate');
      expect(viaSession.chain).toEqual([{ key: lost, generation: 0, epoch: newEpoch }]);
      expect(viaSession.stateVersion).toBe(0);
      expect(lostAfter).toMatchObject({ created: true, generation: 0, stateVersion: 0 });
      expect(await store.raw.epoch('ns', epochBucket(kept), 'other-candidate')).toBe(keptEpoch);
      expect(await store.resolve('ns', kept)).toMatchObject({ created: false, generation: 1 });
    });
  },
);
