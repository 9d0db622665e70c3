import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { distDir, packageRoot } from '../src/paths.js';
import { DIRECTORY_KEY_PREFIX, directoryKeys } from '../src/redis/keys.js';
import { STATUS_POLL_MS } from '../src/status/status-document.js';
import { readCpuSeconds, startChildServer, type ChildServer } from './lib/child-server.js';
import { fmt, printTable } from './lib/load.js';
import { startProgress, type Progress } from './lib/progress.js';
import { startRedisServer, type OwnRedisServer } from './lib/redis-server.js';
import type { SectionInfo } from './lib/bench-cli.js';
import {
  pollStatusOnce,
  pollStatusRepeatedly,
  startStatusPoller,
  type StatusPollReport,
} from './lib/status-poller.js';
import { findWrk, runWrk, type WrkResult } from './lib/wrk.js';

/**
 * Gateway cost against peers doing the same hop (issues 4, 7 and 16). Each
 * path is its own process in front of the SAME Lambda Invoke endpoint:
 *   bare        Fastify + undici, the key as tenant ID (the least a gateway can do)
 *   reply-from  Fastify + @fastify/reply-from, the same forwarding
 *   gateway     warmroute on its L1-hit path (RPC route, affinity mode)
 *   unsigned    the same gateway sending unsigned Invokes, as `npm start` does to
 *               its embedded local host (BENCH_GATEWAY_UNSIGNED=1: no SigV4, user
 *               agent, content type or invocation type; allowed on loopback only)
 *   statusOpen  the `gateway` process again, with its status page open: a poller
 *               GETs /v1/status.json as the page does (once, then every 2 s) for
 *               the whole run (issue 17: the page's cost on the request path)
 *   baseline    warmroute from another build (BENCH_BASELINE_DIST=<dist>), optional
 *   direct      no hop: the load generator straight at the Invoke API (the floor)
 * in front of the local host (the `counter` function, warm) and then a stub
 * Invoke endpoint that answers at once (no function, no host: the proxy's own
 * cost).
 *
 * The load generator is wrk (bench/lib/wrk.ts), a C program in its own
 * process that costs a fraction of a core; the Node generator it replaces
 * took a large share of the two cores and pulled every ratio toward 1.
 * `-t32 -c32`: one connection per thread and, through bench/wrk/keyed.lua,
 * one key per thread (checked: wrk reports its distinct keys, and the
 * gateway's directory must hold exactly 32 records after the warm-up).
 *
 * Paths are interleaved in rounds (the starting path rotates per round), and
 * every ratio is computed within a round, then reported as median (min–max)
 * over rounds. CPU µs per request is read from /proc for every process: the
 * proxy, the upstream (the local host and its environment processes), and
 * wrk itself.
 *
 * Then at a fixed 300 req/s over the same 32 connections (bench/wrk/paced.lua):
 * p50/p99 per path and the p99 the hop adds over the bare proxy's, per
 * round; and with one connection, unloaded, the latency the hop adds.
 */

const CONNECTIONS = 32;
const KEY_PREFIX = 'bench-key-';
const BODY = '{"op":"bench"}';
const RPC_PATH = '/v1/functions/counter/invoke';
const INVOKE_PATH = '/2015-03-31/functions/counter/invocations';
const FIXED_RATE = 300;
/** Back-to-back polls on the idle gateway for the CPU of one document (/proc counts in 10 ms ticks). */
const IDLE_POLLS = 200;
const GOALS = {
  cpuGatewayToBare: 1.15,
  cpuGatewayToReplyFrom: 1.1,
  throughputGatewayToBare: 0.9,
  p99AddedMs: 1,
  // Issue 17: the open status page costs the request path within 2 %.
  statusOpenThroughput: 0.98,
  statusOpenCpu: 1.02,
} as const;

interface Sizes {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly gatewayWarmups: number;
  readonly pacedRounds: number;
  readonly pacedSeconds: number;
  /** Whether the fixed-rate rounds include `direct` (the host's own latency at that rate). */
  readonly pacedDirect: boolean;
  readonly unloadedRounds: number;
  readonly unloadedSeconds: number;
  /** Saturated rounds the unsigned gateway takes part in (the first ones; ratios pair by round). */
  readonly unsignedRounds: number;
  /** Whether the unsigned gateway runs the fixed-rate and unloaded rounds too. */
  readonly unsignedLatency: boolean;
  /** Whether the status-page-open gateway runs the fixed-rate rounds too (it always runs every saturated round). */
  readonly statusOpenPaced: boolean;
}

