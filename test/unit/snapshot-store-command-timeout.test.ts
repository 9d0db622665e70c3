import { describe, expect, it } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import {
  REDIS_SNAPSHOT_CLIENT_DEFAULTS,
  RedisSnapshotStore,
  snapshotClusterRetries,
  snapshotRedisOptions,
} from '../../lambda/stores/redis-snapshot-store.js';
import { optionsRefusal, stubEnvForTest } from '../helpers/warm-state-options.js';

/**
 * WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS: a function's bound on each
 * snapshot operation (and so on how long a cluster failover is ridden
 * through) set without code. Used when `redisOptions.commandTimeout` is not
 * given; a bad value is refused when the store is made, not at the first
 * invocation. That the bound reaches the client and rides an election is
 * shown by test/integration/cluster-failover.test.ts (its functions set it
 * to 15000 through test/helpers/cluster-functions/functions.json).
 */

const TIMEOUT_ENV = FUNCTION_ENVIRONMENT.snapshotRedisCommandTimeoutMs.env;
const URL_ENV = FUNCTION_ENVIRONMENT.snapshotRedisUrl.env;

describe('WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS', () => {
  it('unset or empty: the options are unchanged, so the 5000 ms default applies', () => {
    // Prepare
    stubEnvForTest({ [TIMEOUT_ENV]: '' });

    // Act
    const options = snapshotRedisOptions({ connectTimeout: 1000 });

    // Assess
    expect(options).toEqual({ connectTimeout: 1000 });
    expect(snapshotRedisOptions()).toEqual({});
    expect(REDIS_SNAPSHOT_CLIENT_DEFAULTS.commandTimeout).toBe(5000);
  });

  it('set: becomes the command timeout, and the cluster retries last that long', () => {
    // Prepare
    stubEnvForTest({ [TIMEOUT_ENV]: '15000' });

    // Act
    const options = snapshotRedisOptions({ connectTimeout: 1000 });

    // Assess
    expect(options).toEqual({ connectTimeout: 1000, commandTimeout: 15_000 });
    // 150 tries 100 ms apart, two redirections each at most, plus 16 spare.
    expect(snapshotClusterRetries(options.commandTimeout).maxRedirections).toBe(316);
  });

  it('redisOptions.commandTimeout wins over the variable', () => {
    // Prepare
    stubEnvForTest({ [TIMEOUT_ENV]: '15000' });

    // Act / Assess
    expect(snapshotRedisOptions({ commandTimeout: 300 })).toEqual({ commandTimeout: 300 });
  });

  it('is read by the store the default path makes (no options)', () => {
    // Prepare: the default store's environment, with a bad timeout.
    stubEnvForTest({ [URL_ENV]: 'redis://127.0.0.1:6379', [TIMEOUT_ENV]: 'soon' });

    // Act / Assess: refused when made, naming the variable.
    expect(optionsRefusal(() => new RedisSnapshotStore()).message).toContain(TIMEOUT_ENV);
  });

  it.each(['0', '-1', '1.5', '15s', ' 100', '1e4', '0x10', '2147483648', 'x'.repeat(500)])(
    'refuses %j when the store is made, quoting at most 100 characters',
    (value) => {
      // Prepare
      stubEnvForTest({ [TIMEOUT_ENV]: value });

      // Act
      const message = optionsRefusal(
        () => new RedisSnapshotStore({ url: 'redis://127.0.0.1:6379' }),
      ).message;

      // Assess
      expect(message).toContain(
        `${TIMEOUT_ENV} must be a positive integer of milliseconds up to 2147483647`,
      );
      expect(message).toContain(JSON.stringify(value.slice(0, 100)));
      expect(message).not.toContain('x'.repeat(101));
    },
  );

  it('refuses a bad value even when redisOptions.commandTimeout wins (never silently ignored)', () => {
    // Prepare
    stubEnvForTest({ [TIMEOUT_ENV]: '-5' });

    // Act / Assess
    expect(
      optionsRefusal(() => new RedisSnapshotStore({ redisOptions: { commandTimeout: 300 } }))
        .message,
    ).toContain(TIMEOUT_ENV);
  });

  it('accepts the largest delay a timer takes', () => {
    // Prepare
    stubEnvForTest({ [TIMEOUT_ENV]: '2147483647' });

    // Act / Assess
    expect(snapshotRedisOptions().commandTimeout).toBe(2_147_483_647);
  });
});
