import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { epochBucket } from '../../src/directory/epoch-bucket.js';
import type { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import type { StoreEvent } from '../../src/directory/store.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import type { KeyDirectory } from '../../src/directory/directory.js';
import { deriveTenantId } from '../../src/directory/tenant-id.js';
import { isWarmrouteError } from '../../src/errors.js';
import { startOwnRedis, uniquePrefix } from '../helpers/redis.js';
import {
  TEST_SECRET,
  infoCounts,
  inspector,
  openClusterStore,
  openRedisDirectory,
} from '../helpers/directory-fixtures.js';

async function ownRedis(): Promise<Awaited<ReturnType<typeof startOwnRedis>>> {
  const redis = await startOwnRedis();
  onTestFinished(() => redis.stop());
  return redis;
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (err: unknown) => (isWarmrouteError(err) ? err.code : String(err)),
  );
}

/** The tenant `dir` derives for `key` at `generation`, in the epoch of the key's bucket of 'default' it uses now. */
const derived = (dir: KeyDirectory, key: string, generation = 0): string =>
  deriveTenantId(TEST_SECRET, 'wr-', {
    namespace: 'default',
    epoch: dir.epochOf('default', key),
    key,
    generation,
  });

describe('directory when its Redis fails', () => {
  it('keeps resolving while Redis is dead, refuses mutations, and resumes after a restart', async () => {
    // Prepare: keys resolved while Redis is up, one of them rotated (an override only the store knows).
    const redis = await ownRedis();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('dir-kill'));
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const before = await Promise.all(keys.map((k) => dir.resolve(k)));
    const rotated = await dir.rotate('rotated');
    await dir.resolve('rotated');
    expect(dir.health().status).toBe('ok');
    const epochBefore = dir.epochOf('default', 'k1');

    // Act: crash Redis.
    await redis.kill();
    await expect.poll(() => dir.health().status, { timeout: 5_000 }).toBe('degraded');
    const during = await Promise.all(keys.map((k) => dir.resolve(k)));
    const unseen = await dir.resolve('never-seen');
    const rotatedDuring = await dir.resolve('rotated');
    const rotateWhileDown = await errorCode(dir.rotate('k1'));
    const bindWhileDown = await errorCode(dir.bind('k1', 'k2'));
    const forgetWhileDown = await errorCode(dir.forget('k1'));
    dir.recordOutcome('k3', {
      envId: 'env-down',
      state: 'hit',
      stateVersion: 4,
      functionName: 'fn',
    });
    await dir.flush();

    // Assess (down): same tenants, no throw, typed errors for mutations, outcomes kept.
    expect(during.map((r) => r.tenantId)).toEqual(before.map((r) => r.tenantId));
    expect(unseen).toMatchObject({
      tenantId: derived(dir, 'never-seen'),
      generation: 0,
      source: 'derived',
    });
    expect(rotatedDuring).toMatchObject({ tenantId: rotated.tenantId, generation: 1 });
    expect([rotateWhileDown, bindWhileDown, forgetWhileDown]).toEqual([
      'WR_ERR_STORE_UNAVAILABLE',
      'WR_ERR_STORE_UNAVAILABLE',
      'WR_ERR_STORE_UNAVAILABLE',
    ]);
    expect(dir.health().reason).toMatch(/Redis/);
    expect(dir.counters()).toMatchObject({ degraded: true, statsPending: 1 });

    // Act: Redis comes back (empty: it keeps nothing on disk).
    await redis.restart();
    await expect.poll(() => dir.health().status, { timeout: 10_000 }).toBe('ok');
    const rotatedAgain = await dir.rotate('k1');
    await dir.flush();
    const explained = await dir.explain('k3');

    // Assess (back): mutations work without restarting the directory. Redis came
    // back empty, so the namespace has a new epoch (defect 8), and the outcomes
    // buffered under the lost one are dropped: their state versions name
    // snapshots of the old epoch, which the new one never reads.
    expect(dir.epochOf('default', 'k1')).not.toBe(epochBefore);
    expect(rotatedAgain).toEqual({ generation: 1, tenantId: derived(dir, 'k1', 1) });
    expect(await dir.resolve('k1')).toMatchObject({
      tenantId: derived(dir, 'k1', 1),
      source: 'store',
    });
    expect(explained).toMatchObject({
      counts: { hit: 0 },
      stateVersions: {},
      pendingOutcomes: 0,
    });
    const counters = dir.counters();
    expect(counters.degraded).toBe(false);
    expect(counters.degradedSeconds).toBeGreaterThan(0);
  });

  it('answers by derivation when Redis is unreachable at start, then connects by itself', async () => {
    const redis = await ownRedis();
    await redis.kill();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('dir-late'), {
      commandTimeoutMs: 200,
      connectTimeoutMs: 300,
    });

    expect(dir.health().status).toBe('degraded');
    expect(await dir.resolve('k')).toMatchObject({
      tenantId: derived(dir, 'k'),
      source: 'derived',
    });

    await redis.restart();
    await expect.poll(() => dir.health().status, { timeout: 10_000 }).toBe('ok');
    expect((await dir.resolve('k')).source).toBe('store');
  });

  it('falls back to derivation when Redis stops answering within the command timeout', async () => {
    const redis = await ownRedis();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('dir-slow'), { l1Max: 0 });
    await dir.rotate('rotated');
    const admin = await inspector(redis.url);

    // CLIENT PAUSE holds every other client's commands: a hung Redis with the socket still open.
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const slow = await dir.resolve('k');
    const skipped = await dir.resolve('k2');

    expect(slow).toMatchObject({ tenantId: derived(dir, 'k'), source: 'derived' });
    // After a timeout, misses skip the store for a while instead of each waiting for the timeout.
    expect(skipped.source).toBe('derived');
    expect(dir.counters().storeErrors).toBe(1);
    expect(dir.health()).toMatchObject({ status: 'degraded' });
    expect(await errorCode(dir.rotate('k'))).toBe('WR_ERR_STORE_UNAVAILABLE');

    await admin.call('CLIENT', 'UNPAUSE');
    await expect
      .poll(async () => (await dir.resolve('rotated')).source, { timeout: 10_000 })
      .toBe('store');
    expect((await dir.resolve('rotated')).generation).toBe(1);
    expect(dir.health().status).toBe('ok');
  });

  it('survives SCRIPT FLUSH: NOSCRIPT is answered by ioredis re-sending the script', async () => {
    // Prepare: scripts loaded and cached by SHA on the server.
    const redis = await ownRedis();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('dir-noscript'), {
      l1Max: 0,
    });
    await dir.resolve('warm-1');
    await dir.resolve('warm-2');
    const admin = await inspector(redis.url);
    const errorsBefore = (await infoCounts(admin, 'errorstats')).get('errorstat_NOSCRIPT') ?? 0;

    // Act
    await admin.script('FLUSH');
    const afterFlush = await dir.resolve('cold-key');
    const rotated = await dir.rotate('cold-key');

    // Assess: the EVALSHA really failed with NOSCRIPT, and the call still succeeded through the store.
    const errorsAfter = (await infoCounts(admin, 'errorstats')).get('errorstat_NOSCRIPT') ?? 0;
    expect(errorsAfter).toBeGreaterThan(errorsBefore);
    expect(afterFlush).toMatchObject({ source: 'store', tenantId: derived(dir, 'cold-key') });
    expect(rotated.generation).toBe(1);
    expect(dir.counters().storeErrors).toBe(0);
  });
});