const QUICK: Sizes = {
  rounds: 3,
  seconds: 1,
  warmupSeconds: 1,
  gatewayWarmups: 1,
  pacedRounds: 2,
  pacedSeconds: 1,
  pacedDirect: false,
  unloadedRounds: 1,
  unloadedSeconds: 1,
  // Quick mode stays under ~75 s (CI): the unsigned gateway joins two saturated rounds only.
  unsignedRounds: 2,
  unsignedLatency: false,
  statusOpenPaced: false,
};
const FULL: Sizes = {
  rounds: 6,
  seconds: 4,
  warmupSeconds: 2,
  gatewayWarmups: 2,
  pacedRounds: 4,
  pacedSeconds: 5,
  pacedDirect: true,
  unloadedRounds: 3,
  unloadedSeconds: 2,
  unsignedRounds: 6,
  unsignedLatency: true,
  statusOpenPaced: true,
};

const sizeOf = (s: Sizes): string =>
  `wrk -t${CONNECTIONS} -c${CONNECTIONS}: ${s.rounds} rounds × ${s.seconds} s per path (bare, reply-from, gateway, gateway with the status page open, direct; gateway unsigned ${s.unsignedRounds} of them) and backend (local host, stub); ` +
  `${s.pacedRounds} × ${s.pacedSeconds} s at ${FIXED_RATE} req/s` +
  (s.statusOpenPaced ? '' : ' (without the status page open)') +
  `; ${s.unloadedRounds} × ${s.unloadedSeconds} s at 1 connection (without the status page open)` +
  (s.unsignedLatency ? '' : '; neither with gateway unsigned');

export const info: SectionInfo = {
  size: { quick: sizeOf(QUICK), full: sizeOf(FULL) },
  // Quick measured at 68 s with the unsigned row (load average 13); the status-page-open row adds
  // 6 wrk runs of 1 s (~9 s). Full: the unsigned row ~80 s, the status-page-open row ~75 s.
  duration: { quick: '~70–90 s', full: '~9–11 min' },
  env: {
    BENCH_BASELINE_DIST:
      "another build's dist/: adds a 'gateway (baseline)' row running its bench/servers/gateway-server.js (default: none)",
  },
};

type PathId = 'bare' | 'replyFrom' | 'gateway' | 'statusOpen' | 'unsigned' | 'baseline' | 'direct';

const LABELS: Record<PathId, string> = {
  bare: 'bare Fastify + undici',
  replyFrom: '@fastify/reply-from',
  gateway: 'warmroute gateway, L1 hit',
  statusOpen: 'warmroute gateway, status page open',
  unsigned: 'warmroute gateway, unsigned (embedded-host mode)',
  baseline: 'gateway (baseline)',
  direct: 'direct (no hop)',
};

/** The warmroute gateways (a directory, an L1 to warm, Redis commands to count). */
const isGatewayPath = (id: PathId): boolean =>
  id === 'gateway' || id === 'statusOpen' || id === 'unsigned' || id === 'baseline';

interface Target {
  readonly id: PathId;
  readonly url: string;
  readonly path: string;
  readonly keyHeader: string;
  /** The proxy process; undefined for `direct`. */
  readonly server: ChildServer | undefined;
  /** Whether a status page is open on the proxy during the run (polls /v1/status.json). */
  readonly statusPageOpen: boolean;
}

interface Sample {
  readonly wrk: WrkResult;
  readonly proxyCpuUs: number | undefined;
  readonly upstreamCpuUs: number;
  readonly wrkCpuUs: number | undefined;
  /** Commands the gateways' private Redis served during the run (gateway paths only). */
  readonly redisCalls: number | undefined;
  readonly redisCpuUs: number | undefined;
  /** The status polls answered during the run (statusOpen only). */
  readonly statusPolls: StatusPollReport | undefined;
}

interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** min / median / max of a sample (median of an even count: mean of the middle two). */
function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { min: NaN, median: NaN, max: NaN };
  const mid = sorted.length / 2;
  const median = Number.isInteger(mid)
    ? ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
    : (sorted[Math.floor(mid)] ?? NaN);
  return { min: sorted[0] ?? NaN, median, max: sorted[sorted.length - 1] ?? NaN };
}

