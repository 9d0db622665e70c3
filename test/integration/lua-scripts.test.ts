import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { epochBucket } from '../../src/directory/epoch-bucket.js';
import type { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import type { StoreEvent } from '../../src/directory/store.js';
import { directoryKeys } from '../../src/redis/keys.js';
import { scanKeys } from '../../src/redis/scan.js';
import { directoryScripts, snapshotScripts } from '../../src/redis/script-loader.js';
import { SHARED_REDIS_URL, privateRedis } from '../helpers/redis.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { openClusterStore } from '../helpers/directory-fixtures.js';

/**
 * The shipped Lua scripts: valid Lua once includes are expanded, touching
 * only the keys they declare (ElastiCache Serverless and Redis Cluster route
 * and check a script by its KEYS), and running on a real Redis Cluster with
 * keys spread over every shard.
 */

const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true });
afterAll(() => {
  redis.disconnect();
});

describe('the shipped Lua scripts', () => {
  it('load in Redis after include expansion, under the SHA ioredis sends with EVALSHA', async () => {
    // Prepare
    const scripts = { ...directoryScripts(), ...snapshotScripts() };
    expect(Object.keys(scripts)).toHaveLength(11);
    for (const [name, { lua }] of Object.entries(scripts)) {
      // Act
      const sha = (await redis.script('LOAD', lua)) as string;
      // Assess
      expect(sha, name).toBe(createHash('sha1').update(lua).digest('hex'));
    }
  });

  it('refuse a publish command other than PUBLISH or SPUBLISH, writing nothing', async () => {
    // Prepare
    const own = await privateRedis();
    const client = new Redis(own.url, { scripts: directoryScripts() });
    onTestFinished(() => {
      client.disconnect();
    });
    const keys = directoryKeys('wrtest:pub:');
    const epochKey = keys.epoch('ns', 7);

    // Act
    const refused = client.wrEnsureEpoch(epochKey, 'e1', 'SET' as 'PUBLISH', keys.channel(7), '{}');

    // Assess
    await expect(refused).rejects.toThrow(/publish command must be PUBLISH or SPUBLISH/);
    expect(await client.exists(epochKey)).toBe(0);
  });

  it('touch no key they do not declare in KEYS (every command a script runs, per COMMAND GETKEYS)', async () => {
    // Prepare: a private server, so MONITOR sees only these scripts.
    const own = await privateRedis();
    const client = new Redis(own.url, { scripts: directoryScripts() });
    const monitor = await new Redis(own.url).monitor();
    onTestFinished(() => {
      client.disconnect();
      monitor.disconnect();
    });
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') seen.push(args);
    });
    const markers: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'echo' && args[1] !== undefined) markers.push(args[1]);
    });
    const keys = directoryKeys('wrtest:keys:');
    const [a, b] = ['key-a', 'key-b'];
    const [ba, bb] = [epochBucket(a), epochBucket(b)];
    expect(ba).not.toBe(bb);
    const rec = (key: string): string => keys.record('ns', key);
    const ep = (bucket: number): string => keys.epoch('ns', bucket);
    const now = Date.now();
    const lock = keys.bindLock('ns');
    await client.set(lock, 'token');
    // A record of another epoch in b, so follow-link and resolve meet a stale record.
    await client.hset(rec(b), 'ep', 'old', 'gen', '3');

    // Each call: script name, declared keys, the call.
    const calls: [string, string[], () => Promise<unknown>][] = [
      [
        'wrEnsureEpoch',
        [ep(ba)],
        () => client.wrEnsureEpoch(ep(ba), 'E1', 'PUBLISH', keys.channel(ba), '{}'),
      ],
      [
        'wrResolveKey',
        [rec(a), ep(ba)],
        () => client.wrResolveKey(rec(a), ep(ba), now, 60, 'E1', 'fn'),
      ],
      [
        'wrFollowLink',
        [rec(b), ep(bb)],
        () =>
          client.wrFollowLink(rec(b), ep(bb), 'E2', 60, 'fn', 'PUBLISH', keys.channel(bb), '{}'),
      ],
      [
        'wrBindKey',
        [rec(a), ep(ba)],
        () => client.wrBindKey(rec(a), ep(ba), b, now, 60, 'PUBLISH', keys.channel(ba), '{}', 'E1'),
      ],
      ['wrExplainKey', [rec(a), ep(ba)], () => client.wrExplainKey(rec(a), ep(ba), 'E1')],
      [
        'wrRecordOutcome',
        [rec(a), ep(ba)],
        () => client.wrRecordOutcome(rec(a), ep(ba), now, 60, 1, 1, 1, 1, 'env', 0, 'E1', 'fn', 5),
      ],
      [
        'wrRotateKey',
        [rec(a), ep(ba)],
        () => client.wrRotateKey(rec(a), ep(ba), now, 60, keys.channel(ba), '{}', 'E1', 'PUBLISH'),
      ],
      [
        'wrUnbindKey',
        [rec(a), ep(ba)],
        () => client.wrUnbindKey(rec(a), ep(ba), keys.channel(ba), '{}', 'E1', 'PUBLISH'),
      ],
      [
        'wrForgetKey',
        [rec(a), ep(ba)],
        () => client.wrForgetKey(rec(a), ep(ba), keys.channel(ba), '{}', 'E1', 60, 'PUBLISH'),
      ],
      // Stale record dropped on the write path (claimRecord's DEL).
      [
        'wrResolveKey',
        [rec(b), ep(bb)],
        () => client.wrResolveKey(rec(b), ep(bb), now, 60, 'E2', ''),
      ],
      ['wrReleaseLock', [lock], () => client.wrReleaseLock(lock, 'token')],
    ];
    expect(new Set(calls.map(([name]) => name))).toEqual(new Set(Object.keys(directoryScripts())));

    for (const [index, [name, declared, call]] of calls.entries()) {
      // Act
      seen.length = 0;
      const reply = await call();
      const marker = `done-${String(index)}`;
      await client.echo(marker);
      await waitFor(() => markers.includes(marker));

      // Assess
      expect((reply as unknown[])[0], name).toBe(1);
      expect(seen.length, `${name} ran no command`).toBeGreaterThan(0);
      for (const args of seen) {
        const touched = await keysOf(client, args);
        for (const key of touched) expect(declared, `${name}: ${args.join(' ')}`).toContain(key);
      }
    }
  });
});

