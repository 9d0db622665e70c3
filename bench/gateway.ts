import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { distDir } from '../src/paths.js';
import { DIRECTORY_KEY_PREFIX, directoryKeys } from '../src/redis/keys.js';
import { startChildServer, type ChildServer } from './lib/child-server.js';
import { fmt, percentiles, printTable, runClosedLoop, type LoadResult } from './lib/load.js';

/**
 * Gateway cost against a bare proxy (issues 4 and 7): the same local host,
 * the same function (`counter`, warm), the same keys, measured in rounds that
 * alternate between
 *   (a) a bare Fastify server proxying with undici to the host,
 *   (b) the warmroute gateway on its L1-hit path (RPC route),
 *   (c) direct InvokeCommand calls from this process (no gateway hop).
 * Servers run in their own processes; their CPU per request is read from
 * /proc, which is steadier than throughput on a shared machine. With Redis
 * configured, Redis round trips per request come from INFO commandstats.
 *
 * Then the same bare proxy and gateway in front of a stub Invoke endpoint
 * that answers at once: with no function and no host to share the CPU
 * with, the throughput ratio there is the gateway's own cost, close to the
 * floor under the ratio against any real backend (which adds nearly the
 * same time to both paths; a little more to the gateway's larger signed
 * request).
 *
 * At 32 clients every path is saturated, so its latency is mostly queueing
 * (32 / throughput). The latency a request gains from the gateway hop itself
 * is measured separately with one client at a time (`unloaded`).
 */

const REDIS_URL = 'redis://127.0.0.1:6379';

async function redisCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    // Leave out the measurement's own INFO and the subscriber's housekeeping.
    if (match[1] === 'info' || match[1] === 'ping') continue;
    calls += Number(match[2]);
  }
  return calls;
}

interface Measured {
  load: LoadResult;
  cpuMsPerRequest: number | undefined;
  /** CPU the Invoke endpoint behind the server spent per request (when it is a process of ours). */
  upstreamCpuMsPerRequest: number | undefined;
}

async function measure(
  label: string,
  server: ChildServer | undefined,
  concurrency: number,
  total: number,
  call: (worker: number) => Promise<void>,
  upstream?: ChildServer,
): Promise<Measured> {
  const cpuMs = (s: ChildServer | undefined) =>
    s === undefined ? undefined : s.cpuSeconds() * 1000;
  const before = [cpuMs(server), cpuMs(upstream)];
  const load = await runClosedLoop(concurrency, total, (w) => call(w));
  const after = [cpuMs(server), cpuMs(upstream)];
  const perRequest = (i: number) => {
    const a = before[i];
    const b = after[i];
    return a === undefined || b === undefined ? undefined : (b - a) / total;
  };
  if (load.errors > 0) console.error(`  ${label}: ${load.errors} errors`);
  return { load, cpuMsPerRequest: perRequest(0), upstreamCpuMsPerRequest: perRequest(1) };
}

function meanOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / known.length;
}

/** Rounds of one path summed up: mean throughput and CPU, latency percentiles over all requests. */
function summary(list: readonly Measured[]) {
  return {
    throughput: list.reduce((s, m) => s + m.load.throughput, 0) / list.length,
    ...percentiles(list.flatMap((m) => m.load.latenciesMs)),
    cpuMsPerRequest: meanOf(list.map((m) => m.cpuMsPerRequest)),
    upstreamCpuMsPerRequest: meanOf(list.map((m) => m.upstreamCpuMsPerRequest)),
    errors: list.reduce((s, m) => s + m.load.errors, 0),
  };
}

const BENCH_BODY = Buffer.from('{"op":"bench"}');

function invokeVia(pool: Pool, keys: readonly string[]) {
  return async (worker: number): Promise<void> => {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/functions/counter/invoke',
      headers: { 'x-affinity-key': keys[worker] ?? 'k', 'content-type': 'application/json' },
      body: BENCH_BODY,
    });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  };
}

function gatewayEnv(lambdaUrl: string, namespace: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_LAMBDA: lambdaUrl,
    REDIS_URL,
    WARMROUTE_SECRET: 'bench-secret-0123456789abcdef',
    WARMROUTE_NAMESPACE: namespace,
    WARMROUTE_L1_TTL_MS: '600000',
    WARMROUTE_LOG_LEVEL: 'warn',
  };
}

/** The bare proxy and the gateway, each in its own process, in front of one Invoke endpoint. */
async function startProxies(
  lambdaUrl: string,
  namespace: string,
): Promise<{ bare: ChildServer; gateway: ChildServer }> {
  const bare = await startChildServer(join(distDir, 'bench/servers/bare-proxy-server.js'), {
    BENCH_LAMBDA_URL: lambdaUrl,
  });
  const gateway = await startChildServer(
    join(distDir, 'bench/servers/gateway-server.js'),
    gatewayEnv(lambdaUrl, namespace),
  );
  return { bare, gateway };
}

