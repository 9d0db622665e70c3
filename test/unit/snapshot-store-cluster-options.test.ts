import { describe, expect, it } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import { optionsRefusal, stubEnvForTest } from '../helpers/warm-state-options.js';

/**
 * Where RedisSnapshotStore connects when a cluster is named (`clusterNodes`,
 * `WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES`): the choices are made, and bad
 * ones refused, when the store is made (nothing connects: the client is
 * created at first use). The cluster itself is exercised by the
 * snapshot-store contract suite (test/contract/snapshot-store.test.ts).
 */

const URL_ENV = FUNCTION_ENVIRONMENT.snapshotRedisUrl.env;
const NODES_ENV = FUNCTION_ENVIRONMENT.snapshotRedisClusterNodes.env;

describe('RedisSnapshotStore cluster options', () => {
  it('refuses url and clusterNodes together', () => {
    expect(
      optionsRefusal(
        () => new RedisSnapshotStore({ url: 'redis://c:6379', clusterNodes: 'a:6379' }),
      ).message,
    ).toContain('url and clusterNodes are both given');
  });

  it('refuses both variables set, naming both', () => {
    // Prepare
    stubEnvForTest({ [URL_ENV]: 'redis://c:6379', [NODES_ENV]: 'a:6379' });

    // Act / Assess
    const message = optionsRefusal(() => new RedisSnapshotStore()).message;
    expect(message).toContain(URL_ENV);
    expect(message).toContain(NODES_ENV);
  });

  it('an explicit url or clusterNodes wins over the variables', () => {
    // Prepare: both variables set (refused on their own).
    stubEnvForTest({ [URL_ENV]: 'redis://c:6379', [NODES_ENV]: 'a:6379' });

    // Act / Assess
    expect(() => new RedisSnapshotStore({ url: 'redis://d:6379' })).not.toThrow();
    expect(() => new RedisSnapshotStore({ clusterNodes: 'b:6379' })).not.toThrow();
  });

  it.each([
    [
      'the option',
      (): unknown => new RedisSnapshotStore({ clusterNodes: 'rediss://u:hunter2@a:1,b' }),
    ],
    [
      'the variable',
      (): unknown => {
        stubEnvForTest({ [NODES_ENV]: 'rediss://u:hunter2@a:1,b' });
        return new RedisSnapshotStore();
      },
    ],
  ])('refuses bad seeds from %s, every problem named, no password echoed', (_, make) => {
    // Act
    const message = optionsRefusal(make).message;

    // Assess
    expect(message).toContain(`clusterNodes (${NODES_ENV}): seed 1 must not hold a password`);
    expect(message).toContain('seed 2 ("b") must end in :port');
    expect(message).not.toContain('hunter2');
  });
});
