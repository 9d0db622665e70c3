import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { epochBucket } from '../../src/directory/epoch-bucket.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { deriveTenantId } from '../../src/directory/tenant-id.js';
import { directoryKeys } from '../../src/redis/keys.js';
import { scanKeys } from '../../src/redis/scan.js';
import { SHARED_REDIS_URL, deleteByPrefix, privateRedis, uniquePrefix } from '../helpers/redis.js';
import {
  TEST_SECRET,
  inspector,
  nextInvalidation,
  openRedisDirectory,
  openStandaloneStore,
} from '../helpers/directory-fixtures.js';

/** Store options of the store-level tests: timeouts with room for a loaded CI machine. */
const STORE_TEST_OPTIONS = {
  commandTimeoutMs: 2_000,
  connectTimeoutMs: 5_000,
  idleTtlSeconds: 600,
} as const;

async function sharedPrefix(label: string): Promise<string> {
  const prefix = uniquePrefix(label);
  onTestFinished(() => deleteByPrefix(SHARED_REDIS_URL, prefix));
  return Promise.resolve(prefix);
}

describe('directory on a shared Redis, two replicas', () => {
  it('a rotate on one replica reaches the other’s L1 through pub/sub', async () => {
    // Prepare
    const prefix = await sharedPrefix('dir-pubsub');
    const a = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const b = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const before = await b.resolve('ws-1');
    expect((await b.resolve('ws-1')).source).toBe('l1');

    // Act
    const invalidated = nextInvalidation(b, (n) => n.key === 'ws-1' && n.op === 'rotate');
    const rotated = await a.rotate('ws-1');
    const notice = await invalidated;
    const after = await b.resolve('ws-1');

    // Assess
    expect(notice.remote).toBe(true);
    expect(after.tenantId).toBe(rotated.tenantId);
    expect(after.tenantId).not.toBe(before.tenantId);
    expect(after).toMatchObject({ generation: 1, source: 'store' });
    expect(b.counters().pubsubInvalidations).toBe(1);
  });

  it('a bind on one replica re-routes the key on the other, and rotating the target re-routes bound keys', async () => {
    const prefix = await sharedPrefix('dir-bind');
    const a = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const b = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const workspace = await b.resolve('ws');
    await b.resolve('session');

    const bound = nextInvalidation(b, (n) => n.key === 'session' && n.op === 'bind');
    await a.bind('session', 'ws');
    await bound;
    const session = await b.resolve('session');
    expect(session).toMatchObject({ tenantId: workspace.tenantId, boundTo: 'ws' });
    expect((await b.resolve('session')).source).toBe('l1');

    // The message names only 'ws'; b must drop 'session' too because its chain passes through 'ws'.
    const rotatedWs = nextInvalidation(b, (n) => n.key === 'ws' && n.op === 'rotate');
    const rotated = await a.rotate('ws');
    await rotatedWs;
    expect(await b.resolve('session')).toMatchObject({
      tenantId: rotated.tenantId,
      source: 'store',
    });

    const unbound = nextInvalidation(b, (n) => n.key === 'session' && n.op === 'unbind');
    await a.unbind('session');
    await unbound;
    expect((await b.resolve('session')).tenantId).toBe(
      deriveTenantId(TEST_SECRET, 'wr-', {
        namespace: 'default',
        epoch: b.epochOf('default', 'session'),
        key: 'session',
        generation: 0,
      }),
    );
  });

  it('state versions flushed by one replica raise the other’s cached version of that function only', async () => {
    const prefix = await sharedPrefix('dir-sv');
    const a = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const b = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const fnA = { functionName: 'fn-a' };
    const fnB = { functionName: 'fn-b' };
    await b.resolve('k', fnA);
    await b.resolve('k', fnB);

    a.recordOutcome('k', { envId: 'env-1', state: 'fresh', stateVersion: 9, ...fnA });
    await a.flush();

    await expect
      .poll(async () => (await b.resolve('k', fnA)).stateVersion, { timeout: 5_000 })
      .toBe(9);
    expect((await b.resolve('k', fnA)).source).toBe('l1');
    expect(await b.resolve('k', fnB)).toMatchObject({ stateVersion: 0, source: 'l1' });
    expect(await b.explain('k')).toMatchObject({
      stateVersions: { 'fn-a': 9 },
      lastEnvId: 'env-1',
      counts: { fresh: 1 },
    });
  });

  it('a target’s version flushed by one replica raises the other’s cached entries of keys bound to it', async () => {
    // Prepare: session → ws, cached on b (version 0) before any outcome.
    const prefix = await sharedPrefix('dir-sv-bound');
    const a = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const b = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const fnA = { functionName: 'fn-a' };
    // The bind's invalidation reaches b asynchronously: wait for it, so it cannot drop b's entry later.
    const bound = nextInvalidation(b, (n) => n.key === 'session' && n.op === 'bind');
    await a.bind('session', 'ws');
    await bound;
    expect(await b.resolve('session', fnA)).toMatchObject({ stateVersion: 0, boundTo: 'ws' });
    const lookups = b.counters().storeLookups;

    // Act: a records under the target, as the invoker does for a bound key.
    a.recordOutcome('ws', { envId: 'env-1', state: 'fresh', stateVersion: 6, ...fnA });
    await a.flush();

    // Assess: b's cached session entry follows, with no store read.
    await expect
      .poll(async () => (await b.resolve('session', fnA)).stateVersion, { timeout: 5_000 })
      .toBe(6);
    expect((await b.resolve('session', fnA)).source).toBe('l1');
    expect(b.counters().storeLookups).toBe(lookups);
  });

  it('1,000 concurrent first resolves across two replicas create exactly one mapping per key', async () => {
    // Prepare
    const prefix = await sharedPrefix('dir-race');
    // 2,000 scripts in flight: on a loaded machine the last ones wait longer than the
    // helper's 200 ms command timeout and fall back to derivation. This test is about
    // the race, not timeouts (directory-failover covers those), so give them time.
    const patient = { commandTimeoutMs: 10_000 };
    const a = await openRedisDirectory(SHARED_REDIS_URL, prefix, patient);
    const b = await openRedisDirectory(SHARED_REDIS_URL, prefix, patient);
    const keys = Array.from({ length: 1_000 }, (_, i) => `new-key-${i}`);

    // Act
    const [fromA, fromB] = await Promise.all([
      Promise.all(keys.map((k) => a.resolve(k))),
      Promise.all(keys.map((k) => b.resolve(k))),
    ]);

    // Assess
    expect(a.counters().mappingsCreated + b.counters().mappingsCreated).toBe(1_000);
    keys.forEach((_key, i) => {
      expect(fromA[i]!.tenantId).toBe(fromB[i]!.tenantId);
      expect(fromA[i]!.source).toBe('store');
    });
    const redis = await inspector(SHARED_REDIS_URL);
    const records = new Set<string>();
    for await (const key of scanKeys(redis, directoryKeys(prefix).recordPattern('default'))) {
      records.add(key);
    }
    expect(records.size).toBe(1_000);
    // Spread over the buckets (so over every shard of a cluster), not one hash tag.
    const tags = new Set([...records].map((key) => /\{b[0-9a-f]{3}\}/.exec(key)?.[0]));
    expect(tags.size).toBeGreaterThan(500);
  });
});

