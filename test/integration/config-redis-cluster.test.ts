import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSeed } from '../../src/redis/cluster-seeds.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis.js';
import { redisGatewayDeps } from '../helpers/redis-gateway-deps.js';

/**
 * WARMROUTE_REDIS_CLUSTER_NODES and WARMROUTE_REDIS_PASSWORD, end to end:
 * the gateway's dependencies built by createDependencies from a config
 * naming a private Redis Cluster (3 masters, 3 replicas) whose every node
 * demands AUTH. What it proves: the directory's store runs on an ioredis
 * Cluster built from the seeds with the configured password on every node
 * (a key resolves through Redis and the sharded subscriber is up), and a
 * wrong password degrades to derivation without the password in any log
 * line. test/integration/config-single-source.test.ts leaves this setting
 * unset (it sets REDIS_URL, which is refused together with it).
 */

const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
let cluster: RedisCluster | undefined;
let seeds = '';

beforeAll(async () => {
  cluster = await startRedisCluster();
  seeds = cluster.seeds.map((seed) => formatSeed(seed)).join(',');
  // Every node demands AUTH from now on (replicas authenticate to their master with masterauth).
  for (const node of cluster.nodes) {
    const admin = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true });
    try {
      await admin.connect();
      await admin.config('SET', 'masterauth', PASSWORD);
      await admin.config('SET', 'requirepass', PASSWORD);
    } finally {
      admin.disconnect();
    }
  }
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

function clusterDeps(password: string) {
  return redisGatewayDeps({
    WARMROUTE_REDIS_CLUSTER_NODES: seeds,
    WARMROUTE_REDIS_PASSWORD: password,
    WARMROUTE_REDIS_CONNECT_TIMEOUT_MS: '5000',
    WARMROUTE_NAMESPACE: uniquePrefix('cluster-config').replace(/[^A-Za-z0-9._-]/g, '-'),
  });
}

describe('the directory on a Redis Cluster from WARMROUTE_REDIS_CLUSTER_NODES', () => {
  it('builds a Cluster on the seeds, authenticated on every node by WARMROUTE_REDIS_PASSWORD', async () => {
    // Act
    const { config, deps, store } = await clusterDeps(PASSWORD);
    const resolved = await deps.directory.resolve('cluster-config-key');

    // Assess: the client, its seeds and password.
    const client = store.client;
    if (!(client instanceof Cluster)) throw new Error('expected a Cluster client');
    expect(client.options.redisOptions?.password).toBe(config.redisPassword);
    expect(store.available()).toBe(true);
    expect(store.pubsubUp()).toBe(true);
    expect(deps.directory.health().status).toBe('ok');
    expect(resolved.source).toBe('store');
    // The key was stored in the cluster (explain reads the record through Redis).
    const explained = await deps.directory.explain('cluster-config-key');
    expect(explained).toMatchObject({ known: true, store: 'redis', tenantId: resolved.tenantId });
  });

  it('with a wrong password: degraded, resolving by derivation, the password never logged', async () => {
    // Act
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const { deps, store, log } = await clusterDeps(wrong);
    const resolved = await deps.directory.resolve('cluster-config-key-2');

    // Assess
    expect(store.available()).toBe(false);
    expect(deps.directory.health().status).toBe('degraded');
    expect(resolved.source).toBe('derived');
    expect(log.text()).not.toContain(wrong);
    expect(log.text()).not.toContain(PASSWORD);
  });
});