function show(s: Spread | undefined, digits: number): string {
  if (s === undefined || !Number.isFinite(s.median)) return '-';
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

async function redisCalls(redis: OwnRedisServer): Promise<number> {
  let calls = 0;
  for (const [command, n] of Object.entries(await redis.commandStats())) {
    // Leave out the measurement's own INFO and the subscriber's housekeeping.
    if (command === 'info' || command === 'ping') continue;
    calls += n;
  }
  return calls;
}

function gatewayEnv(
  lambdaUrl: string,
  redisUrl: string,
  namespace: string,
  unsigned = false,
): Record<string, string> {
  return {
    ...(unsigned ? { BENCH_GATEWAY_UNSIGNED: '1' } : {}),
    AWS_ENDPOINT_URL_LAMBDA: lambdaUrl,
    REDIS_URL: redisUrl,
    WARMROUTE_SECRET: 'bench-secret-0123456789abcdef',
    WARMROUTE_NAMESPACE: namespace,
    WARMROUTE_L1_TTL_MS: '600000',
    WARMROUTE_LOG_LEVEL: 'warn',
  };
}

function baselineDist(): string | undefined {
  const dist = process.env['BENCH_BASELINE_DIST'];
  if (dist === undefined || dist === '') return undefined;
  const script = join(dist, 'bench/servers/gateway-server.js');
  if (!existsSync(script)) throw new Error(`BENCH_BASELINE_DIST: ${script} does not exist`);
  return dist;
}

/** Every proxy in its own process in front of `lambdaUrl`, plus `direct` straight at it. */
async function startTargets(
  lambdaUrl: string,
  redisUrl: string,
  namespace: string,
  baseline: string | undefined,
  started: ChildServer[],
): Promise<Target[]> {
  const start = async (script: string, env: Record<string, string>) => {
    const server = await startChildServer(script, env);
    started.push(server);
    return server;
  };
  const proxy = (id: PathId, server: ChildServer): Target => ({
    id,
    url: server.url,
    path: RPC_PATH,
    keyHeader: 'x-affinity-key',
    server,
    statusPageOpen: false,
  });
  const bare = proxy(
    'bare',
    await start(join(distDir, 'bench/servers/bare-proxy-server.js'), {
      BENCH_LAMBDA_URL: lambdaUrl,
    }),
  );
  const replyFrom = proxy(
    'replyFrom',
    await start(join(distDir, 'bench/servers/reply-from-server.js'), {
      BENCH_LAMBDA_URL: lambdaUrl,
    }),
  );
  const gateway = proxy(
    'gateway',
    await start(
      join(distDir, 'bench/servers/gateway-server.js'),
      gatewayEnv(lambdaUrl, redisUrl, namespace),
    ),
  );
  const targets = [
    bare,
    replyFrom,
    gateway,
    // The same process, not a second one set up alike: open/closed then differs by the
    // page alone, not by two processes' JIT and heap (a spread wider than the 2 % asked).
    // roundOrder runs the two back to back, each first in every other round.
    { ...gateway, id: 'statusOpen', statusPageOpen: true } satisfies Target,
    // Same namespace as the signed gateway: the same records, tenants and environments.
    proxy(
      'unsigned',
      await start(
        join(distDir, 'bench/servers/gateway-server.js'),
        gatewayEnv(lambdaUrl, redisUrl, namespace, true),
      ),
    ),
  ];
  if (baseline !== undefined) {
    // Same namespace: the two builds share the directory's records (like two
    // replicas), hence the tenants and the host's environments.
    targets.push(
      proxy(
        'baseline',
        await start(
          join(baseline, 'bench/servers/gateway-server.js'),
          gatewayEnv(lambdaUrl, redisUrl, namespace),
        ),
      ),
    );
  }
  targets.push({
    id: 'direct',
    url: lambdaUrl,
    path: INVOKE_PATH,
    keyHeader: 'x-amz-tenant-id',
    server: undefined,
    statusPageOpen: false,
  });
  return targets;
}

interface Context {
  readonly wrk: string;
  readonly upstream: ChildServer;
  readonly redis: OwnRedisServer;
  readonly progress: Progress;
}

async function measure(
  ctx: Context,
  target: Target,
  run: { connections: number; seconds: number; rate?: number },
): Promise<Sample> {
  const isGateway = isGatewayPath(target.id);
  const proxyBefore = target.server?.cpuSeconds();
  const upstreamBefore = ctx.upstream.treeCpuSeconds();
  const redisBefore = isGateway ? await redisCalls(ctx.redis) : undefined;
  const redisCpuBefore = readCpuSeconds(ctx.redis.pid);
  const poller = target.statusPageOpen ? startStatusPoller({ origin: target.url }) : undefined;
  let wrk: WrkResult;
  try {
    wrk = await runWrk(
      {
        url: target.url,
        path: target.path,
        keyHeader: target.keyHeader,
        keyPrefix: KEY_PREFIX,
        body: BODY,
        ...run,
      },
      ctx.wrk,
    );
  } catch (err) {
    // The poller's timer and connection would keep the process alive after the section fails.
    await poller?.stop().catch(() => undefined);
    throw err;
  }
  // Stopped before the CPU is read, so a poll still in flight is counted in this run. Throws
  // (fails the section) if any poll was not a 200 status document.
  const statusPolls = await poller?.stop();
  const redisCpuAfter = readCpuSeconds(ctx.redis.pid);
  const redisAfter = isGateway ? await redisCalls(ctx.redis) : undefined;
  const upstreamAfter = ctx.upstream.treeCpuSeconds();
  const proxyAfter = target.server?.cpuSeconds();
  ctx.progress.tick();
  if (wrk.errors > 0) {
    throw new Error(
      `${LABELS[target.id]}: ${wrk.errors} errors in ${wrk.requests} requests (status ≥ 400 or socket errors)`,
    );
  }
  if (wrk.distinctKeys !== run.connections) {
    throw new Error(
      `${LABELS[target.id]}: ${wrk.distinctKeys} keys for ${run.connections} connections`,
    );
  }
  const perRequestUs = (seconds: number) => (seconds * 1e6) / Math.max(1, wrk.requests);
  return {
    wrk,
    proxyCpuUs:
      proxyBefore === undefined || proxyAfter === undefined
        ? undefined
        : perRequestUs(proxyAfter - proxyBefore),
    upstreamCpuUs: perRequestUs(upstreamAfter - upstreamBefore),
    wrkCpuUs: wrk.cpuSeconds === undefined ? undefined : perRequestUs(wrk.cpuSeconds),
    redisCalls:
      redisBefore === undefined || redisAfter === undefined ? undefined : redisAfter - redisBefore,
    redisCpuUs: isGateway ? perRequestUs(redisCpuAfter - redisCpuBefore) : undefined,
    statusPolls,
  };
}

/**
 * The order of round `round`: the list rotated by the round, so no path always
 * follows another; then, of the two in `pair`, the first runs first in even
 * rounds and the second in odd ones. The pair is one process with the status
 * page closed and open: run back to back, the second of the two would always
 * find that process hot from the first, a bias of the size of what is measured.
 */
export function roundOrder<T extends { readonly id: string }>(
  targets: readonly T[],
  round: number,
  pair: readonly [string, string],
): T[] {
  const k = targets.length === 0 ? 0 : round % targets.length;
  const order = [...targets.slice(k), ...targets.slice(0, k)];
  const [firstId, secondId] = round % 2 === 0 ? pair : [pair[1], pair[0]];
  const first = order.find((t) => t.id === firstId);
  const second = order.find((t) => t.id === secondId);
  if (first === undefined || second === undefined) return order;
  const [lo = 0, hi = 0] = [order.indexOf(first), order.indexOf(second)].sort((x, y) => x - y);
  order[lo] = first;
  order[hi] = second;
  return order;
}

/** Rounds over `targets` in `roundOrder`, the status page closed and open taking turns to go first. */
async function interleave(
  ctx: Context,
  targets: readonly Target[],
  rounds: number,
  phase: string,
  run: { connections: number; seconds: number; rate?: number },
  /** Paths that take part in the first rounds only (how many), e.g. the unsigned gateway in quick mode. */
  roundsOf: Partial<Record<PathId, number>> = {},
): Promise<Map<PathId, Sample[]>> {
  const samples = new Map<PathId, Sample[]>(targets.map((t) => [t.id, []]));
  for (let r = 0; r < rounds; r++) {
    ctx.progress.phase(`${phase}, round ${r + 1}/${rounds}`);
    for (const target of roundOrder(targets, r, ['gateway', 'statusOpen'])) {
      if (r >= (roundsOf[target.id] ?? rounds)) continue;
      samples.get(target.id)?.push(await measure(ctx, target, run));
    }
  }
  return samples;
}

function pathSummary(list: readonly Sample[]) {
  const optional = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined);
    return known.length === 0 ? undefined : spread(known);
  };
  const calls = list.map((s) => s.redisCalls).filter((v): v is number => v !== undefined);
  const requests = list.reduce((s, m) => s + m.wrk.requests, 0);
  const polls = list.map((s) => s.statusPolls).filter((p) => p !== undefined);
  return {
    rounds: list.length,
    requests,
    throughput: spread(list.map((s) => s.wrk.throughput)),
    p50Ms: spread(list.map((s) => s.wrk.latencyMs.p50)),
    p99Ms: spread(list.map((s) => s.wrk.latencyMs.p99)),
    proxyCpuUsPerRequest: optional(list.map((s) => s.proxyCpuUs)),
    upstreamCpuUsPerRequest: spread(list.map((s) => s.upstreamCpuUs)),
    wrkCpuUsPerRequest: optional(list.map((s) => s.wrkCpuUs)),
    redisCpuUsPerRequest: optional(list.map((s) => s.redisCpuUs)),
    redisCallsPerRequest:
      calls.length === 0 ? undefined : calls.reduce((a, b) => a + b, 0) / requests,
    statusPolls:
      polls.length === 0
        ? undefined
        : {
            polls: polls.reduce((n, p) => n + p.polls, 0),
            bytes: Math.max(...polls.map((p) => p.bytes)),
            maxMs: Math.max(...polls.map((p) => p.maxMs)),
          },
  };
}