describe('the directory store on a Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    return () => cluster.stop();
  }, 120_000);

  const openStore = (prefix: string): RedisDirectoryStore =>
    openClusterStore(cluster, prefix, {
      commandTimeoutMs: 2000,
      connectTimeoutMs: 10_000,
      idleTtlSeconds: 600,
    });

  it('runs every operation with SPUBLISH on single-slot scripts, keys spread over every master, invalidations over sharded pub/sub', async () => {
    // Prepare
    const prefix = `wrtest:cluster:${randomBytes(4).toString('hex')}:`;
    const a = openStore(prefix);
    const b = openStore(prefix);
    await Promise.all([a.start(), b.start()]);
    expect(a.available() && b.available()).toBe(true);
    expect(a.pubsubUp() && b.pubsubUp()).toBe(true);
    const events: StoreEvent[] = [];
    b.onEvent((event) => events.push(event));
    const epochs = new Map<string, string>();
    const epochOf = async (store: RedisDirectoryStore, key: string): Promise<string> => {
      const known = epochs.get(key);
      if (known !== undefined) return known;
      const epoch = await store.epoch('ns', epochBucket(key), randomBytes(16).toString('hex'));
      epochs.set(key, epoch);
      return epoch;
    };

    // Act: a chain s2 -> s1 -> ws over three buckets, then a rotation seen by b.
    const ws = await a.resolve('ns', await epochOf(a, 'ws'), 'ws', 'fn');
    await b.bind('ns', await epochOf(b, 's1'), 's1', 'ws');
    await a.bind('ns', await epochOf(a, 's2'), 's2', 's1');
    const s2 = await b.resolve('ns', await epochOf(b, 's2'), 's2', 'fn');
    const cycle = await a.bind('ns', await epochOf(a, 'ws'), 'ws', 's2').then(
      () => undefined,
      (err: unknown) => err,
    );
    const explained = await a.explain('ns', await epochOf(a, 's2'), 's2');
    const rotated = waitForEvent(events, (e) => e.type === 'invalidate' && e.key === 'ws');
    await a.rotate('ns', await epochOf(a, 'ws'), 'ws');
    const outcomeKeys = Array.from({ length: 60 }, (_, i) => `k${String(i)}`);
    const deltas = await Promise.all(
      outcomeKeys.map(async (key) => ({
        namespace: 'ns',
        epoch: await epochOf(a, key),
        key,
        hit: 1,
        rehydrated: 0,
        fresh: 0,
        unknown: 0,
        envId: 'env-1',
        stateVersions: new Map([['fn', 2]]),
        lastSeenMs: Date.now(),
      })),
    );
    const versions = waitForEvent(events, (e) => e.type === 'state-versions');
    const failed = await a.recordOutcomes(deltas);

    // Assess
    expect(new Set(['ws', 's1', 's2'].map(epochBucket)).size).toBe(3);
    expect(ws).toMatchObject({ created: true, generation: 0, chain: [] });
    expect(s2.chain).toEqual([
      { key: 's1', generation: 0, epoch: epochs.get('s1') },
      { key: 'ws', generation: 0, epoch: epochs.get('ws') },
    ]);
    expect(cycle).toMatchObject({
      code: 'WR_ERR_BINDING_INVALID',
      message: expect.stringContaining('cycle') as unknown,
    });
    expect(explained).toMatchObject({ exists: true, binding: 's1' });
    expect(explained.chain.map((link) => link.key)).toEqual(['s1', 'ws']);
    expect(await rotated).toMatchObject({ type: 'invalidate', op: 'rotate', remote: true });
    expect(failed).toEqual([]);
    expect(await versions).toMatchObject({ type: 'state-versions' });
    const perMaster = await cluster.countKeysPerMaster(`${prefix}*`);
    expect(perMaster).toHaveLength(3);
    for (const { keys } of perMaster) expect(keys).toBeGreaterThan(0);
    const records: string[] = [];
    for await (const key of scanKeys(a.client, a.keys.recordPattern('ns'))) records.push(key);
    expect(new Set(records).size).toBe(outcomeKeys.length + 3);
  }, 60_000);

  it('creates a missing epoch of a chain link’s bucket on the walk and announces it on that bucket', async () => {
    // Prepare
    const prefix = `wrtest:cluster:${randomBytes(4).toString('hex')}:`;
    const a = openStore(prefix);
    const b = openStore(prefix);
    await Promise.all([a.start(), b.start()]);
    const events: StoreEvent[] = [];
    b.onEvent((event) => events.push(event));
    const sessionEpoch = await a.epoch('ns', epochBucket('session'), 'e-session');

    // Act: bind to a target whose bucket has no epoch yet.
    await a.bind('ns', sessionEpoch, 'session', 'workspace');
    const announced = await waitForEvent(
      events,
      (e) => e.type === 'epoch' && e.bucket === epochBucket('workspace'),
    );
    const resolved = await a.resolve('ns', sessionEpoch, 'session', '');

    // Assess
    expect(announced).toMatchObject({
      type: 'epoch',
      namespace: 'ns',
      bucket: epochBucket('workspace'),
    });
    const created = announced.type === 'epoch' ? announced.epoch : '';
    expect(resolved.chain).toEqual([{ key: 'workspace', generation: 0, epoch: created }]);
    expect(await a.epoch('ns', epochBucket('workspace'), 'not-used')).toBe(created);
  }, 60_000);
});

/** The keys a command names, as the server parses them (PUBLISH names none). */
async function keysOf(client: Redis, args: readonly string[]): Promise<string[]> {
  try {
    return (await client.call('COMMAND', 'GETKEYS', ...args)) as string[];
  } catch (err) {
    if (err instanceof Error && /no key arguments/i.test(err.message)) return [];
    throw err;
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for MONITOR');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function waitForEvent(
  events: StoreEvent[],
  match: (event: StoreEvent) => boolean,
): Promise<StoreEvent> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = events.find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('timed out waiting for a store event');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
