import { join } from 'node:path';
import { Pool } from 'undici';
import { distDir } from '../src/paths.js';
import { EPOCH_PREFETCH_RETRY_MS } from '../src/directory/directory.js';
import { formatCount, type SectionInfo } from './lib/bench-cli.js';
import { readCpuSeconds, startChildServer, type ChildServer } from './lib/child-server.js';
import { roundTrips, statsDelta } from './lib/command-stats.js';
import { fmt, percentiles, printTable, runClosedLoop } from './lib/load.js';
import { startProgress, type Progress } from './lib/progress.js';
import { startRedisCluster } from './lib/redis-cluster.js';
import { startRedisServer } from './lib/redis-server.js';

/**
 * The gateway on a Redis Cluster against the same gateway on one Redis
 * server (issue 15), side by side in one run: a private standalone
 * redis-server and a private 3-master + 3-replica cluster on loopback, each
 * behind a gateway of its own, on two paths:
 *   - warm: the L1-hit path (a fixed set of keys, all learnt in the warm-up,
 *     L1 entries live for 10 minutes), where a request should cost 0 Redis
 *     round trips;
 *   - L1 miss: every request a key never seen before (unbound), so the
 *     gateway resolves it in Redis and creates its record: 1 round trip.
 *     Fresh keys rather than a second gateway with L1 disabled: each gateway
 *     spends seconds starting, and quick mode must stay short.
 * Both in front of the stub Invoke endpoint (no function, no host: the
 * gateway and Redis are the only work). Rounds alternate standalone and
 * cluster (the order flips every round), so the cluster/standalone ratios are
 * taken between neighbours in time. Gateway and Redis CPU per request come
 * from /proc (Redis: summed over the cluster's six processes, replication
 * included); round trips from INFO commandstats deltas, summed over the
 * masters.
 */

const CONCURRENCY = 32;
const SECRET = 'bench-secret-0123456789abcdef';
const NAMESPACE = 'benchcluster';
const BODY = Buffer.from('{"op":"bench"}');

/** Interleaved rounds; requests per round, path and Redis; warm keys per client (× 32 clients). */
export const SIZES = {
  quick: { rounds: 3, perRound: 600, keysPerWorker: 8 },
  full: { rounds: 7, perRound: 6_000, keysPerWorker: 32 },
} as const;
const KINDS = 2;
const PATHS = 2;
const WARM_UP_PASSES = 2;

const sizeOf = (s: (typeof SIZES)['quick' | 'full']): string =>
  `${s.rounds} rounds × ${formatCount(s.perRound)} requests per path (L1 hit, L1 miss) and Redis (standalone, cluster); ${formatCount(CONCURRENCY * s.keysPerWorker)} warm keys`;

export const info: SectionInfo = {
  size: { quick: sizeOf(SIZES.quick), full: sizeOf(SIZES.full) },
  duration: { quick: '~30–60 s', full: '~2–4 min' },
};

type Kind = 'standalone' | 'cluster';
type Path = 'warm' | 'miss';

interface RedisUnderTest {
  readonly kind: Kind;
  /** What the gateway is given; the other setting is blanked (an empty value counts as unset). */
  readonly env: Record<string, string>;
  readonly pids: readonly number[];
  commandStats(): Promise<Record<string, number>>;
}

interface Variant {
  readonly kind: Kind;
  readonly path: Path;
  readonly redis: RedisUnderTest;
  readonly gateway: ChildServer;
  readonly call: (worker: number) => Promise<void>;
}

interface Round {
  readonly throughput: number;
  readonly latenciesMs: number[];
  readonly errors: number;
  readonly gatewayCpuMsPerRequest: number;
  readonly redisCpuMsPerRequest: number | undefined;
  /** Commandstats delta, every command (in-script ones included). */
  readonly commands: Record<string, number>;
  readonly requests: number;
}

/** One request for `key`. */
async function send(pool: Pool, key: string): Promise<void> {
  const res = await pool.request({
    method: 'POST',
    path: '/v1/functions/counter/invoke',
    headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
    body: BODY,
  });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(`status ${String(res.statusCode)}`);
}

const warmKey = (worker: number, index: number): string =>
  `bench-key-${String(worker)}-${String(index)}`;

/** Worker w sends only its own keys, in turn: no two requests for one key at once. */
function warmCalls(pool: Pool, keysPerWorker: number): (worker: number) => Promise<void> {
  const sent = new Array<number>(CONCURRENCY).fill(0);
  return (worker) => {
    const n = sent[worker] ?? 0;
    sent[worker] = n + 1;
    return send(pool, warmKey(worker, n % keysPerWorker));
  };
}

