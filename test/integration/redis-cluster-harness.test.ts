import { existsSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  startRedisCluster,
  type ClusterMaster,
  type RedisCluster,
} from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis.js';

/**
 * The Redis Cluster harness the issue-15 tests rely on: a real cluster whose
 * keys spread over every master, that fails over when a master dies, and
 * whose sharded pub/sub reaches an ioredis `Cluster` with
 * `shardedSubscribers: true` (the subscriber design of the directory).
 */

function commandClient(cluster: RedisCluster): Cluster {
  const client = new Cluster([...cluster.seeds], { redisOptions: { maxRetriesPerRequest: 1 } });
  onTestFinished(() => {
    client.disconnect();
  });
  return client;
}

/** The master serving `key`'s slot. */
async function masterOf(
  client: Cluster,
  masters: readonly ClusterMaster[],
  key: string,
): Promise<number> {
  const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
  const owner = masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
  if (owner === undefined) throw new Error(`no master serves slot ${String(slot)}`);
  return owner.port;
}

/** Whether a process with this PID exists (signal 0 to a reaped PID fails with ESRCH). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Resolves with the first `count` sharded messages `client` receives. */
function shardedMessages(client: Cluster, count: number): Promise<[string, string][]> {
  return new Promise((resolve) => {
    const got: [string, string][] = [];
    client.on('smessage', (channel: string, message: string) => {
      got.push([channel, message]);
      if (got.length === count) resolve(got);
    });
  });
}

describe('local Redis Cluster harness', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    return () => cluster.stop();
  });

  it('starts three masters with one live replica each, on loopback ports it owns', async () => {
    const masters = await cluster.masters();

    expect(masters).toHaveLength(3);
    expect(cluster.nodes).toHaveLength(6);
    expect(
      cluster.nodes
        .filter((n) => n.role === 'master')
        .map((n) => n.port)
        .sort(),
    ).toEqual(masters.map((m) => m.port).sort());
    expect(cluster.nodes.every((n) => n.pid !== undefined)).toBe(true);
    // The three masters together serve every slot.
    const served = masters
      .flatMap((m) => m.slots)
      .reduce((sum, [from, to]) => sum + (to - from + 1), 0);
    expect(served).toBe(16384);
  });

  it('is started only once every node lists every replica with its master (gossip converged)', async () => {
    // Act: each node's own view, read at once (right after the start in beforeAll).
    const views = await Promise.all(
      cluster.nodes.map(async (node) => {
        const redis = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true });
        onTestFinished(() => {
          redis.disconnect();
        });
        await redis.connect();
        return (await redis.call('CLUSTER', 'NODES')) as string;
      }),
    );

    // Assess: 3 replicas per view (a master's id in field 4, not flagged failed). A node that
    // still listed them as masters made killMaster find no master with a replica.
    for (const view of views) {
      const replicas = view
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .filter(([, , flags = '', master = '-']) => master !== '-' && !flags.includes('fail'));
      expect(replicas).toHaveLength(3);
    }
  });

  it('killMaster waits, bounded, for a master with a live replica, and kills nothing if none comes', async () => {
    // Act: index 3 of three masters with a replica never exists.
    const outcome = cluster.killMaster(3, 300);

    // Assess
    await expect(outcome).rejects.toThrow(
      'killMaster(3): a master with a live replica not reached within 300 ms: only 3 masters have a live replica',
    );
    expect(cluster.nodes.every((n) => n.pid !== undefined)).toBe(true);
    expect(await cluster.masters()).toHaveLength(3);
  });

  it('spreads keys written through an ioredis Cluster over every master', async () => {
    // Prepare
    const client = commandClient(cluster);
    const prefix = uniquePrefix('cluster-harness');
    const keys = Array.from({ length: 300 }, (_, i) => `${prefix}k${String(i)}`);

    // Act
    await Promise.all(keys.map((k) => client.set(k, 'v')));

    // Assess: every key is stored once, on the master serving its slot, and every master holds some.
    const counts = await cluster.countKeysPerMaster(`${prefix}*`);
    expect(counts).toHaveLength(3);
    expect(counts.every((c) => c.keys > 0)).toBe(true);
    expect(counts.reduce((sum, c) => sum + c.keys, 0)).toBe(keys.length);
    const masters = await cluster.masters();
    const expected = new Map<number, number>();
    for (const key of keys) {
      const port = await masterOf(client, masters, key);
      expected.set(port, (expected.get(port) ?? 0) + 1);
    }
    expect(counts.map((c) => [c.port, c.keys])).toEqual(
      [...expected.entries()].sort((a, b) => a[0] - b[0]),
    );
    await cluster.flushAll();
    expect((await cluster.countKeysPerMaster()).every((c) => c.keys === 0)).toBe(true);
  });

  it('counts commands per master (INFO commandstats) from zero after resetStats', async () => {
    const client = commandClient(cluster);
    const prefix = uniquePrefix('cluster-stats');
    await cluster.resetStats();

    await Promise.all(Array.from({ length: 10 }, (_, i) => client.incr(`${prefix}${String(i)}`)));

    expect((await cluster.commandStats())['incr']).toBe(10);
  });

  it('delivers SPUBLISH, also from inside EVAL, to a Cluster with shardedSubscribers on every master', async () => {
    // Prepare: one bucket-style channel per master, subscribed one channel per call
    // (ioredis refuses an SSUBSCRIBE whose channels span slots).
    const prefix = uniquePrefix('cluster-spub');
    const publisher = commandClient(cluster);
    const subscriber = new Cluster([...cluster.seeds], { shardedSubscribers: true });
    onTestFinished(() => {
      subscriber.disconnect();
    });
    const masters = await cluster.masters();
    const channelByMaster = new Map<number, string>();
    for (let b = 0; channelByMaster.size < masters.length; b++) {
      const channel = `${prefix}{b${b.toString(16).padStart(3, '0')}}:inv`;
      const port = await masterOf(publisher, masters, channel);
      if (!channelByMaster.has(port)) channelByMaster.set(port, channel);
    }
    const channels = [...channelByMaster.values()];
    for (const channel of channels) await subscriber.ssubscribe(channel);
    const received = shardedMessages(subscriber, channels.length * 2);

    // Act: a plain SPUBLISH per channel, then one from a script that touches a
    // record key in the channel's slot (the hash tag puts both there).
    for (const channel of channels) {
      expect(await publisher.spublish(channel, `plain ${channel}`)).toBe(1);
    }
    for (const channel of channels) {
      const record = channel.replace(/:inv$/, ':n:default:k:some-key');
      const receivers = await publisher.eval(
        "redis.call('SET', KEYS[1], '1'); return redis.call('SPUBLISH', ARGV[1], ARGV[2])",
        1,
        record,
        channel,
        `script ${channel}`,
      );
      expect(receivers).toBe(1);
    }

    // Assess
    const messages = await received;
    expect(messages.sort()).toEqual(
      channels
        .flatMap((c): [string, string][] => [
          [c, `plain ${c}`],
          [c, `script ${c}`],
        ])
        .sort(),
    );
  });
});

