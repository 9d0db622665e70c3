import { Cluster, Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  createCommandClient,
  createSubscriberClient,
  requestPathClusterRetries,
  type RedisClient,
  type RedisClientOptions,
} from '../../src/redis/client.js';
import type { RedisTarget } from '../../src/redis/target.js';
import { snapshotClusterRetries } from '../../lambda/stores/redis-snapshot-store.js';

/**
 * The options src/redis/client.ts builds the directory's two clients with,
 * read from the live ioredis objects (nothing connects: both are lazy). What
 * it proves: the mode follows the target; the request-path settings (command
 * timeout, one retry, no offline queue, auto-pipelining, the directory's
 * scripts) hold in both modes; TLS and AUTH reach every cluster node's
 * connection; the subscriber of a cluster uses sharded subscribers; the
 * reconnect backoff keeps retrying up to its cap. What it cannot prove: that
 * a server accepts them (test/integration/redis-password.test.ts and the
 * cluster tests connect for real).
 */

const CLUSTER: RedisTarget = {
  mode: 'cluster',
  nodes: [
    { host: 'a.cache.internal', port: 6379 },
    { host: 'b.cache.internal', port: 6380 },
  ],
  tls: false,
};

function options(target: RedisTarget, password?: string): RedisClientOptions {
  return {
    target,
    password,
    connectionName: 'wr-test',
    commandTimeoutMs: 123,
    maxReconnectDelayMs: 4_000,
  };
}

function made<T extends RedisClient>(client: T): T {
  onTestFinished(() => {
    client.disconnect();
  });
  return client;
}

function asCluster(client: RedisClient): Cluster {
  if (!(client instanceof Cluster)) throw new Error('expected a Cluster');
  return client;
}

function asRedis(client: RedisClient): Redis {
  if (!(client instanceof Redis)) throw new Error('expected a standalone client');
  return client;
}

describe('createCommandClient', () => {
  it('standalone: fail-fast request path, auto-pipelining, scripts, lazy', () => {
    // Act
    const client = asRedis(
      made(createCommandClient(options({ mode: 'standalone', url: 'redis://cache:6379' }))),
    );

    // Assess
    expect(client.options).toMatchObject({
      host: 'cache',
      port: 6379,
      connectionName: 'wr-test',
      commandTimeout: 123,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      lazyConnect: true,
    });
    expect(Object.keys(client.options.scripts ?? {})).toContain('wrResolveKey');
    expect(client.status).toBe('wait');
  });

  it('standalone rediss:// in any case: TLS', () => {
    for (const url of ['rediss://cache:6379', 'REDISS://cache:6379']) {
      const client = asRedis(made(createCommandClient(options({ mode: 'standalone', url }))));
      expect(client.options.tls, url).toBeDefined();
    }
    const plain = asRedis(
      made(createCommandClient(options({ mode: 'standalone', url: 'redis://cache:6379' }))),
    );
    expect(plain.options.tls).toBeUndefined();
  });

  it('cluster: a Cluster on the seeds, the same request-path settings on every node', () => {
    // Act
    const client = asCluster(made(createCommandClient(options(CLUSTER, 'pw-0123'))));

    // Assess
    expect(client.options).toMatchObject({
      enableOfflineQueue: false,
      // A MOVED inside a mixed pipeline is not followed (see createCommandClient).
      enableAutoPipelining: false,
      lazyConnect: true,
      shardedSubscribers: false,
    });
    expect(client.options.redisOptions).toMatchObject({
      connectionName: 'wr-test',
      commandTimeout: 123,
      maxRetriesPerRequest: 1,
      password: 'pw-0123',
    });
    expect(client.options.redisOptions?.tls).toBeUndefined();
    expect(client.options.redisOptions?.username).toBeUndefined();
    expect(Object.keys(client.options.scripts ?? {})).toContain('wrResolveKey');
    expect(client.status).toBe('wait');
    // Plain TCP: ioredis resolves seed names as usual (no host-name-keeping lookup).
    expect(client.options.dnsLookup?.name).not.toBe('keepHostName');
  });

  it('cluster: a dead master fails the command at once (no failover or CLUSTERDOWN delay), MOVED followed at once', () => {
    // Act
    const client = asCluster(made(createCommandClient(options(CLUSTER))));

    // Assess: ioredis's defaults (100 ms, 16 times) held commands through an election.
    expect(client.options).toMatchObject({
      // Retried every 20 ms until the (123 ms) command timeout ends it.
      retryDelayOnFailover: 20,
      retryDelayOnClusterDown: 20,
      retryDelayOnMoved: 0,
      maxRedirections: 23,
    });
    // TRYAGAIN retries spread over about one command timeout (123 ms / 16).
    expect(client.options.retryDelayOnTryAgain).toBe(7);
    expect(requestPathClusterRetries(1).retryDelayOnTryAgain).toBe(1);
  });

  it('cluster: keeps reconnecting, the backoff growing to its cap', () => {
    const client = asCluster(made(createCommandClient(options(CLUSTER))));
    const strategy = client.options.clusterRetryStrategy;
    expect(strategy?.(1)).toBe(100);
    expect(strategy?.(2)).toBe(200);
    expect(strategy?.(1_000)).toBe(4_000);
  });

  it('cluster over TLS: every node verified against the one seed host name; names kept for it', () => {
    // Act
    const client = asCluster(
      made(
        createCommandClient(
          options({
            mode: 'cluster',
            nodes: [{ host: 'clustercfg.app.use1.cache.amazonaws.com', port: 6379 }],
            tls: true,
            username: 'app',
          }),
        ),
      ),
    );

    // Assess
    expect(client.options.redisOptions?.tls).toEqual({
      servername: 'clustercfg.app.use1.cache.amazonaws.com',
    });
    expect(client.options.redisOptions?.username).toBe('app');
    // ioredis would otherwise connect to the resolved IP, which the certificate does not name.
    let resolved: string | undefined;
    client.options.dnsLookup?.('node-1.cache.internal', (_err, address) => {
      resolved = address;
    });
    expect(resolved).toBe('node-1.cache.internal');
  });

  it('cluster over TLS with several seed hosts, or an IP: no fixed servername', () => {
    for (const nodes of [
      [
        { host: 'a.internal', port: 1 },
        { host: 'b.internal', port: 2 },
      ],
      [{ host: '10.0.0.1', port: 6379 }],
    ]) {
      const client = asCluster(
        made(createCommandClient(options({ mode: 'cluster', nodes, tls: true }))),
      );
      expect(client.options.redisOptions?.tls).toEqual({});
    }
  });

  it("an empty password is no password (no AUTH '')", () => {
    const client = asCluster(made(createCommandClient(options(CLUSTER, ''))));
    expect(client.options.redisOptions?.password).toBeUndefined();
  });
});