describe('RedisDirectoryStore binds under the namespace lock', () => {
  const openStore = (prefix: string): RedisDirectoryStore =>
    openStandaloneStore(SHARED_REDIS_URL, prefix, STORE_TEST_OPTIONS);
  const epochOf = (store: RedisDirectoryStore, key: string): Promise<string> =>
    store.epoch('ns', epochBucket(key), randomBytes(16).toString('hex'));

  it('of two concurrent binds that together would close a cycle, on two replicas, exactly one succeeds', async () => {
    // Prepare: x and y in different buckets (different slots on a cluster).
    const prefix = await sharedPrefix('store-bind-race');
    const a = openStore(prefix);
    const b = openStore(prefix);
    await Promise.all([a.start(), b.start()]);
    const [ex, ey] = [await epochOf(a, 'x'), await epochOf(a, 'y')];
    expect(epochBucket('x')).not.toBe(epochBucket('y'));

    for (let round = 0; round < 10; round++) {
      // Act
      const results = await Promise.allSettled([
        a.bind('ns', ex, 'x', 'y'),
        b.bind('ns', ey, 'y', 'x'),
      ]);

      // Assess: one binding made, the other refused as a cycle; never both.
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused, `round ${String(round)}`).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
        code: 'WR_ERR_BINDING_INVALID',
        message: expect.stringContaining('cycle') as unknown,
      });
      const [x, y] = [await a.explain('ns', ex, 'x'), await a.explain('ns', ey, 'y')];
      expect([x.binding, y.binding].filter((bound) => bound !== undefined)).toHaveLength(1);
      await a.unbind('ns', ex, 'x');
      await a.unbind('ns', ey, 'y');
    }
    // The lock is released after every bind (compare-and-delete by its token).
    expect(await a.client.exists(a.keys.bindLock('ns'))).toBe(0);
  });

  it('waits for a lock another holder keeps, then answers WR_ERR_STORE_UNAVAILABLE, and never deletes that holder’s lock', async () => {
    // Prepare: a holder that never releases (a replica that died mid-bind).
    const prefix = await sharedPrefix('store-bind-held');
    const store = openStore(prefix);
    await store.start();
    const lock = store.keys.bindLock('ns');
    await store.client.set(lock, 'someone-else', 'PX', 60_000);
    const epoch = await epochOf(store, 'k');

    // Act
    const started = Date.now();
    const refused = await store.bind('ns', epoch, 'k', 'target').then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess
    expect(refused).toMatchObject({ code: 'WR_ERR_STORE_UNAVAILABLE', retryAfterSeconds: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(await store.client.get(lock)).toBe('someone-else');
    expect((await store.explain('ns', epoch, 'k')).binding).toBeUndefined();
  });
});

