import { describe, expect, it } from 'vitest';
import { CLUSTER_DISABLED_REASON, redisErrorReason } from '../../src/redis/error-reason.js';

/** ioredis's ClusterAllFailedError shape: its own message, the last node's answer beside it. */
function slotsRefreshFailed(nodeMessage: string): Error {
  return Object.assign(new Error('Failed to refresh slots cache.'), {
    lastNodeError: new Error(nodeMessage),
  });
}

describe('redisErrorReason', () => {
  it('names the setting when cluster seeds point at a Redis without cluster mode', () => {
    expect(
      redisErrorReason(slotsRefreshFailed('ERR This instance has cluster support disabled')),
    ).toBe(CLUSTER_DISABLED_REASON);
    // The node error alone (ioredis's 'node error' event) says the same.
    expect(redisErrorReason(new Error('ERR This instance has cluster support disabled'))).toBe(
      CLUSTER_DISABLED_REASON,
    );
    expect(CLUSTER_DISABLED_REASON).toMatch(/WARMROUTE_REDIS_CLUSTER_NODES.*REDIS_URL/);
  });

  it("adds the last node's answer to a failed slots refresh, and keeps other messages", () => {
    expect(redisErrorReason(slotsRefreshFailed('connect ECONNREFUSED 127.0.0.1:7000'))).toBe(
      'Failed to refresh slots cache. (connect ECONNREFUSED 127.0.0.1:7000)',
    );
    expect(redisErrorReason(new Error('Connection is closed.'))).toBe('Connection is closed.');
    expect(redisErrorReason('plain')).toBe('plain');
  });
});