type PathSummary = ReturnType<typeof pathSummary>;

/** Per-round ratio a/b of a figure, then min/median/max over rounds. */
function roundRatio(
  samples: Map<PathId, Sample[]>,
  a: PathId,
  b: PathId,
  figure: (s: Sample) => number | undefined,
): Spread | undefined {
  const as = samples.get(a);
  const bs = samples.get(b);
  if (as === undefined || bs === undefined) return undefined;
  const ratios: number[] = [];
  for (let r = 0; r < Math.min(as.length, bs.length); r++) {
    const x = as[r];
    const y = bs[r];
    const fx = x === undefined ? undefined : figure(x);
    const fy = y === undefined ? undefined : figure(y);
    if (fx !== undefined && fy !== undefined && fy > 0) ratios.push(fx / fy);
  }
  return ratios.length === 0 ? undefined : spread(ratios);
}

function roundDifference(
  samples: Map<PathId, Sample[]>,
  a: PathId,
  b: PathId,
  figure: (s: Sample) => number,
): Spread | undefined {
  const as = samples.get(a);
  const bs = samples.get(b);
  if (as === undefined || bs === undefined) return undefined;
  const diffs: number[] = [];
  for (let r = 0; r < Math.min(as.length, bs.length); r++) {
    const x = as[r];
    const y = bs[r];
    if (x !== undefined && y !== undefined) diffs.push(figure(x) - figure(y));
  }
  return spread(diffs);
}