describe('RedisDirectoryStore round trips per operation (commands the server receives, MONITOR)', () => {
  it('unbound resolve 1, bound 1 + chain length, explain 1 + chain length, bind 3 + target chain length, rotate/unbind/forget 1', async () => {
    // Prepare: a private server (MONITOR sees only this store), chain s2 -> s1 -> ws.
    const own = await privateRedis();
    const store = openStandaloneStore(own.url, 'wrtest:rt:', {
      ...STORE_TEST_OPTIONS,
      instanceId: 'rt',
    });
    await store.start();
    const epochs = new Map<string, string>();
    for (const key of ['ws', 's1', 's2', 's3']) {
      epochs.set(key, await store.epoch('ns', epochBucket(key), randomBytes(16).toString('hex')));
    }
    const ep = (key: string): string => epochs.get(key) ?? '';
    await store.bind('ns', ep('s1'), 's1', 'ws');
    await store.bind('ns', ep('s2'), 's2', 's1');
    const monitor = await new Redis(own.url).monitor();
    onTestFinished(() => {
      monitor.disconnect();
    });
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // EVAL or EVALSHA: ioredis sends EVAL while it has not loaded the script on this connection.
      const name = args[0]?.toLowerCase() ?? '';
      if (source === 'lua') return;
      commands.push(
        name === 'echo' ? `echo:${args[1] ?? ''}` : name.startsWith('eval') ? 'script' : name,
      );
    });
    let round = 0;
    const count = async (op: () => Promise<unknown>): Promise<string[]> => {
      round += 1;
      await store.client.echo(`start-${String(round)}`);
      await expect.poll(() => commands.at(-1)).toBe(`echo:start-${String(round)}`);
      commands.length = 0;
      await op();
      await store.client.echo(`end-${String(round)}`);
      await expect.poll(() => commands.at(-1)).toBe(`echo:end-${String(round)}`);
      return commands.slice(0, -1);
    };

    // Act + Assess
    expect(await count(() => store.resolve('ns', ep('ws'), 'ws', 'fn'))).toEqual(['script']);
    expect(await count(() => store.resolve('ns', ep('s2'), 's2', 'fn'))).toEqual(
      Array<string>(3).fill('script'),
    );
    expect(await count(() => store.explain('ns', ep('s2'), 's2'))).toEqual(
      Array<string>(3).fill('script'),
    );
    // Lock, walk s2 -> s1 -> ws (3 links), write, unlock.
    expect(await count(() => store.bind('ns', ep('s3'), 's3', 's2'))).toEqual([
      'set',
      'script',
      'script',
      'script',
      'script',
      'script',
    ]);
    for (const op of [
      () => store.rotate('ns', ep('ws'), 'ws'),
      () => store.unbind('ns', ep('s3'), 's3'),
      () => store.forget('ns', ep('s3'), 's3'),
    ]) {
      expect(await count(op)).toEqual(['script']);
    }
    // One script per delta, then one state-version broadcast per bucket of the written keys.
    const delta = (key: string) => ({
      namespace: 'ns',
      epoch: ep(key),
      key,
      hit: 1,
      rehydrated: 0,
      fresh: 0,
      unknown: 0,
      envId: 'env',
      stateVersions: new Map([['fn', 3]]),
      lastSeenMs: Date.now(),
    });
    expect(new Set(['ws', 's1', 's2'].map(epochBucket)).size).toBe(3);
    const flushed = await count(() => store.recordOutcomes(['ws', 's1', 's2'].map(delta)));
    expect(flushed.sort()).toEqual(['publish', 'publish', 'publish', 'script', 'script', 'script']);
  });
});

