import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { CLUSTER_DISABLED_REASON } from '../../src/redis/error-reason.js';
import { inspector, openRedisDirectory } from '../helpers/directory-fixtures.js';
import { startOwnRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * What an operator reads in the logs while Redis fails: each line once, true
 * for a cluster as for one server. Private redis-servers (CLIENT PAUSE and
 * CLIENT KILL would hit other tests on the shared one).
 */

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly err?: { readonly message: string };
  readonly [field: string]: unknown;
}

function capturedLogger(): { logger: pino.Logger; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogLine),
  };
}

async function ownRedis(): Promise<Awaited<ReturnType<typeof startOwnRedis>>> {
  const redis = await startOwnRedis();
  onTestFinished(() => redis.stop());
  return redis;
}

const WARN = 40;
const INFO = 30;

describe('directory logs during a Redis failure', () => {
  it('says a failed call once, per operation, and does not claim the store recovered', async () => {
    // Prepare
    const redis = await ownRedis();
    const log = capturedLogger();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('logs-fail'), {
      l1Max: 0,
      commandTimeoutMs: 200,
      logger: log.logger,
    });
    await dir.resolve('k');
    const admin = await inspector(redis.url);

    // Act: a hung Redis (socket open) fails a rotate by timeout, then answers again.
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    await expect(dir.rotate('k')).rejects.toMatchObject({ code: 'WR_ERR_STORE_UNAVAILABLE' });
    await admin.call('CLIENT', 'UNPAUSE');
    await expect
      .poll(async () => (await dir.resolve('k')).source, { timeout: 10_000 })
      .toBe('store');

    // Assess: the Redis error's text once; the rotate refused, nothing derived for it.
    const failed = log.lines().filter((l) => l.msg.includes('store call failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: WARN,
      op: 'rotate',
      msg: 'directory: store call failed during rotate; rotate refused (503), resolves derive tenants until a store call succeeds',
      err: { message: 'Directory store unavailable: Command timed out' },
    });
    const again = log.lines().filter((l) => l.level === INFO && l.msg.includes('succeed'));
    expect(again).toHaveLength(1);
    expect(again[0]?.msg).toMatch(/^directory: a store call succeeded again/);
    expect(again[0]?.msg).not.toMatch(/store calls succeed/);
  });

  it('logs the epoch prefetch of a namespace once it has read every bucket', async () => {
    const redis = await ownRedis();
    const log = capturedLogger();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('logs-prefetch'), {
      logger: log.logger,
    });
    await dir.epochsLoaded();

    const read = log.lines().filter((l) => l.msg.startsWith('directory: epochs of namespace'));
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({ level: INFO, namespace: 'default', buckets: 1024 });
    expect(read[0]?.msg).toMatch(
      /^directory: epochs of namespace default read \(1024 buckets\) in \d+ ms$/,
    );
  });

  it('logs pub/sub going down and coming back with the L1 resync, once per flap storm', async () => {
    // Prepare
    const redis = await ownRedis();
    const log = capturedLogger();
    const dir = await openRedisDirectory(redis.url, uniquePrefix('logs-pubsub'), {
      logger: log.logger,
    });
    const admin = await inspector(redis.url);
    const pubsubLines = (): LogLine[] => log.lines().filter((l) => l.msg.includes('pub/sub'));

    // A kill that finds no subscriber in pub/sub mode (still re-subscribing after the last one,
    // which a busy CI machine makes likely) kills nothing: kill until one is killed.
    const killSubscriber = (): Promise<void> =>
      expect
        .poll(async () => Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')), {
          timeout: 10_000,
          interval: 20,
        })
        .toBeGreaterThan(0);

    // Act: the subscriber connection is killed; ioredis reconnects and re-subscribes.
    await killSubscriber();
    await expect.poll(() => pubsubLines().length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => dir.health().status, { timeout: 10_000 }).toBe('ok');
    // A storm: killed again and again right after. Each kill is seen through the L1 resync that
    // follows every re-subscription: the degraded spell itself can be shorter than any poll
    // interval (missed under CI load at 50 ms, and again at 2 ms).
    let resyncs = 0;
    const off = dir.onInvalidate((notice) => {
      if (notice.op === 'resync') resyncs++;
    });
    onTestFinished(off);
    for (let i = 0; i < 3; i++) {
      const before = resyncs;
      await killSubscriber();
      await expect.poll(() => resyncs, { timeout: 10_000 }).toBeGreaterThan(before);
      await expect.poll(() => dir.health().status, { timeout: 10_000 }).toBe('ok');
    }

    // Assess: one warning with the reason, one line back naming the resync; the storm adds none.
    const lines = pubsubLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: WARN });
    expect(lines[0]?.msg).toMatch(/^directory: Redis pub\/sub down \(.+\)/);
    expect(typeof lines[0]?.['reason']).toBe('string');
    expect(lines[1]).toMatchObject({ level: INFO });
    expect(lines[1]?.msg).toMatch(/pub\/sub subscribed again; L1 dropped \(resync\)/);
  });

  it('says so when cluster seeds point at a Redis without cluster mode', async () => {
    const redis = await ownRedis();
    const log = capturedLogger();
    const store = new RedisDirectoryStore({
      target: { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: redis.port }], tls: false },
      keyPrefix: uniquePrefix('logs-not-cluster'),
      commandTimeoutMs: 500,
      connectTimeoutMs: 2_000,
      maxReconnectDelayMs: 500,
      idleTtlSeconds: 600,
      clock: Date.now,
      logger: log.logger,
      instanceId: randomBytes(8).toString('hex'),
    });
    onTestFinished(() => store.close());

    await store.start();

    const atStart = log.lines().filter((l) => l.msg.includes('not reachable at start'));
    expect(atStart).toHaveLength(1);
    expect(atStart[0]?.msg).toContain(CLUSTER_DISABLED_REASON);
    expect(store.unavailableReason()).toBe(CLUSTER_DISABLED_REASON);
  });
});