const throughputOf = (s: Sample) => s.wrk.throughput;
const proxyCpuOf = (s: Sample) => s.proxyCpuUs;

function ratiosOf(samples: Map<PathId, Sample[]>) {
  const pairs: [string, PathId, PathId, string, string][] = [
    [
      'gateway/bare',
      'gateway',
      'bare',
      `≥ ${GOALS.throughputGatewayToBare}`,
      `≤ ${GOALS.cpuGatewayToBare}`,
    ],
    ['gateway/reply-from', 'gateway', 'replyFrom', '', `≤ ${GOALS.cpuGatewayToReplyFrom}`],
    [
      'status page open/closed',
      'statusOpen',
      'gateway',
      `≥ ${GOALS.statusOpenThroughput}`,
      `≤ ${GOALS.statusOpenCpu}`,
    ],
    ['gateway unsigned/bare', 'unsigned', 'bare', '', ''],
    ['reply-from/bare', 'replyFrom', 'bare', '', ''],
    ['baseline/bare', 'baseline', 'bare', '', ''],
    ['gateway/baseline', 'gateway', 'baseline', '', ''],
  ];
  return pairs
    .filter(([, a, b]) => samples.has(a) && samples.has(b))
    .map(([name, a, b, throughputGoal, cpuGoal]) => ({
      name,
      throughput: roundRatio(samples, a, b, throughputOf),
      proxyCpu: roundRatio(samples, a, b, proxyCpuOf),
      throughputGoal,
      cpuGoal,
    }));
}

type Ratios = ReturnType<typeof ratiosOf>;

function printSaturated(title: string, summaries: Map<PathId, PathSummary>, ratios: Ratios): void {
  console.log(`\n${title}`);
  printTable(
    [...summaries].map(([id, s]) => ({
      path: LABELS[id],
      'req/s': show(s.throughput, 0),
      'p50 ms': show(s.p50Ms, 2),
      'p99 ms': show(s.p99Ms, 2),
      'proxy CPU µs/req': show(s.proxyCpuUsPerRequest, 0),
      'upstream CPU µs/req': show(s.upstreamCpuUsPerRequest, 0),
      'wrk CPU µs/req': show(s.wrkCpuUsPerRequest, 0),
      'Redis CPU µs/req': show(s.redisCpuUsPerRequest, 0),
      'Redis cmds/req': s.redisCallsPerRequest === undefined ? '-' : fmt(s.redisCallsPerRequest, 4),
    })),
  );
  console.log('');
  printTable(
    ratios.map((r) => ({
      'per-round ratio': r.name,
      throughput: show(r.throughput, 3),
      'goal ': r.throughputGoal,
      'proxy CPU per request': show(r.proxyCpu, 3),
      goal: r.cpuGoal,
    })),
  );
}

function summarize(samples: Map<PathId, Sample[]>): Map<PathId, PathSummary> {
  return new Map([...samples].map(([id, list]) => [id, pathSummary(list)]));
}

/** Records in the namespace: the gateway binds one per key it has seen. */
async function countRecords(redisUrl: string, namespace: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let count = 0;
    const stream = redis.scanStream({
      match: directoryKeys(DIRECTORY_KEY_PREFIX).recordPattern(namespace),
      count: 1000,
    });
    for await (const batch of stream) count += (batch as string[]).length;
    return count;
  } finally {
    redis.disconnect();
  }
}