/** Bare proxy vs gateway in front of the stub endpoint: the gateway's own cost. */
async function againstStub(
  opts: { quick: boolean },
  keys: readonly string[],
  namespace: string,
): Promise<{ bare: ReturnType<typeof summary>; gateway: ReturnType<typeof summary> }> {
  const perRound = opts.quick ? 2_000 : 10_000;
  const rounds = opts.quick ? 2 : 4;
  const stub = await startChildServer(join(distDir, 'bench/servers/stub-lambda-server.js'));
  const { bare, gateway } = await startProxies(stub.url, namespace);
  const barePool = new Pool(bare.url, { connections: keys.length });
  const gatewayPool = new Pool(gateway.url, { connections: keys.length });
  try {
    const viaBare = invokeVia(barePool, keys);
    const viaGateway = invokeVia(gatewayPool, keys);
    await runClosedLoop(keys.length, keys.length * 50, viaBare);
    await runClosedLoop(keys.length, keys.length * 50, viaGateway);
    const samples = { bare: [] as Measured[], gateway: [] as Measured[] };
    for (let r = 0; r < rounds; r++) {
      samples.bare.push(await measure('stub bare', bare, keys.length, perRound, viaBare, stub));
      samples.gateway.push(
        await measure('stub gateway', gateway, keys.length, perRound, viaGateway, stub),
      );
    }
    return { bare: summary(samples.bare), gateway: summary(samples.gateway) };
  } finally {
    await barePool.close();
    await gatewayPool.close();
    await gateway.stop();
    await bare.stop();
    await stub.stop();
  }
}

