import { describe, expect, it, onTestFinished } from 'vitest';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import { SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The URL scheme is case-insensitive, but ioredis turns TLS on only for a
 * URL starting with lower-case `rediss://`. A store given `REDISS://` (and
 * no separate password, so the URL is passed on as written) must still
 * speak TLS: against the shared plain-TCP Redis the handshake fails, where
 * a plain connection would read the snapshot's version (0).
 */
describe('RedisSnapshotStore URL scheme', () => {
  it('an upper-case REDISS:// URL connects with TLS, never plain TCP', async () => {
    // Prepare
    const plain = new URL(SHARED_REDIS_URL);
    const store = new RedisSnapshotStore({
      url: `REDISS://${plain.host}`,
      keyPrefix: uniquePrefix('tls-scheme'),
      redisOptions: { connectTimeout: 1_000 },
    });
    onTestFinished(() => store.close());

    // Act
    const outcome = await store
      .readVersion({ functionName: 'f', namespace: 'n', epoch: 'e', generation: 1, key: 'k' })
      .then(
        (version) => `read version ${String(version)}`,
        () => 'failed',
      );

    // Assess
    expect(outcome).toBe('failed');
  });
});
