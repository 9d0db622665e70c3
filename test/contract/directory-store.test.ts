import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import {
  EpochMismatchError,
  type DirectoryStore,
  type OutcomeDelta,
} from '../../src/directory/store.js';
import { isWarmrouteError } from '../../src/errors.js';
import { SHARED_REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.js';

const IDLE_TTL_SECONDS = 3_600;

/**
 * The store under test, with each namespace's epoch fetched (or created)
 * once and passed along, as the directory does: most cases are about one
 * epoch; the epoch cases below use `raw`.
 */
class InEpoch {
  readonly #epochs = new Map<string, string>();
  constructor(readonly raw: DirectoryStore) {}

  async epochOf(namespace: string): Promise<string> {
    let epoch = this.#epochs.get(namespace);
    if (epoch === undefined) {
      epoch = await this.raw.epoch(namespace, randomBytes(16).toString('hex'));
      this.#epochs.set(namespace, epoch);
    }
    return epoch;
  }
  /** `functionId` names whose state version comes back ('' = none). */
  async resolve(namespace: string, key: string, functionId = '') {
    return this.raw.resolve(namespace, await this.epochOf(namespace), key, functionId);
  }
  async rotate(namespace: string, key: string) {
    return this.raw.rotate(namespace, await this.epochOf(namespace), key);
  }
  async bind(namespace: string, key: string, target: string) {
    return this.raw.bind(namespace, await this.epochOf(namespace), key, target);
  }
  async unbind(namespace: string, key: string) {
    return this.raw.unbind(namespace, await this.epochOf(namespace), key);
  }
  async forget(namespace: string, key: string) {
    return this.raw.forget(namespace, await this.epochOf(namespace), key);
  }
  async explain(namespace: string, key: string) {
    return this.raw.explain(namespace, await this.epochOf(namespace), key);
  }
  async recordOutcomes(batch: readonly Omit<OutcomeDelta, 'epoch'>[]) {
    const withEpochs = await Promise.all(
      batch.map(async (d) => ({ ...d, epoch: await this.epochOf(d.namespace) })),
    );
    return this.raw.recordOutcomes(withEpochs);
  }
}

interface StoreFactory {
  readonly name: string;
  create(): Promise<InEpoch>;
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
      return new InEpoch(store);
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
        commandTimeoutMs: 250,
        connectTimeoutMs: 2_000,
        maxReconnectDelayMs: 1_000,
        idleTtlSeconds: IDLE_TTL_SECONDS,
        clock: Date.now,
        logger: pino({ level: 'silent' }),
        instanceId: randomBytes(4).toString('hex'),
      });
      cleanups.push(() => store.close());
      await store.start();
      return new InEpoch(store);
    },
  },
];

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

describe.each(factories)('DirectoryStore contract: $name', (factory) => {
  it('creates a mapping on first resolve only, at generation 0', async () => {
    const store = await factory.create();

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
    // The generation is all forget keeps: a rotated key never returns to an earlier tenant.
    expect(await store.resolve('ns', 's')).toMatchObject({ created: true, generation: 1 });
    expect(await store.forget('ns', 'never-rotated')).toBe(false);
    expect(await store.resolve('ns', 'never-rotated')).toMatchObject({
      created: true,
      generation: 0,
    });
  });

  it('keeps one epoch per namespace: created from the first candidate, then returned as is', async () => {
    const { raw } = await factory.create();

    const first = await raw.epoch('ns-e', 'candidate-1');
    const second = await raw.epoch('ns-e', 'candidate-2');
    const other = await raw.epoch('ns-other', 'candidate-3');

    expect([first, second, other]).toEqual(['candidate-1', 'candidate-1', 'candidate-3']);
  });

  it('refuses every call under another epoch or none, changing nothing (issue 11, defect 8)', async () => {
    const store = await factory.create();
    const { raw } = store;
    await store.rotate('ns', 'k');
    await store.bind('ns', 's', 'k');
    const current = await store.epochOf('ns');
    const calls: [string, (epoch: string) => Promise<unknown>][] = [
      ['resolve', (e) => raw.resolve('ns', e, 'k', 'fn-a')],
      ['rotate', (e) => raw.rotate('ns', e, 'k')],
      ['bind', (e) => raw.bind('ns', e, 'k', 'w')],
      ['unbind', (e) => raw.unbind('ns', e, 's')],
      ['forget', (e) => raw.forget('ns', e, 'k')],
      ['explain', (e) => raw.explain('ns', e, 'k')],
      ['resolve in a namespace without epoch', () => raw.resolve('ns-none', current, 'k', '')],
    ];

    for (const [name, call] of calls) {
      for (const epoch of ['another-epoch', '']) {
        const err: unknown = await call(epoch).catch((e: unknown) => e);
        expect(err, `${name} under ${JSON.stringify(epoch)}`).toBeInstanceOf(EpochMismatchError);
        if (name.startsWith('resolve in')) expect((err as EpochMismatchError).current).toBe('');
        else expect((err as EpochMismatchError).current).toBe(current);
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
    expect((await store.resolve('ns', 's')).chain).toEqual([{ key: 'k', generation: 1 }]);
  });

  it('adds outcome counts, keeps the last environment and never lowers the state version', async () => {
    const store = await factory.create();
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
    const store = await factory.create();
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
    const store = await factory.create();
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
    const store = await factory.create();
    await store.bind('ns', 'session', 'workspace');
    await store.recordOutcomes([delta('session', { stateVersions: new Map([['fn-a', 5]]) })]);

    expect((await store.resolve('ns', 'session', 'fn-a')).stateVersion).toBe(0);
  });

  it('stores no version under a name that cannot be a function’s', async () => {
    const store = await factory.create();
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
    const store = await factory.create();

    const unknown = await store.explain('ns', 'nobody');
    await store.bind('ns', 's', 'w');
    const bound = await store.explain('ns', 's');

    expect(unknown).toMatchObject({ exists: false, generation: 0, chain: [], stateVersions: {} });
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