async function againstLocalHost(
  opts: { quick: boolean },
  keys: readonly string[],
  namespace: string,
): Promise<Record<string, unknown>> {
  const concurrency = keys.length;
  const perRound = opts.quick ? 1_500 : 10_000;
  const rounds = opts.quick ? 2 : 4;
  const body = BENCH_BODY;

  const host = await startChildServer(join(distDir, 'bench/servers/local-host-server.js'));
  const { bare, gateway } = await startProxies(host.url, namespace);
  const redis = new Redis(REDIS_URL);
  const barePool = new Pool(bare.url, { connections: concurrency });
  const gatewayPool = new Pool(gateway.url, { connections: concurrency });
  const lambda = new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });

  const viaPool = (pool: Pool) => invokeVia(pool, keys);
  const direct = async (worker: number) => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'counter', TenantId: keys[worker] ?? 'k', Payload: body }),
    );
    if (out.FunctionError !== undefined) throw new Error(out.FunctionError);
  };

  try {
    // Warm up: every key gets its environment (bare proxy and direct calls
    // share tenants named by the key; the gateway's are derived) and the
    // gateway's L1 learns every key.
    for (const call of [viaPool(barePool), viaPool(gatewayPool), direct]) {
      await runClosedLoop(concurrency, concurrency * 20, (w) => call(w));
    }

    const samples: Record<'bare' | 'gateway' | 'direct', Measured[]> = {
      bare: [],
      gateway: [],
      direct: [],
    };
    let gatewayRedisCalls = 0;
    let gatewayRequests = 0;
    for (let r = 0; r < rounds; r++) {
      samples.bare.push(await measure('bare', bare, concurrency, perRound, viaPool(barePool)));
      const before = await redisCalls(redis);
      samples.gateway.push(
        await measure('gateway', gateway, concurrency, perRound, viaPool(gatewayPool)),
      );
      gatewayRedisCalls += (await redisCalls(redis)) - before;
      gatewayRequests += perRound;
      samples.direct.push(await measure('direct', undefined, concurrency, perRound, direct));
    }

    // One client at a time, alternating: the latency the hop adds when nothing queues.
    const unloaded: Record<'bare' | 'gateway', number[]> = { bare: [], gateway: [] };
    const unloadedPerRound = opts.quick ? 200 : 1_000;
    for (let r = 0; r < rounds; r++) {
      unloaded.bare.push(
        ...(await runClosedLoop(1, unloadedPerRound, viaPool(barePool))).latenciesMs,
      );
      unloaded.gateway.push(
        ...(await runClosedLoop(1, unloadedPerRound, viaPool(gatewayPool))).latenciesMs,
      );
    }
    const ua = percentiles(unloaded.bare);
    const ub = percentiles(unloaded.gateway);

    const a = summary(samples.bare);
    const b = summary(samples.gateway);
    const c = summary(samples.direct);
    const throughputRatio = b.throughput / a.throughput;
    const rows = [
      { path: '(a) bare Fastify + undici proxy', ...row(a) },
      { path: '(b) warmroute gateway, L1 hit', ...row(b) },
      { path: '(c) direct InvokeCommand', ...row(c) },
    ];
    printTable(rows);
    const redisPerRequest = gatewayRedisCalls / gatewayRequests;
    console.log(
      `\ngateway/bare throughput ratio: ${fmt(throughputRatio, 3)} (goal ≥ 0.80)` +
        `\nadded latency at 32 clients (saturated) p50: ${fmt(b.p50 - a.p50, 3)} ms, p99: ${fmt(b.p99 - a.p99, 3)} ms` +
        `\nadded latency at 1 client (unloaded) p50: ${fmt(ub.p50 - ua.p50, 3)} ms, p99: ${fmt(ub.p99 - ua.p99, 3)} ms` +
        ` (bare p50 ${fmt(ua.p50, 3)} / p99 ${fmt(ua.p99, 3)} ms, gateway ${fmt(ub.p50, 3)} / ${fmt(ub.p99, 3)} ms)` +
        (a.cpuMsPerRequest !== undefined && b.cpuMsPerRequest !== undefined
          ? `\nserver CPU per request: gateway ${fmt(b.cpuMsPerRequest * 1000, 0)} µs vs bare ${fmt(a.cpuMsPerRequest * 1000, 0)} µs (ratio ${fmt(b.cpuMsPerRequest / a.cpuMsPerRequest, 2)})`
          : '') +
        `\nRedis round trips per request on the L1-hit path: ${fmt(redisPerRequest, 4)} (${gatewayRedisCalls} commands / ${gatewayRequests} requests; goal 0)`,
    );
    return {
      concurrency,
      requestsPerRound: perRound,
      rounds,
      bare: a,
      gateway: b,
      direct: c,
      throughputRatioGatewayToBare: throughputRatio,
      addedLatencyMs: { p50: b.p50 - a.p50, p99: b.p99 - a.p99 },
      unloaded: {
        bare: ua,
        gateway: ub,
        addedLatencyMs: { p50: ub.p50 - ua.p50, p99: ub.p99 - ua.p99 },
      },
      redisRoundTripsPerRequest: redisPerRequest,
    };
  } finally {
    lambda.destroy();
    await barePool.close();
    await gatewayPool.close();
    await gateway.stop();
    await bare.stop();
    await host.stop();
    redis.disconnect();
  }
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const namespace = `bench${process.pid}`;
  const keys = Array.from({ length: 32 }, (_, i) => `bench-key-${i}`);
  try {
    const localHost = await againstLocalHost(opts, keys, namespace);
    const stub = await againstStub(opts, keys, `${namespace}s`);
    const ratio = (f: (s: ReturnType<typeof summary>) => number | undefined) => {
      const b = f(stub.bare);
      const g = f(stub.gateway);
      return b === undefined || g === undefined ? NaN : g / b;
    };
    const throughputRatio = ratio((s) => s.throughput);
    const cpuRatio = ratio((s) => s.cpuMsPerRequest);
    const us = (ms: number | undefined) => (ms === undefined ? '-' : fmt(ms * 1000, 0));
    console.log(
      `\nagainst a stub Invoke endpoint (no function, no host: the gateway's own cost):` +
        ` gateway/bare throughput ${fmt(throughputRatio, 3)}, server CPU ratio ${fmt(cpuRatio, 2)}` +
        `\n  the stub's CPU per request: ${us(stub.gateway.upstreamCpuMsPerRequest)} µs for the gateway's` +
        ` signed request vs ${us(stub.bare.upstreamCpuMsPerRequest)} µs for the bare proxy's`,
    );
    return {
      ...localHost,
      stub: { ...stub, throughputRatioGatewayToBare: throughputRatio, cpuRatio },
    };
  } finally {
    // Each gateway's directory keys live under its own namespace; remove them.
    const redis = new Redis(REDIS_URL);
    for (const ns of [namespace, `${namespace}s`]) {
      const stream = redis.scanStream({
        match: directoryKeys(DIRECTORY_KEY_PREFIX).recordPattern(ns),
        count: 500,
      });
      for await (const batch of stream) {
        const found = batch as string[];
        if (found.length > 0) await redis.del(...found);
      }
    }
    redis.disconnect();
  }
}

function row(s: {
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  cpuMsPerRequest: number | undefined;
  errors: number;
}) {
  return {
    'req/s': fmt(s.throughput, 0),
    'p50 ms': fmt(s.p50, 3),
    'p95 ms': fmt(s.p95, 3),
    'p99 ms': fmt(s.p99, 3),
    'server CPU µs/req': s.cpuMsPerRequest === undefined ? '-' : fmt(s.cpuMsPerRequest * 1000, 0),
    errors: s.errors,
  };
}