function commitOf(): string {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: packageRoot,
    encoding: 'utf8',
  });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: packageRoot,
    encoding: 'utf8',
  });
  const hash = rev.status === 0 ? rev.stdout.trim() : 'unknown';
  return dirty.status === 0 && dirty.stdout.trim() !== '' ? `${hash} + uncommitted changes` : hash;
}

async function warmUp(ctx: Context, targets: readonly Target[], sizes: Sizes): Promise<void> {
  ctx.progress.phase('warm-up');
  // statusOpen is the gateway's process: warmed with it, and its document code by one poll.
  for (const target of targets.filter((t) => !t.statusPageOpen)) {
    // The gateways once more in full mode: the directory does not cache a lookup during
    // which an invalidation arrived, so a key can stay an L1 miss after one pass.
    const passes = isGatewayPath(target.id) ? sizes.gatewayWarmups : 1;
    for (let p = 0; p < passes; p++) {
      await measure(ctx, target, { connections: CONNECTIONS, seconds: sizes.warmupSeconds });
    }
  }
  for (const target of targets.filter((t) => t.statusPageOpen)) await pollStatusOnce(target.url);
}

/** The CPU of one status document, polled back to back on the gateway between rounds. */
interface PollCost {
  readonly polls: number;
  readonly cpuUsPerPoll: number;
  readonly bytes: number;
}

async function idlePollCost(target: Target): Promise<PollCost | undefined> {
  if (target.server === undefined) return undefined;
  const before = target.server.cpuSeconds();
  const report = await pollStatusRepeatedly(target.url, IDLE_POLLS);
  const after = target.server.cpuSeconds();
  return {
    polls: report.polls,
    cpuUsPerPoll: ((after - before) * 1e6) / report.polls,
    bytes: report.bytes,
  };
}

interface BackendResult {
  readonly saturated: Map<PathId, Sample[]>;
  /** After the saturated rounds, when the sampler's ring holds the most points of this backend's phase. */
  readonly pollCost: PollCost | undefined;
  readonly paced: Map<PathId, Sample[]> | undefined;
  readonly unloaded: Map<PathId, Sample[]> | undefined;
}

async function againstBackend(
  backend: 'local host' | 'stub',
  sizes: Sizes,
  namespace: string,
  baseline: string | undefined,
  wrk: string,
  redis: OwnRedisServer,
  progress: Progress,
): Promise<BackendResult> {
  const started: ChildServer[] = [];
  try {
    const upstream = await startChildServer(
      join(
        distDir,
        backend === 'stub'
          ? 'bench/servers/stub-lambda-server.js'
          : 'bench/servers/local-host-server.js',
      ),
      // Room for the key-as-tenant environments and the gateway's derived tenants.
      backend === 'stub' ? {} : { BENCH_MAX_ENVIRONMENTS: '128' },
    );
    started.push(upstream);
    progress.phase(`${backend}: starting servers`);
    const targets = await startTargets(upstream.url, redis.url, namespace, baseline, started);
    const ctx: Context = { wrk, upstream, redis, progress };
    await warmUp(ctx, targets, sizes);
    const records = await countRecords(redis.url, namespace);
    if (records !== CONNECTIONS) {
      throw new Error(
        `the gateway's directory holds ${records} keys after the warm-up, not ${CONNECTIONS}: wrk's threads did not send one key each`,
      );
    }
    const saturated = await interleave(
      ctx,
      targets,
      sizes.rounds,
      `${backend}, 32 connections`,
      { connections: CONNECTIONS, seconds: sizes.seconds },
      { unsigned: sizes.unsignedRounds },
    );
    const latencyTargets = targets.filter(
      (t) => (sizes.unsignedLatency || t.id !== 'unsigned') && t.id !== 'statusOpen',
    );
    const statusTarget = targets.find((t) => t.statusPageOpen);
    const pollCost = statusTarget === undefined ? undefined : await idlePollCost(statusTarget);
    if (backend === 'stub') return { saturated, pollCost, paced: undefined, unloaded: undefined };
    const pacedTargets = targets.filter(
      (t) => latencyTargets.includes(t) || (t.statusPageOpen && sizes.statusOpenPaced),
    );
    const paced = await interleave(
      ctx,
      sizes.pacedDirect ? pacedTargets : pacedTargets.filter((t) => t.id !== 'direct'),
      sizes.pacedRounds,
      `${backend}, ${FIXED_RATE} req/s`,
      { connections: CONNECTIONS, seconds: sizes.pacedSeconds, rate: FIXED_RATE },
    );
    const unloaded = await interleave(
      ctx,
      latencyTargets.filter((t) => t.id !== 'direct'),
      sizes.unloadedRounds,
      `${backend}, 1 connection`,
      { connections: 1, seconds: sizes.unloadedSeconds },
    );
    return { saturated, pollCost, paced, unloaded };
  } finally {
    for (const server of started.reverse()) await server.stop();
  }
}

