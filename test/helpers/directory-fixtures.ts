import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { onTestFinished } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { RedisDirectoryStore, type RedisStoreOptions } from '../../src/directory/redis-store.js';
import type { InvalidationNotice } from '../../src/directory/types.js';
import type { RedisTarget } from '../../src/redis/target.js';
import type { RedisCluster } from './redis-cluster.js';

export const TEST_SECRET = 'integration-test-secret-0123456789';

/** What a test may change of the directory and store `openRedisDirectory` builds. */
export interface RedisDirectoryOverrides {
  readonly l1Max?: number;
  readonly l1TtlMs?: number;
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Where the store and directory log (default: silent). */
  readonly logger?: Logger;
}

/**
 * Options of a RedisDirectoryStore for a test: the config's defaults
 * (timeouts, idle TTL), the real clock, a silent logger and a fresh instance
 * ID, except what `options` sets.
 */
export function testStoreOptions(
  options: Pick<RedisStoreOptions, 'target' | 'keyPrefix'> & Partial<RedisStoreOptions>,
): RedisStoreOptions {
  return {
    commandTimeoutMs: defaults.redisCommandTimeoutMs,
    connectTimeoutMs: defaults.redisConnectTimeoutMs,
    maxReconnectDelayMs: defaults.redisMaxReconnectDelayMs,
    idleTtlSeconds: defaults.keyIdleTtlSeconds,
    clock: Date.now,
    logger: pino({ level: 'silent' }),
    instanceId: randomBytes(8).toString('hex'),
    ...options,
  };
}

/** A store on `cluster` under `keyPrefix` (see testStoreOptions), closed when the test ends; not started. */
export function openClusterStore(
  cluster: RedisCluster,
  keyPrefix: string,
  options: Partial<RedisStoreOptions> = {},
): RedisDirectoryStore {
  const store = new RedisDirectoryStore(
    testStoreOptions({
      target: { mode: 'cluster', nodes: cluster.seeds, tls: false },
      keyPrefix,
      ...options,
    }),
  );
  onTestFinished(() => store.close());
  return store;
}

/** A store on the standalone server at `url` under `keyPrefix` (see testStoreOptions), closed when the test ends; not started. */
export function openStandaloneStore(
  url: string,
  keyPrefix: string,
  options: Partial<RedisStoreOptions> = {},
): RedisDirectoryStore {
  const store = new RedisDirectoryStore(
    testStoreOptions({ target: { mode: 'standalone', url }, keyPrefix, ...options }),
  );
  onTestFinished(() => store.close());
  return store;
}

/**
 * A started directory on Redis at `target` under `keyPrefix`, closed when
 * the test ends: the config's defaults, except outcomes written behind only
 * on flush() or close() (no timer flush in the middle of a test).
 */
export async function openDirectory(
  target: RedisTarget,
  keyPrefix: string,
  overrides: RedisDirectoryOverrides = {},
): Promise<{ directory: KeyDirectory; store: RedisDirectoryStore }> {
  const logger = overrides.logger ?? pino({ level: 'silent' });
  const clock = Date.now;
  const store = new RedisDirectoryStore(
    testStoreOptions({
      target,
      keyPrefix,
      commandTimeoutMs: overrides.commandTimeoutMs ?? defaults.redisCommandTimeoutMs,
      connectTimeoutMs: overrides.connectTimeoutMs ?? defaults.redisConnectTimeoutMs,
      clock,
      logger,
    }),
  );
  const directory = new KeyDirectory({
    secret: TEST_SECRET,
    store,
    tenantPrefix: defaults.tenantPrefix,
    namespace: defaults.namespace,
    l1: { max: overrides.l1Max ?? defaults.l1Max, ttlMs: overrides.l1TtlMs ?? defaults.l1TtlMs },
    statsFlushIntervalMs: 60_000,
    logger,
    clock,
  });
  onTestFinished(() => directory.close());
  await directory.start();
  return { directory, store };
}

/** {@link openDirectory} on the standalone server at `url`. */
export async function openRedisDirectory(
  url: string,
  keyPrefix: string,
  overrides: RedisDirectoryOverrides = {},
): Promise<KeyDirectory> {
  return (await openDirectory({ mode: 'standalone', url }, keyPrefix, overrides)).directory;
}

/** A plain client for inspecting the server, closed when the test ends. */
export async function inspector(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  onTestFinished(() => {
    redis.disconnect();
  });
  await redis.connect();
  return redis;
}

/** Resolves with the next invalidation matching `predicate` (bounded wait: rejects after `timeoutMs`). */
export function nextInvalidation(
  directory: KeyDirectory,
  predicate: (notice: InvalidationNotice) => boolean,
  timeoutMs = 5_000,
): Promise<InvalidationNotice> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no matching invalidation arrived'));
    }, timeoutMs);
    const off = directory.onInvalidate((notice) => {
      if (!predicate(notice)) return;
      clearTimeout(timer);
      off();
      resolve(notice);
    });
  });
}

/** Counts of one INFO section's `name:count=N,...` lines, e.g. errorstats or commandstats. */
export async function infoCounts(
  redis: Redis,
  section: 'errorstats' | 'commandstats',
): Promise<Map<string, number>> {
  const info = await redis.info(section);
  const counts = new Map<string, number>();
  for (const line of info.split('\r\n')) {
    const match = /^(\w+):(?:count|calls)=(\d+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) counts.set(match[1], Number(match[2]));
  }
  return counts;
}
