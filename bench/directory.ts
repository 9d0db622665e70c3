import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { directorySettingsOf } from '../src/create-dependencies.js';
import { KeyDirectory } from '../src/directory/directory.js';
import { RedisDirectoryStore } from '../src/directory/redis-store.js';
import { formatCount, type SectionInfo } from './lib/bench-cli.js';
import { startProgress } from './lib/progress.js';

/**
 * Directory benchmark: resolve throughput from L1, from Redis (cold keys, and
 * with L1 disabled), and Redis round trips per resolve, counted by the server
 * itself (`INFO commandstats` before/after each phase). Runs on the shared
 * Redis under a unique prefix, deleted at the end. Other clients of the shared
 * server show up in the total command delta, so the script-call delta
 * (EVAL + EVALSHA) and the directory's own store-call counter are reported too.
 */

const REDIS_URL = process.env['WARMROUTE_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-secret-0123456789abcdef';
const CONCURRENCY = 64;

type Phase = 'l1-hit' | 'store-miss-cold' | 'store-no-l1';

/** Keys created in the warm-up; resolves per L1-hit phase and per store phase; interleaved rounds. */
export const SIZES = {
  quick: { warmKeys: 1_000, hits: 100_000, misses: 3_000, rounds: 1 },
  full: { warmKeys: 10_000, hits: 1_000_000, misses: 30_000, rounds: 3 },
} as const;
const PHASES = 3;

const sizeOf = (s: (typeof SIZES)['quick' | 'full']): string =>
  `${formatCount(s.warmKeys)} warm keys; ${s.rounds} round${s.rounds > 1 ? 's' : ''} × (${formatCount(s.hits)} L1 hits + 2 × ${formatCount(s.misses)} store resolves)`;

export const info: SectionInfo = {
  size: { quick: sizeOf(SIZES.quick), full: sizeOf(SIZES.full) },
  duration: { quick: '~10 s', full: '~1–2 min' },
  env: { WARMROUTE_BENCH_REDIS_URL: 'the Redis to measure (default redis://127.0.0.1:6379)' },
};

interface PhaseFigures {
  resolves: number;
  seconds: number;
  opsPerSecond: number;
  /**
   * Top-level commands the server received during the phase, per resolve: every
   * command counted by commandstats except our INFO calls and the commands Lua
   * scripts run inside (commandstats counts those too). An upper bound on our
   * round trips: other clients of the shared server add to it.
   */
  roundTripsPerResolve: number;
  /** EVAL + EVALSHA calls during the phase, per resolve. */
  scriptCallsPerResolve: number;
  /** Every command executed, including those inside Lua scripts, per resolve. */
  commandsInclLuaPerResolve: number;
  /** The directory's own count of store calls, per resolve. */
  storeLookupsPerResolve: number;
}

async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of info.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) calls.set(match[1], Number(match[2]));
  }
  return calls;
}

/** Commands the directory's Lua scripts call inside EVAL/EVALSHA (see src/redis/lua). */
const IN_SCRIPT = [
  // The epoch key (read by every key script, created by ensure-epoch).
  'get',
  'set',
  'hlen',
  'hsetnx',
  'expire',
  'hmget',
  'hget',
  'hset',
  'hincrby',
  'publish',
  'spublish',
  'del',
  'hdel',
  'hgetall',
  'ttl',
];

function delta(
  before: Map<string, number>,
  after: Map<string, number>,
  filter: (name: string) => boolean = () => true,
): number {
  let total = 0;
  for (const [name, count] of after) {
    if (name === 'info' || !filter(name)) continue;
    total += count - (before.get(name) ?? 0);
  }
  return total;
}

const RESOLVE_OPTIONS = { functionName: 'bench-fn' } as const;