function latencyRows(samples: Map<PathId, Sample[]>, withRate: boolean) {
  const p99 = (s: Sample) => s.wrk.latencyMs.p99;
  const p50 = (s: Sample) => s.wrk.latencyMs.p50;
  return [...samples].map(([id, list]) => ({
    path: LABELS[id],
    ...(withRate ? { 'req/s': show(spread(list.map(throughputOf)), 0) } : {}),
    'p50 ms': show(spread(list.map(p50)), 3),
    'p99 ms': show(spread(list.map(p99)), 3),
    'p50 added vs bare, ms':
      id === 'bare' ? '' : show(roundDifference(samples, id, 'bare', p50), 3),
    'p99 added vs bare, ms':
      id === 'bare' ? '' : show(roundDifference(samples, id, 'bare', p99), 3),
  }));
}

function latencyFigures(samples: Map<PathId, Sample[]>) {
  const p50 = (s: Sample) => s.wrk.latencyMs.p50;
  const p99 = (s: Sample) => s.wrk.latencyMs.p99;
  return Object.fromEntries(
    [...samples].map(([id, list]) => [
      id,
      {
        throughput: spread(list.map(throughputOf)),
        p50Ms: spread(list.map(p50)),
        p99Ms: spread(list.map(p99)),
        addedVsBareMs:
          id === 'bare'
            ? undefined
            : {
                p50: roundDifference(samples, id, 'bare', p50),
                p99: roundDifference(samples, id, 'bare', p99),
              },
      },
    ]),
  );
}

/** Issue 17: the gateway with its status page open against the same process with it closed, per round. */
function statusPageFigures({ saturated, paced, pollCost }: BackendResult) {
  const p99 = (s: Sample) => s.wrk.latencyMs.p99;
  // The gateway's CPU per second while saturated and closed: what one poll per STATUS_POLL_MS adds to.
  const busyUsPerSecond = spread(
    (saturated.get('gateway') ?? []).map((s) => (s.proxyCpuUs ?? NaN) * s.wrk.throughput),
  ).median;
  return {
    throughputOpenToClosed: roundRatio(saturated, 'statusOpen', 'gateway', throughputOf),
    proxyCpuOpenToClosed: roundRatio(saturated, 'statusOpen', 'gateway', proxyCpuOf),
    polls: pathSummary(saturated.get('statusOpen') ?? []).statusPolls,
    idlePoll: pollCost,
    /**
     * 1 + one poll's idle CPU per STATUS_POLL_MS over the saturated gateway's CPU per second: the
     * CPU ratio the polls alone would give, free of the round-to-round noise of the measured one.
     */
    expectedProxyCpuOpenToClosed:
      pollCost === undefined
        ? undefined
        : 1 + pollCost.cpuUsPerPoll / ((STATUS_POLL_MS / 1000) * busyUsPerSecond),
    p99AddedAtFixedRateMs:
      paced?.has('statusOpen') === true
        ? roundDifference(paced, 'statusOpen', 'gateway', p99)
        : undefined,
  };
}

type StatusPageFigures = ReturnType<typeof statusPageFigures>;

function printStatusPage(sizes: Sizes, local: StatusPageFigures, stub: StatusPageFigures): void {
  console.log(
    `\nstatus page open vs closed (issue 17; the gateway process with /v1/status.json polled every ${STATUS_POLL_MS / 1000} s ` +
      `and once at the start of each run, against itself unpolled; goal within 2 %), ${sizes.rounds} rounds of ${sizes.seconds} s:`,
  );
  const row = (backend: string, f: StatusPageFigures) => ({
    backend,
    'throughput open/closed': show(f.throughputOpenToClosed, 3),
    'goal ': `≥ ${GOALS.statusOpenThroughput}`,
    'proxy CPU per request open/closed': show(f.proxyCpuOpenToClosed, 3),
    goal: `≤ ${GOALS.statusOpenCpu}`,
    polls: f.polls === undefined ? '-' : String(f.polls.polls),
    'document bytes': f.polls === undefined ? '-' : String(f.polls.bytes),
    'slowest poll ms': f.polls === undefined ? '-' : fmt(f.polls.maxMs, 1),
    [`CPU µs per poll, idle (${IDLE_POLLS} polls)`]:
      f.idlePoll === undefined ? '-' : fmt(f.idlePoll.cpuUsPerPoll, 0),
    'CPU ratio the polls imply': fmt(f.expectedProxyCpuOpenToClosed ?? NaN, 4),
    'p99 added at 300 req/s, ms': show(f.p99AddedAtFixedRateMs, 3),
  });
  printTable([row('local host', local), row('stub', stub)]);
}

