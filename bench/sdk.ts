import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Pool } from 'undici';
import { loadConfig } from '../src/config/load-config.js';
import { createDependencies } from '../src/create-dependencies.js';
import { createAffinityClient } from '../src/sdk/client.js';
import type { AffinityClient } from '../src/sdk/types.js';
import { distDir } from '../src/paths.js';
import { formatCount, type SectionInfo } from './lib/bench-cli.js';
import { startChildServer } from './lib/child-server.js';
import { startProgress } from './lib/progress.js';
import { fmt, percentiles, printTable } from './lib/load.js';

/**
 * Per-call overhead of the SDK's two transports (issue 6), each against a raw
 * undici request to the same server, measured side by side in one run with
 * the variants interleaved round by round:
 *   HTTP:     raw undici POST to the gateway's RPC route  vs  SDK HTTP transport → the same gateway;
 *   embedded: raw undici POST to the local host's Invoke API (fixed TenantId)
 *             vs  SDK embedded transport (directory + scheduler + Lambda backend in-process) → the same host,
 *             with the gateway's request path called directly (no SDK) in between, so the
 *             SDK layer's own share of the embedded cost is visible.
 * One call in flight (latency, not throughput). The local host and the
 * gateway run in their own processes, so this process's CPU time is the
 * client's own cost per call.
 */

interface Variant {
  readonly name: string;
  readonly call: (i: number) => Promise<void>;
}

interface Figures {
  meanUs: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerCall: number;
}

const KEYS = Array.from({ length: 8 }, (_, i) => `bench-sdk-${i}`);
// Eight fixed tenants for the raw Invoke API calls, as the SDK's keys resolve to eight.
const TENANTS = KEYS.map((k) => `bench-raw-${k}`);
const PAYLOAD = Buffer.from('{"op":"bench"}');

/** Sequential calls per variant and round; interleaved rounds. */
export const SIZES = {
  quick: { perRound: 300, rounds: 3 },
  full: { perRound: 2_000, rounds: 5 },
} as const;
const VARIANTS = 5;
const WARM_UP = Math.max(100, KEYS.length * 4);

const sizeOf = (s: { perRound: number; rounds: number }): string =>
  `${VARIANTS} variants × ${s.rounds} rounds × ${formatCount(s.perRound)} sequential calls (+ ${WARM_UP} warm-up calls each)`;

export const info: SectionInfo = {
  size: { quick: sizeOf(SIZES.quick), full: sizeOf(SIZES.full) },
  duration: { quick: '~1 min', full: '~3–8 min' },
};