describe('binds under load (issue 15 attack review)', () => {
  it('100 concurrent binds in one namespace on one replica all succeed, and the directory stays healthy', async () => {
    // Prepare
    const prefix = await sharedPrefix('bind-storm-one');
    const directory = await openRedisDirectory(SHARED_REDIS_URL, prefix);

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => directory.bind(`s${String(i)}`, `w${String(i % 5)}`)),
    );

    // Assess
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(directory.counters()).toMatchObject({ storeErrors: 0, degraded: false });
    expect((await directory.resolve('s42')).boundTo).toBe('w2');
  });

  it('two replicas binding 40 keys each at once: every bind succeeds, and no pair builds a cycle', async () => {
    // Prepare
    const prefix = await sharedPrefix('bind-storm-two');
    const a = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const b = await openRedisDirectory(SHARED_REDIS_URL, prefix);

    // Act: a binds x_i -> w_i and b binds y_i -> w_i, all at once.
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => [
        a.bind(`x${String(i)}`, `w${String(i)}`),
        b.bind(`y${String(i)}`, `w${String(i)}`),
      ]).flat(),
    );

    // Assess
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const directory of [a, b]) {
      expect(directory.counters()).toMatchObject({ storeErrors: 0, degraded: false });
    }
    expect((await b.resolve('x7')).boundTo).toBe('w7');
    expect((await a.resolve('y7')).boundTo).toBe('w7');
  });

  it('a bind refused because another replica keeps the lock is a retryable 503, not a store failure', async () => {
    // Prepare: a holder that never releases (a replica that died mid-bind).
    const prefix = await sharedPrefix('bind-busy');
    const directory = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const redis = await inspector(SHARED_REDIS_URL);
    await redis.set(directoryKeys(prefix).bindLock('default'), 'someone-else', 'PX', 60_000);

    // Act
    const refused = await directory.bind('k', 'target').then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess: 503 with Retry-After; the directory neither degraded nor resolving by derivation.
    expect(refused).toMatchObject({
      code: 'WR_ERR_STORE_UNAVAILABLE',
      statusCode: 503,
      retryAfterSeconds: 1,
    });
    expect(directory.counters()).toMatchObject({ storeErrors: 0, degraded: false });
    expect(directory.health().status).toBe('ok');
    expect((await directory.resolve('other')).source).toBe('store');
  });
});

describe('corrupt records (written outside warmroute)', () => {
  it('a script failing on a record is WR_ERR_INTERNAL for that key only: the store is not marked down', async () => {
    // Prepare: a record whose generation is not an integer, and a record key holding a string.
    const prefix = await sharedPrefix('corrupt-record');
    const directory = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const redis = await inspector(SHARED_REDIS_URL);
    const keys = directoryKeys(prefix);
    await directory.resolve('bad-gen');
    await redis.hset(keys.record('default', 'bad-gen'), 'gen', 'abc');
    await directory.epochsLoaded();
    await redis.set(keys.record('default', 'not-a-hash'), 'x');

    // Act
    const rotated = await directory.rotate('bad-gen').catch((err: unknown) => err);
    const resolved = await directory.resolve('not-a-hash').catch((err: unknown) => err);

    // Assess
    expect(rotated).toMatchObject({ code: 'WR_ERR_INTERNAL' });
    expect(resolved).toMatchObject({ code: 'WR_ERR_INTERNAL' });
    expect(directory.counters()).toMatchObject({
      storeErrors: 0,
      fallbackResolves: 0,
      degraded: false,
    });
    expect((await directory.resolve('healthy')).source).toBe('store');
  });

  it('outcomes of a corrupt record are dropped, so they do not hold back every later flush', async () => {
    // Prepare: a record whose hit counter is not an integer.
    const prefix = await sharedPrefix('corrupt-outcome');
    const directory = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    const redis = await inspector(SHARED_REDIS_URL);
    await directory.resolve('bad-hits');
    await directory.resolve('good');
    await redis.hset(directoryKeys(prefix).record('default', 'bad-hits'), 'hit', 'abc');

    // Act
    directory.recordOutcome('bad-hits', { envId: 'env-1', state: 'hit' });
    directory.recordOutcome('good', { envId: 'env-1', state: 'hit' });
    await directory.flush();

    // Assess
    expect(directory.counters()).toMatchObject({
      statsPending: 0,
      storeErrors: 0,
      degraded: false,
    });
    expect((await directory.explain('good')).counts.hit).toBe(1);
  });
});

describe('the Redis target in settings and logs', () => {
  it('hides a ?password= query item of REDIS_URL (and a userinfo password)', async () => {
    // Prepare: nothing listens on port 1, so start() logs that Redis is not reachable.
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      {
        write(line: string) {
          lines.push(line);
        },
      },
    );
    const store = new RedisDirectoryStore({
      target: { mode: 'standalone', url: 'redis://user:sesame@127.0.0.1:1/?password=hunter2' },
      keyPrefix: uniquePrefix('redact'),
      commandTimeoutMs: 100,
      connectTimeoutMs: 300,
      maxReconnectDelayMs: 1_000,
      idleTtlSeconds: 60,
      clock: Date.now,
      logger,
      instanceId: 'redact-test',
    });
    onTestFinished(() => store.close());

    // Act
    await store.start();

    // Assess
    const shown = JSON.stringify(store.settings.target) + lines.join('');
    expect(lines.some((line) => line.includes('not reachable at start'))).toBe(true);
    expect(shown).toContain('127.0.0.1:1');
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('sesame');
  });
});
