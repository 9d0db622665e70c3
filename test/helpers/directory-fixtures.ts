import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { KeyDirectory } from '../../src/directory/directory.js';
import type { DirectoryOptions, InvalidationNotice } from '../../src/directory/types.js';

export const TEST_SECRET = 'integration-test-secret-0123456789';

/** A started directory on Redis at `url` under `keyPrefix`, closed when the test ends. */
export async function openRedisDirectory(
  url: string,
  keyPrefix: string,
  extra: Partial<DirectoryOptions> = {},
): Promise<KeyDirectory> {
  const directory = new KeyDirectory({
    secret: TEST_SECRET,
    redis: { url, keyPrefix, commandTimeoutMs: 200, connectTimeoutMs: 2_000 },
    statsFlushIntervalMs: 60_000,
    ...extra,
  });
  onTestFinished(() => directory.close());
  await directory.start();
  return directory;
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
