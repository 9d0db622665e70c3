import { beforeAll, describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { EPOCH_BUCKETS } from '../../src/directory/epoch-bucket.js';
import { openDirectory } from '../helpers/directory-fixtures.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 15: on a Redis Cluster the directory's records spread over every
 * shard (per-bucket hash tags), instead of one slot holding the whole
 * directory. 100,000 keys resolved through the real directory and store on a
 * local 3-master cluster; the figures are printed for the issue report.
 */

const KEYS = 100_000;
/** Resolves in flight at once (the store auto-pipelines them per node). */
const CONCURRENCY = 256;
/**
 * Far above the production default: six redis-servers and the test share two
 * cores, and a resolve that timed out would be derived without a record. The
 * spread is the subject here, not latency (every resolve must reach the store).
 */
const COMMAND_TIMEOUT_MS = 5_000;
/** The busiest master may hold at most this multiple of the mean. */
const MAX_SKEW = 1.2;
/**
 * About 10 s alone; the default 30 s is not enough when other files (and
 * their redis-servers) share the two cores. A bound, not a measurement.
 */
const TEST_TIMEOUT_MS = 120_000;

/** Run `task(i)` for i in [0, count) with at most `limit` in flight. */
async function forEachConcurrently(
  count: number,
  limit: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

describe('directory on a Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    return () => cluster.stop();
  });

  it(
    `spreads ${String(KEYS)} resolved keys over all three masters, the busiest within ${String(MAX_SKEW)}x the mean`,
    async () => {
      // Prepare
      const prefix = uniquePrefix('cluster-spread');
      const { directory, store } = await openDirectory(
        { mode: 'cluster', nodes: cluster.seeds, tls: false },
        prefix,
        { commandTimeoutMs: COMMAND_TIMEOUT_MS },
      );

      // Act
      const sources = { l1: 0, store: 0, derived: 0 };
      await cluster.resetStats();
      const started = Date.now();
      await forEachConcurrently(KEYS, CONCURRENCY, async (i) => {
        const { source } = await directory.resolve(`user-${String(i)}`);
        sources[source]++;
      });
      const elapsedMs = Date.now() - started;
      const commands = await cluster.commandStats();

      // Assess: every key has its record, each on the master serving its bucket's slot.
      const records = await cluster.countKeysPerMaster(
        store.keys.recordPattern(defaults.namespace),
      );
      const all = await cluster.countKeysPerMaster();
      const total = records.reduce((sum, c) => sum + c.keys, 0);
      const stored = all.reduce((sum, c) => sum + c.keys, 0);
      const mean = total / records.length;
      const busiest = Math.max(...records.map((c) => c.keys));
      console.log(
        [
          `cluster spread: ${String(KEYS)} keys resolved in ${String(elapsedMs)} ms (concurrency ${String(CONCURRENCY)})`,
          ...records.map(
            (c) =>
              `  master :${String(c.port)}  records ${String(c.keys)}  (${((100 * c.keys) / total).toFixed(1)} %)  dbsize ${String(all.find((a) => a.port === c.port)?.keys)}`,
          ),
          `  busiest / mean = ${(busiest / mean).toFixed(3)}; resolutions by source ${JSON.stringify(sources)}`,
          `  keys besides records: ${String(stored - total)}; commands on the masters meanwhile: ${JSON.stringify(commands)}`,
        ].join('\n'),
      );
      expect(sources).toEqual({ l1: 0, store: KEYS, derived: 0 });
      expect(records).toHaveLength(3);
      expect(total).toBe(KEYS);
      expect(records.every((c) => c.keys > 0)).toBe(true);
      expect(busiest / mean).toBeLessThanOrEqual(MAX_SKEW);
      // Nothing else is stored but one epoch per (namespace, bucket): no key is the directory's hot spot.
      expect(stored - total).toBe(EPOCH_BUCKETS);
    },
    TEST_TIMEOUT_MS,
  );
});