async function runRound(variant: Variant, n: number, samples: number[]): Promise<number> {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await variant.call(i);
    samples.push((performance.now() - t0) * 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  return cpu.user + cpu.system;
}

function summarise(samples: readonly number[], cpuUs: number, calls: number): Figures {
  const p = percentiles(samples);
  return {
    meanUs: samples.reduce((a, b) => a + b, 0) / samples.length,
    p50Us: p.p50,
    p99Us: p.p99,
    cpuUsPerCall: cpuUs / calls,
  };
}

async function expectOk(res: Awaited<ReturnType<Pool['request']>>): Promise<void> {
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const { perRound, rounds } = opts.quick ? SIZES.quick : SIZES.full;

  const host = await startChildServer(join(distDir, 'bench/servers/local-host-server.js'));
  const gateway = await startChildServer(join(distDir, 'bench/servers/gateway-server.js'), {
    AWS_ENDPOINT_URL_LAMBDA: host.url,
    WARMROUTE_SECRET: 'bench-sdk-secret-0123456789abcdef',
    WARMROUTE_LOG_LEVEL: 'warn',
    // The memory directory: this measures the SDK, not Redis.
    REDIS_URL: '',
  });
  const gatewayPool = new Pool(gateway.url, { connections: 1 });
  const hostPool = new Pool(host.url, { connections: 1 });
  const http: AffinityClient = createAffinityClient({ url: gateway.url, functionName: 'counter' });
  const embeddedEnv = {
    AWS_ENDPOINT_URL_LAMBDA: host.url,
    WARMROUTE_SECRET: 'bench-sdk-secret-0123456789abcdef',
    WARMROUTE_LOG_LEVEL: 'warn',
  };
  const embedded: AffinityClient = createAffinityClient({
    transport: 'embedded',
    functionName: 'counter',
    config: embeddedEnv,
  });
  // The same request path without the SDK around it: the invoker the dependencies built.
  const deps = await createDependencies(loadConfig(embeddedEnv), {
    logger: pino({ level: 'warn' }),
    endpoint: host.url,
    defaultMetrics: false,
  });

  const variants: readonly Variant[] = [
    {
      name: 'raw undici → gateway RPC',
      call: async (i) => {
        await expectOk(
          await gatewayPool.request({
            method: 'POST',
            path: '/v1/functions/counter/invoke',
            headers: {
              'content-type': 'application/json',
              'x-affinity-key': KEYS[i % KEYS.length] ?? 'k',
            },
            body: PAYLOAD,
          }),
        );
      },
    },
    {
      name: 'SDK http → gateway RPC',
      call: async (i) => {
        await http.invoke(KEYS[i % KEYS.length] ?? 'k', { op: 'bench' });
      },
    },
    {
      name: 'raw undici → host Invoke API',
      call: async (i) => {
        await expectOk(
          await hostPool.request({
            method: 'POST',
            path: '/2015-03-31/functions/counter/invocations',
            headers: {
              'content-type': 'application/octet-stream',
              'x-amz-tenant-id': TENANTS[i % TENANTS.length] ?? 't',
            },
            body: PAYLOAD,
          }),
        );
      },
    },
    {
      name: 'invoker (no SDK) → host Invoke API',
      call: async (i) => {
        await deps.invoker.invoke({
          functionName: 'counter',
          key: KEYS[i % KEYS.length] ?? 'k',
          mode: 'affinity',
          route: 'bench',
          payload: PAYLOAD,
          deadline: Date.now() + 30_000,
        });
      },
    },
    {
      name: 'SDK embedded → host Invoke API',
      call: async (i) => {
        await embedded.invoke(KEYS[i % KEYS.length] ?? 'k', { op: 'bench' });
      },
    },
  ];

  const progress = startProgress('sdk', VARIANTS * (WARM_UP + rounds * perRound), 'calls');
  try {
    if (variants.length !== VARIANTS) throw new Error('bench: VARIANTS is out of date');
    // Warm-up: start every tenant's environment and JIT every path.
    progress.phase('warm-up');
    for (const v of variants) {
      for (let i = 0; i < WARM_UP; i++) await v.call(i);
      progress.tick(WARM_UP);
    }

    const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const cpu = new Map<string, number>(variants.map((v) => [v.name, 0]));
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        progress.phase(`round ${r + 1}/${rounds}: ${v.name}`);
        const used = await runRound(v, perRound, samples.get(v.name) ?? []);
        // After the round's CPU reading: progress is not the client's cost.
        progress.tick(perRound);
        cpu.set(v.name, (cpu.get(v.name) ?? 0) + used);
      }
    }
    progress.done();
    const figures = Object.fromEntries(
      variants.map((v) => [
        v.name,
        summarise(samples.get(v.name) ?? [], cpu.get(v.name) ?? 0, perRound * rounds),
      ]),
    ) as Record<string, Figures>;

    const pair = (sdk: string, raw: string) => {
      const s = figures[sdk];
      const w = figures[raw];
      if (s === undefined || w === undefined) throw new Error('missing figures');
      return {
        addedLatencyUs: s.meanUs - w.meanUs,
        addedP50Us: s.p50Us - w.p50Us,
        latencyRatio: s.meanUs / w.meanUs,
        addedCpuUsPerCall: s.cpuUsPerCall - w.cpuUsPerCall,
        cpuRatio: s.cpuUsPerCall / w.cpuUsPerCall,
      };
    };
    const overhead = {
      http: pair('SDK http → gateway RPC', 'raw undici → gateway RPC'),
      embedded: pair('SDK embedded → host Invoke API', 'raw undici → host Invoke API'),
      embeddedSdkLayer: pair(
        'SDK embedded → host Invoke API',
        'invoker (no SDK) → host Invoke API',
      ),
    };

    printTable(
      variants.map((v) => {
        const f = figures[v.name];
        return {
          variant: v.name,
          'mean µs': fmt(f?.meanUs ?? NaN, 0),
          'p50 µs': fmt(f?.p50Us ?? NaN, 0),
          'p99 µs': fmt(f?.p99Us ?? NaN, 0),
          'client CPU µs/call': fmt(f?.cpuUsPerCall ?? NaN, 0),
        };
      }),
    );
    console.log('');
    printTable(
      (['http', 'embedded', 'embeddedSdkLayer'] as const).map((t) => ({
        transport: t === 'embeddedSdkLayer' ? 'embedded vs invoker' : t,
        'added mean µs': fmt(overhead[t].addedLatencyUs, 0),
        'added p50 µs': fmt(overhead[t].addedP50Us, 0),
        'latency ×raw': fmt(overhead[t].latencyRatio),
        'added CPU µs/call': fmt(overhead[t].addedCpuUsPerCall, 0),
        'CPU ×raw': fmt(overhead[t].cpuRatio),
      })),
    );
    console.log(
      `(${rounds} interleaved rounds × ${perRound} sequential calls per variant; the embedded transport's CPU includes the directory, scheduler and Lambda backend it runs in-process)`,
    );
    return { callsPerVariant: perRound * rounds, figures, overhead };
  } finally {
    progress.done();
    await http.close();
    await embedded.close();
    await deps.close();
    await gatewayPool.close();
    await hostPool.close();
    await gateway.stop();
    await host.stop();
  }
}

// `node dist/bench/sdk.js [--quick]` runs this section alone.
if (
  process.argv[1] !== undefined &&
  import.meta.url === new URL(`file://${process.argv[1]}`).href
) {
  await bench({ quick: process.argv.includes('--quick') });
}