function figuresOf(samples: Map<PathId, Sample[]>) {
  const summaries = summarize(samples);
  return {
    paths: Object.fromEntries(summaries),
    ratios: ratiosOf(samples),
  };
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const wrk = findWrk();
  const sizes = opts.quick ? QUICK : FULL;
  const baseline = baselineDist();
  const namespace = `bench${process.pid}`;
  // bare, reply-from, gateway, direct, and the baseline when given (the unsigned gateway and
  // the status page open apart: the first runs fewer rounds, the second has no warm-up run).
  const pathCount = 4 + (baseline === undefined ? 0 : 1);
  const gatewayPaths = baseline === undefined ? 2 : 3;
  const latencyPaths = pathCount + (sizes.unsignedLatency ? 1 : 0);
  const runsPerBackend =
    pathCount +
    1 +
    gatewayPaths * (sizes.gatewayWarmups - 1) +
    sizes.rounds * (pathCount + 1) +
    Math.min(sizes.rounds, sizes.unsignedRounds);
  const total =
    2 * runsPerBackend +
    sizes.pacedRounds *
      ((sizes.pacedDirect ? latencyPaths : latencyPaths - 1) + (sizes.statusOpenPaced ? 1 : 0)) +
    sizes.unloadedRounds * (latencyPaths - 1);
  const progress = startProgress('gateway', total, 'wrk runs');
  const commit = commitOf();
  // A private redis-server for the gateways: its INFO commandstats and CPU are theirs
  // alone (the shared server on 6379 serves other work), and nothing is left behind.
  const redis = await startRedisServer();
  try {
    const local = await againstBackend(
      'local host',
      sizes,
      namespace,
      baseline,
      wrk,
      redis,
      progress,
    );
    const stub = await againstBackend(
      'stub',
      sizes,
      `${namespace}s`,
      baseline,
      wrk,
      redis,
      progress,
    );
    progress.done();

    console.log(
      `load generator: wrk ${CONNECTIONS} threads × 1 connection, one key per connection; ` +
        `${sizes.rounds} interleaved rounds of ${sizes.seconds} s per path; median (min–max) over rounds; ` +
        `commit ${commit}`,
    );
    const localSummaries = summarize(local.saturated);
    printSaturated(
      'against the local host (counter, warm), 32 connections, saturated:',
      localSummaries,
      ratiosOf(local.saturated),
    );
    printSaturated(
      "against a stub Invoke endpoint that answers at once (the proxy's own cost):",
      summarize(stub.saturated),
      ratiosOf(stub.saturated),
    );
    if (local.paced !== undefined) {
      console.log(
        `\nfixed ${FIXED_RATE} req/s over ${CONNECTIONS} connections (local host; goal: gateway p99 added ≤ ${GOALS.p99AddedMs} ms), ` +
          `${sizes.pacedRounds} rounds of ${sizes.pacedSeconds} s:`,
      );
      printTable(latencyRows(local.paced, true));
    }
    if (local.unloaded !== undefined) {
      console.log(
        `\n1 connection, unloaded (local host), ${sizes.unloadedRounds} rounds of ${sizes.unloadedSeconds} s:`,
      );
      printTable(latencyRows(local.unloaded, true));
    }
    const statusPage = {
      localHost: statusPageFigures(local),
      stub: statusPageFigures(stub),
    };
    printStatusPage(sizes, statusPage.localHost, statusPage.stub);
    const gatewayRedis = localSummaries.get('gateway')?.redisCallsPerRequest;
    console.log(
      `\nRedis commands per request on the gateway's L1-hit path: ${fmt(gatewayRedis ?? NaN, 4)}` +
        " (goal 0; INFO commandstats of the gateways' private redis-server)",
    );

    const localFigures = figuresOf(local.saturated);
    const gatewayToBare = localFigures.ratios.find((r) => r.name === 'gateway/bare');
    return {
      commit,
      loadGenerator: `wrk -t${CONNECTIONS} -c${CONNECTIONS} (bench/wrk/keyed.lua)`,
      connections: CONNECTIONS,
      sizes,
      localHost: localFigures,
      stub: figuresOf(stub.saturated),
      fixedRate:
        local.paced === undefined
          ? undefined
          : { requestsPerSecond: FIXED_RATE, paths: latencyFigures(local.paced) },
      unloaded: local.unloaded === undefined ? undefined : latencyFigures(local.unloaded),
      throughputRatioGatewayToBare: gatewayToBare?.throughput?.median,
      cpuRatioGatewayToBare: gatewayToBare?.proxyCpu?.median,
      redisRoundTripsPerRequest: gatewayRedis,
      statusPageOpenToClosed: {
        goal: {
          throughput: GOALS.statusOpenThroughput,
          proxyCpuPerRequest: GOALS.statusOpenCpu,
        },
        ...statusPage,
      },
    };
  } finally {
    progress.done();
    await redis.stop();
  }
}