/** A key this gateway has never seen, every call. */
function freshCalls(pool: Pool): (worker: number) => Promise<void> {
  let sent = 0;
  return () => send(pool, `bench-fresh-${String(sent++)}`);
}

function cpuSecondsOf(pids: readonly number[]): number | undefined {
  try {
    return pids.reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
  } catch {
    return undefined; // a process went away: leave the figure out rather than guess
  }
}

async function measure(variant: Variant, requests: number, progress: Progress): Promise<Round> {
  const statsBefore = await variant.redis.commandStats();
  const gatewayBefore = variant.gateway.cpuSeconds();
  const redisBefore = cpuSecondsOf(variant.redis.pids);
  const load = await runClosedLoop(CONCURRENCY, requests, (w) => variant.call(w));
  const gatewayAfter = variant.gateway.cpuSeconds();
  const redisAfter = cpuSecondsOf(variant.redis.pids);
  const statsAfter = await variant.redis.commandStats();
  progress.tick(requests);
  if (load.errors > 0) console.error(`  ${variant.kind} ${variant.path}: ${load.errors} errors`);
  return {
    throughput: load.throughput,
    latenciesMs: load.latenciesMs,
    errors: load.errors,
    gatewayCpuMsPerRequest: ((gatewayAfter - gatewayBefore) * 1000) / requests,
    redisCpuMsPerRequest:
      redisBefore === undefined || redisAfter === undefined
        ? undefined
        : ((redisAfter - redisBefore) * 1000) / requests,
    commands: statsDelta(statsBefore, statsAfter),
    requests,
  };
}

/** min / median / max (the median of an even count is the mean of the middle two). */
function spread(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = Number.isInteger(mid)
    ? ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
    : (sorted[Math.floor(mid)] ?? NaN);
  return { min: sorted[0] ?? NaN, median, max: sorted[sorted.length - 1] ?? NaN };
}

function summarise(rounds: readonly Round[]) {
  const requests = rounds.reduce((s, r) => s + r.requests, 0);
  const commands: Record<string, number> = {};
  for (const r of rounds) {
    for (const [name, n] of Object.entries(r.commands)) commands[name] = (commands[name] ?? 0) + n;
  }
  const redisCpu = rounds
    .map((r) => r.redisCpuMsPerRequest)
    .filter((v): v is number => v !== undefined);
  return {
    throughput: spread(rounds.map((r) => r.throughput)),
    latencyMs: percentiles(rounds.flatMap((r) => r.latenciesMs)),
    gatewayCpuMsPerRequest: spread(rounds.map((r) => r.gatewayCpuMsPerRequest)),
    redisCpuMsPerRequest: redisCpu.length === 0 ? undefined : spread(redisCpu),
    roundTripsPerRequest: roundTrips(commands) / requests,
    scriptCallsPerRequest: ((commands['evalsha'] ?? 0) + (commands['eval'] ?? 0)) / requests,
    commands,
    requests,
    errors: rounds.reduce((s, r) => s + r.errors, 0),
  };
}

type Summary = ReturnType<typeof summarise>;

const range = (s: { min: number; median: number; max: number }, digits: number, scale = 1) =>
  `${fmt(s.median * scale, digits)} (${fmt(s.min * scale, digits)}–${fmt(s.max * scale, digits)})`;

function row(kind: Kind, path: Path, s: Summary): Record<string, string | number> {
  return {
    path: path === 'warm' ? 'L1 hit' : 'L1 miss (new keys)',
    redis: kind === 'cluster' ? 'cluster 3+3' : 'standalone',
    'req/s median (min–max)': range(s.throughput, 0),
    'p50 ms': fmt(s.latencyMs.p50, 2),
    'p99 ms': fmt(s.latencyMs.p99, 2),
    'gateway CPU µs/req': range(s.gatewayCpuMsPerRequest, 0, 1000),
    'Redis CPU µs/req':
      s.redisCpuMsPerRequest === undefined ? '-' : range(s.redisCpuMsPerRequest, 0, 1000),
    'round trips/req': fmt(s.roundTripsPerRequest, 3),
    errors: s.errors,
  };
}

