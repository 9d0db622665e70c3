import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { redisTargetOf } from '../../src/config/redis-target.js';
import { isWarmrouteError } from '../../src/errors.js';
import { configError } from '../helpers/config-error.js';

/**
 * WARMROUTE_REDIS_CLUSTER_NODES in the gateway's config: what the loader
 * accepts and refuses, and the RedisTarget the directory store is built
 * with (src/config/redis-target.ts). The seed syntax itself is
 * test/unit/redis-cluster-seeds.test.ts.
 */

describe('WARMROUTE_REDIS_CLUSTER_NODES', () => {
  it('selects a cluster target; REDIS_URL alone a standalone one; neither, no Redis', () => {
    // Act
    const cluster = loadConfig({
      WARMROUTE_REDIS_CLUSTER_NODES: 'rediss://app@a.internal:6379, rediss://app@b.internal:6380',
      WARMROUTE_REDIS_PASSWORD: 'token-0123456789abcdef',
    });
    const standalone = loadConfig({ REDIS_URL: 'redis://cache.internal:6379' });

    // Assess
    expect(redisTargetOf(cluster)).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'a.internal', port: 6379 },
        { host: 'b.internal', port: 6380 },
      ],
      tls: true,
      username: 'app',
    });
    expect(redisTargetOf(standalone)).toEqual({
      mode: 'standalone',
      url: 'redis://cache.internal:6379',
    });
    expect(redisTargetOf(loadConfig({}))).toBeUndefined();
  });

  it('refuses it together with REDIS_URL, naming both', () => {
    // Act
    const err = configError(() =>
      loadConfig({ REDIS_URL: 'redis://cache:6379', WARMROUTE_REDIS_CLUSTER_NODES: 'a:6379' }),
    );

    // Assess
    expect(err.code).toBe('WR_ERR_CONFIG');
    expect(err.message).toContain(
      'REDIS_URL and WARMROUTE_REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis server or WARMROUTE_REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    );
  });

  it('reports bad seeds with the other problems, never echoing a password', () => {
    // Act
    const err = configError(() =>
      loadConfig({
        WARMROUTE_REDIS_CLUSTER_NODES: 'rediss://app:hunter2-secret@a:6379,b:0',
        PORT: 'x',
      }),
    );

    // Assess: every problem in one report.
    expect(err.message).toContain('PORT="x": must be an integer');
    expect(err.message).toContain('WARMROUTE_REDIS_CLUSTER_NODES: seed 1 must not hold a password');
    expect(err.message).toContain(
      'WARMROUTE_REDIS_CLUSTER_NODES: seed 2 ("b:0") has a port outside 1-65535',
    );
    expect(err.message).not.toContain('hunter2');
  });

  it('a config built by hand (not through loadConfig) gets the same refusals from redisTargetOf', () => {
    const err = configError(() =>
      redisTargetOf({ redisUrl: undefined, redisClusterNodes: 'a:1,,b:2' }),
    );
    expect(err.message).toContain('WARMROUTE_REDIS_CLUSTER_NODES: seed 2 is empty');
    expect(
      configError(() => redisTargetOf({ redisUrl: 'redis://c:6379', redisClusterNodes: 'a:1' }))
        .message,
    ).toContain('both set');
  });

  it('WARMROUTE_REDIS_PASSWORD applies to it: no "needs REDIS_URL" refusal with a cluster', () => {
    // Act / Assess
    expect(() =>
      loadConfig({ WARMROUTE_REDIS_CLUSTER_NODES: 'a:6379', WARMROUTE_REDIS_PASSWORD: 'pw' }),
    ).not.toThrow();
    expect(configError(() => loadConfig({ WARMROUTE_REDIS_PASSWORD: 'pw' })).message).toContain(
      'WARMROUTE_REDIS_PASSWORD needs REDIS_URL or WARMROUTE_REDIS_CLUSTER_NODES',
    );
  });

  it('in production as elsewhere (no TLS rule: see check-config.ts)', () => {
    // Act / Assess: a plain cluster in production loads, as a plain REDIS_URL does.
    const config = loadConfig({
      WARMROUTE_ENV: 'production',
      WARMROUTE_SECRET: 'production-secret-0123456789',
      WARMROUTE_REDIS_CLUSTER_NODES: '10.0.0.1:6379',
    });
    expect(redisTargetOf(config)).toMatchObject({ mode: 'cluster', tls: false });
  });

  it('any value: a config or a WR_ERR_CONFIG report, nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (raw) => {
        try {
          const config = loadConfig({ WARMROUTE_REDIS_CLUSTER_NODES: raw });
          // Accepted (or unset, for ''): then the target resolves without a throw.
          redisTargetOf(config);
        } catch (err) {
          expect(isWarmrouteError(err) && err.code === 'WR_ERR_CONFIG').toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