describe('createSubscriberClient', () => {
  it('standalone: keeps its offline queue and resubscribes', () => {
    const client = asRedis(
      made(
        createSubscriberClient(options({ mode: 'standalone', url: 'redis://cache:6379' }, 'pw')),
      ),
    );
    expect(client.options).toMatchObject({
      connectionName: 'wr-test',
      password: 'pw',
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      autoResubscribe: true,
      lazyConnect: true,
    });
    expect(client.options.enableAutoPipelining).toBe(false);
  });

  it('cluster: sharded subscribers (SSUBSCRIBE routed per node), offline queue, AUTH and TLS', () => {
    // Act
    const client = asCluster(
      made(createSubscriberClient(options({ ...CLUSTER, tls: true, username: 'app' }, 'pw'))),
    );

    // Assess
    expect(client.options).toMatchObject({
      shardedSubscribers: true,
      enableOfflineQueue: true,
      lazyConnect: true,
    });
    expect(client.options.redisOptions).toMatchObject({
      connectionName: 'wr-test',
      username: 'app',
      password: 'pw',
      maxRetriesPerRequest: null,
      tls: {},
    });
    expect(client.options.clusterRetryStrategy?.(1_000)).toBe(4_000);
  });
});

describe('snapshotClusterRetries (the snapshot store rides through a failover)', () => {
  it('retries every 100 ms, with enough tries to last the command timeout', () => {
    // 5,000 ms / 100 ms = 50 tries, two redirections each, plus 16 for moving slots.
    expect(snapshotClusterRetries(5_000)).toEqual({
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      maxRedirections: 116,
    });
    expect(snapshotClusterRetries(30_000).maxRedirections).toBe(616);
  });

  it("without a command timeout, ioredis's 16 tries bound it", () => {
    expect(snapshotClusterRetries(undefined).maxRedirections).toBe(16);
    expect(snapshotClusterRetries(0).maxRedirections).toBe(16);
  });
});