/** Resolves once `redis` ran no command for QUIET_MS (at most QUIET_LIMIT_MS). */
async function untilQuiet(redis: {
  commandStats(): Promise<Record<string, number>>;
}): Promise<void> {
  const total = async (): Promise<number> => roundTrips(statsDelta({}, await redis.commandStats()));
  const deadline = Date.now() + QUIET_LIMIT_MS;
  let last = await total();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const now = await total();
    if (now === last) return;
    last = now;
  }
}

const QUIET_MS = 500;
const QUIET_LIMIT_MS = 30_000;

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  // 256 keys in quick mode, 1,024 in full: spread over many buckets, hence every master.
  const { rounds, perRound, keysPerWorker } = opts.quick ? SIZES.quick : SIZES.full;
  const keyCount = CONCURRENCY * keysPerWorker;

  const cleanups: (() => Promise<void>)[] = [];
  const progress = startProgress(
    'cluster',
    KINDS * WARM_UP_PASSES * keyCount + rounds * PATHS * KINDS * perRound,
    'requests',
  );
  try {
    progress.phase('starting Redis (standalone, and a 3+3 cluster)');
    const stub = await startChildServer(join(distDir, 'bench/servers/stub-lambda-server.js'));
    cleanups.push(() => stub.stop());
    const standalone = await startRedisServer();
    cleanups.push(() => standalone.stop());
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    cleanups.push(() => cluster.stop());

    const clusterPids = cluster.nodes
      .map((n) => n.pid)
      .filter((pid): pid is number => pid !== undefined);
    const targets: readonly RedisUnderTest[] = [
      {
        kind: 'standalone',
        env: { REDIS_URL: standalone.url, WARMROUTE_REDIS_CLUSTER_NODES: '' },
        pids: [standalone.pid],
        commandStats: () => standalone.commandStats(),
      },
      {
        kind: 'cluster',
        env: {
          REDIS_URL: '',
          WARMROUTE_REDIS_CLUSTER_NODES: cluster.seeds
            .map((s) => `${s.host}:${String(s.port)}`)
            .join(','),
        },
        pids: clusterPids,
        commandStats: () => cluster.commandStats(),
      },
    ];

    progress.phase('starting the gateways');
    // Started together (each spends seconds loading), each stop registered as soon as it has
    // started, so a gateway that fails to start does not leave the other running.
    const started = await Promise.allSettled(
      targets.map(async (redis) => {
        const gateway = await startChildServer(join(distDir, 'bench/servers/gateway-server.js'), {
          ...redis.env,
          AWS_ENDPOINT_URL_LAMBDA: stub.url,
          WARMROUTE_SECRET: SECRET,
          WARMROUTE_NAMESPACE: NAMESPACE,
          // Room for the warm keys and every fresh one, alive through the run.
          WARMROUTE_L1_MAX: '100000',
          WARMROUTE_L1_TTL_MS: '600000',
          WARMROUTE_LOG_LEVEL: 'warn',
        });
        cleanups.push(() => gateway.stop());
        const pool = new Pool(gateway.url, { connections: CONCURRENCY });
        cleanups.push(() => pool.close());
        return { redis, gateway, pool };
      }),
    );
    const gateways: { redis: RedisUnderTest; gateway: ChildServer; pool: Pool }[] = [];
    for (const result of started) {
      if (result.status === 'rejected') throw result.reason;
      gateways.push(result.value);
    }
    const variants: Variant[] = gateways.flatMap(({ redis, gateway, pool }) => [
      { kind: redis.kind, path: 'warm', redis, gateway, call: warmCalls(pool, keysPerWorker) },
      { kind: redis.kind, path: 'miss', redis, gateway, call: freshCalls(pool) },
    ]);

    // Warm up: every warm key through each gateway (request i is key i / 32 of worker i % 32:
    // the 32 in flight are distinct keys), twice, so its L1 holds all of them. Twice because
    // a few keys resolved in the first pass were still misses afterwards on the cluster
    // (7 of 256 once; the directory does not cache a lookup during which any invalidation
    // arrived). Each gateway also fetches the namespace's 1,024 bucket epochs in the
    // background from its start; a fetch still running in the rounds would show as more
    // than 1 round trip per request on the L1-miss rows.
    if (gateways.length !== KINDS) throw new Error('bench: KINDS is out of date');
    for (const { pool, redis } of gateways) {
      progress.phase(`warm-up: ${redis.kind}`);
      for (let pass = 0; pass < WARM_UP_PASSES; pass++) {
        await runClosedLoop(CONCURRENCY, keyCount, (_, i) =>
          send(pool, warmKey(i % CONCURRENCY, Math.floor(i / CONCURRENCY))),
        );
        progress.tick(keyCount);
      }
    }

    // Then wait for each Redis to go quiet: the background epoch reads must
    // not be counted as round trips of the measured requests. Under the load
    // of starting four processes some of the 1,024 reads time out (200 ms);
    // the directory reads the missing ones again at a request after
    // EPOCH_PREFETCH_RETRY_MS, so: wait that long, send one request per
    // gateway (a store call is what lets it), and wait for quiet again. Bounded: a Redis that never
    // goes quiet is measured as it is.
    progress.phase('waiting for Redis to go quiet (background epoch reads)');
    for (const { redis } of gateways) await untilQuiet(redis);
    await new Promise((resolve) => setTimeout(resolve, EPOCH_PREFETCH_RETRY_MS + 500));
    for (const { pool, redis } of gateways) {
      // A key no path uses: an L1 miss, so a store call, which is what lets the directory retry.
      await send(pool, 'bench-prefetch-retry');
      await untilQuiet(redis);
    }

    const samples = new Map<Variant, Round[]>(variants.map((v) => [v, []]));
    const ratios: Record<Path, number[]> = { warm: [], miss: [] };
    for (let r = 0; r < rounds; r++) {
      for (const path of ['warm', 'miss'] as const) {
        const pair = variants.filter((v) => v.path === path);
        if (r % 2 === 1) pair.reverse();
        const measured = new Map<Kind, Round>();
        for (const v of pair) {
          progress.phase(
            `round ${r + 1}/${rounds}: ${path === 'warm' ? 'L1 hit' : 'L1 miss'}, ${v.kind}`,
          );
          const round = await measure(v, perRound, progress);
          samples.get(v)?.push(round);
          measured.set(v.kind, round);
        }
        const c = measured.get('cluster');
        const s = measured.get('standalone');
        if (c !== undefined && s !== undefined) ratios[path].push(c.throughput / s.throughput);
      }
    }

    progress.done();
    const summaries = variants.map((v) => ({ v, s: summarise(samples.get(v) ?? []) }));
    const find = (kind: Kind, path: Path) =>
      summaries.find((x) => x.v.kind === kind && x.v.path === path)?.s;
    printTable(
      (['warm', 'miss'] as const).flatMap((path) =>
        (['standalone', 'cluster'] as const).flatMap((kind) => {
          const s = find(kind, path);
          return s === undefined ? [] : [row(kind, path, s)];
        }),
      ),
    );
    const cpuRatio = (path: Path) => {
      const c = find('cluster', path)?.gatewayCpuMsPerRequest.median;
      const s = find('standalone', path)?.gatewayCpuMsPerRequest.median;
      return c === undefined || s === undefined ? NaN : c / s;
    };
    const masterKeys = await cluster.countKeysPerMaster();
    console.log(
      `\n${String(CONCURRENCY)} clients; L1 hit: ${String(keyCount)} keys; L1 miss: a new key every request; ${String(rounds)} interleaved rounds of ${String(perRound)} requests per path and Redis; stub Invoke endpoint` +
        `\ncluster/standalone throughput, L1 hit: ${range(spread(ratios.warm), 3)}; L1 miss: ${range(spread(ratios.miss), 3)} (median, min–max over rounds)` +
        `\ncluster/standalone gateway CPU per request, L1 hit: ${fmt(cpuRatio('warm'), 2)}; L1 miss: ${fmt(cpuRatio('miss'), 2)}` +
        `\nkeys per cluster master (records and bucket epochs): ${masterKeys.map((m) => String(m.keys)).join(' / ')}`,
    );
    return {
      concurrency: CONCURRENCY,
      warmKeys: keyCount,
      rounds,
      requestsPerRound: perRound,
      missPath: 'a new (unbound) key every request, L1 on',
      throughputRatioClusterToStandalone: { warm: spread(ratios.warm), miss: spread(ratios.miss) },
      gatewayCpuRatioClusterToStandalone: { warm: cpuRatio('warm'), miss: cpuRatio('miss') },
      keysPerClusterMaster: masterKeys,
      variants: summaries.map(({ v, s }) => ({ redis: v.kind, path: v.path, ...s })),
    };
  } finally {
    progress.done();
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => {
        console.error('cluster bench cleanup failed:', err);
      });
    }
  }
}