describe('the store on a Redis Cluster when a master fails over', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    return () => cluster.stop();
  }, 120_000);

  const openStore = (prefix: string): RedisDirectoryStore =>
    openClusterStore(cluster, prefix, {
      commandTimeoutMs: 1_000,
      connectTimeoutMs: 10_000,
      maxReconnectDelayMs: 500,
      idleTtlSeconds: 600,
    });

  it('reports sharded pub/sub down, then up with a resync, and invalidations on the failed-over slots arrive again', async () => {
    // Prepare
    const prefix = uniquePrefix('store-cluster-failover');
    const a = openStore(prefix);
    const b = openStore(prefix);
    await Promise.all([a.start(), b.start()]);
    expect(b.pubsubUp()).toBe(true);
    const events: StoreEvent[] = [];
    b.onEvent((event) => events.push(event));

    // The slots of candidate keys' bucket tags, asked while every master is up
    // (asked after the kill, the question itself can hit the dead node).
    const candidates = Array.from({ length: 200 }, (_, i) => `k${String(i)}`);
    // On a connection of its own: the store's fail-fast client sends a keyless
    // command to a random node, whose connection may not be open yet.
    const [seed] = cluster.seeds;
    if (seed === undefined) throw new Error('the cluster has no seed');
    const asker = new Redis({ host: seed.host, port: seed.port, lazyConnect: true });
    const slots = await asker
      .connect()
      .then(() =>
        Promise.all(
          candidates.map(async (k) =>
            Number(await asker.call('CLUSTER', 'KEYSLOT', a.keys.tag(epochBucket(k)))),
          ),
        ),
      )
      .finally(() => {
        asker.disconnect();
      });

    // Act: SIGKILL a master; its replica takes over its slots.
    const killed = await cluster.killMaster(0);
    await cluster.waitForFailover(60_000);
    await expect.poll(() => b.pubsubUp(), { timeout: 30_000 }).toBe(true);
    // A key whose bucket channel lives in the slots the killed master served.
    const inKilled = (slot: number): boolean =>
      killed.slots.some(([from, to]) => slot >= from && slot <= to);
    const key = candidates.find((_, i) => inKilled(slots[i] ?? -1));
    if (key === undefined) throw new Error('no candidate key in the killed master’s slots');
    // The command client learns the new slot owner on its own; until then commands fail fast.
    const epoch = await eventually(() =>
      a.epoch('ns', epochBucket(key), randomBytes(16).toString('hex')),
    );
    await a.rotate('ns', epoch, key);

    // Assess: down, then back with a resync (messages may have been lost in between), then live.
    const down = events.findIndex((e) => e.type === 'status' && !e.pubsub);
    const resync = events.findIndex((e) => e.type === 'resync');
    expect(down).toBeGreaterThanOrEqual(0);
    expect(resync).toBeGreaterThan(down);
    await expect
      .poll(() => events.some((e) => e.type === 'invalidate' && e.key === key), { timeout: 5_000 })
      .toBe(true);
  }, 120_000);
});

/** `call`'s first success, retried every 100 ms for up to 15 s. */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