/** `count` resolves of `keyAt(i)` by CONCURRENCY workers. */
async function drive(
  directory: KeyDirectory,
  count: number,
  keyAt: (i: number) => string,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      // Named as the gateway names it: versions are per function, so each
      // function's first resolve of a key reads the store.
      await directory.resolve(keyAt(i), RESOLVE_OPTIONS);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function measure(
  admin: Redis,
  directory: KeyDirectory,
  count: number,
  keyAt: (i: number) => string,
): Promise<PhaseFigures> {
  const lookupsBefore = directory.counters().storeLookups;
  const before = await commandCalls(admin);
  const started = performance.now();
  await drive(directory, count, keyAt);
  const seconds = (performance.now() - started) / 1000;
  const after = await commandCalls(admin);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    resolves: count,
    seconds: round(seconds),
    opsPerSecond: Math.round(count / seconds),
    roundTripsPerResolve: round(delta(before, after, (n) => !IN_SCRIPT.includes(n)) / count),
    scriptCallsPerResolve: round(
      delta(before, after, (n) => n === 'evalsha' || n === 'eval') / count,
    ),
    commandsInclLuaPerResolve: round(delta(before, after) / count),
    storeLookupsPerResolve: round((directory.counters().storeLookups - lookupsBefore) / count),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function deletePrefix(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const sizes = opts.quick ? SIZES.quick : SIZES.full;
  const prefix = `wrbench:dir:${randomBytes(4).toString('hex')}:`;
  const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  const config = loadConfig({});
  const logger = pino({ level: 'silent' });
  const clock = Date.now;
  // Each directory gets its own store (a directory starts and closes the one it is given).
  const redisStore = (): RedisDirectoryStore =>
    new RedisDirectoryStore({
      target: { mode: 'standalone', url: REDIS_URL },
      keyPrefix: prefix,
      commandTimeoutMs: 2_000,
      connectTimeoutMs: config.redisConnectTimeoutMs,
      maxReconnectDelayMs: config.redisMaxReconnectDelayMs,
      idleTtlSeconds: config.keyIdleTtlSeconds,
      clock,
      logger,
      instanceId: randomBytes(8).toString('hex'),
    });
  const common = {
    ...directorySettingsOf(config),
    secret: SECRET,
    // Outcomes are not part of this benchmark; keep the flush timer out of the counts.
    statsFlushIntervalMs: 3_600_000,
    logger,
    clock,
  };
  const withL1 = new KeyDirectory({
    ...common,
    store: redisStore(),
    l1: {
      // Room for every cold key too: a warm key evicted by them would turn a hit into a miss.
      max: sizes.warmKeys + sizes.misses * sizes.rounds + 1_000,
      ttlMs: 3_600_000,
    },
  });
  const noL1 = new KeyDirectory({
    ...common,
    store: redisStore(),
    l1: { max: 0, ttlMs: config.l1TtlMs },
  });
  // Phases, not resolves: an L1 hit costs a hundredth of a store resolve.
  const progress = startProgress('directory', 1 + sizes.rounds * PHASES, 'phases');
  try {
    await withL1.start();
    await noL1.start();
    const warmKey = (i: number): string => `warm-${i % sizes.warmKeys}`;
    // Warm-up: create the mappings, fill L1, load the scripts on both connections.
    progress.phase('warm-up');
    await drive(withL1, sizes.warmKeys, warmKey);
    await drive(noL1, 100, warmKey);
    progress.tick();

    const runs: Record<Phase, PhaseFigures[]> = {
      'l1-hit': [],
      'store-miss-cold': [],
      'store-no-l1': [],
    };
    for (let round = 0; round < sizes.rounds; round++) {
      const where = `round ${round + 1}/${sizes.rounds}`;
      // Interleaved, so the ratios compare phases under the same machine load.
      progress.phase(`${where}: L1 hits`);
      runs['l1-hit'].push(await measure(admin, withL1, sizes.hits, warmKey));
      progress.tick();
      progress.phase(`${where}: new keys (store)`);
      runs['store-miss-cold'].push(
        await measure(admin, withL1, sizes.misses, (i) => `cold-${round}-${i}`),
      );
      progress.tick();
      progress.phase(`${where}: L1 off (store)`);
      runs['store-no-l1'].push(await measure(admin, noL1, sizes.misses, warmKey));
      progress.tick();
    }
    progress.done();

    const summary = Object.fromEntries(
      (Object.keys(runs) as Phase[]).map((phase) => {
        const list = runs[phase];
        return [
          phase,
          {
            opsPerSecond: median(list.map((r) => r.opsPerSecond)),
            roundTripsPerResolve: median(list.map((r) => r.roundTripsPerResolve)),
            scriptCallsPerResolve: median(list.map((r) => r.scriptCallsPerResolve)),
            commandsInclLuaPerResolve: median(list.map((r) => r.commandsInclLuaPerResolve)),
            storeLookupsPerResolve: median(list.map((r) => r.storeLookupsPerResolve)),
            runs: list,
          },
        ];
      }),
    ) as Record<Phase, PhaseFigures & { runs: PhaseFigures[] }>;

    const l1VsStore =
      summary['l1-hit'].opsPerSecond / Math.max(1, summary['store-no-l1'].opsPerSecond);
    console.log(
      `directory resolve (concurrency ${CONCURRENCY}, Redis ${REDIS_URL}, median of ${sizes.rounds})`,
    );
    console.table(
      Object.fromEntries(
        (Object.keys(summary) as Phase[]).map((phase) => [
          phase,
          {
            'resolves/s': summary[phase].opsPerSecond,
            'round trips/resolve': summary[phase].roundTripsPerResolve,
            'EVAL(SHA)/resolve': summary[phase].scriptCallsPerResolve,
            'cmds incl. Lua/resolve': summary[phase].commandsInclLuaPerResolve,
            'store calls/resolve': summary[phase].storeLookupsPerResolve,
          },
        ]),
      ),
    );
    console.log(`L1 hit vs Redis lookup throughput: ${l1VsStore.toFixed(1)}x`);
    return {
      concurrency: CONCURRENCY,
      ...summary,
      l1HitVsStoreThroughputRatio: Math.round(l1VsStore * 10) / 10,
      roundTripsPerL1Hit: summary['l1-hit'].roundTripsPerResolve,
      roundTripsPerMiss: summary['store-miss-cold'].roundTripsPerResolve,
    };
  } finally {
    progress.done();
    await withL1.close();
    await noL1.close();
    await deletePrefix(admin, prefix);
    admin.disconnect();
  }
}