describe('local Redis Cluster harness when a master dies', () => {
  let cluster: RedisCluster | undefined;
  afterAll(() => cluster?.stop());

  it('promotes its replica, serves writes on every slot again, and stop() leaves no process behind', async () => {
    // Prepare
    cluster = await startRedisCluster();
    const client = commandClient(cluster);
    const prefix = uniquePrefix('cluster-failover');
    const keys = Array.from({ length: 60 }, (_, i) => `${prefix}k${String(i)}`);
    await Promise.all(keys.map((k) => client.set(k, 'before')));

    // Act
    const killed = await cluster.killMaster(0);
    const promoted = await cluster.waitForFailover(15_000);

    // Assess: the replica took the dead master's slots, and every key is writable again
    // (the client finds the new owner of the slots itself; a few writes may fail meanwhile).
    expect(promoted).not.toBe(killed.port);
    const masters = await cluster.masters();
    expect(masters.map((m) => m.port)).not.toContain(killed.port);
    expect(masters.find((m) => m.port === promoted)?.slots).toEqual(killed.slots);
    expect(cluster.nodes.find((n) => n.port === killed.port)?.pid).toBeUndefined();
    await expect
      .poll(
        async () => {
          const results = await Promise.allSettled(keys.map((k) => client.set(k, 'after')));
          return results.filter((r) => r.status === 'rejected').length;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(0);
    expect((await cluster.countKeysPerMaster(`${prefix}*`)).every((c) => c.keys > 0)).toBe(true);

    // Act: stop
    const pids = cluster.nodes.map((n) => n.pid).filter((pid): pid is number => pid !== undefined);
    expect(pids).toHaveLength(5);
    await cluster.stop();
    await cluster.stop(); // idempotent

    // Assess: every process is gone and its files with it.
    expect(pids.filter(isRunning)).toEqual([]);
    expect(cluster.nodes.every((n) => n.pid === undefined)).toBe(true);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
