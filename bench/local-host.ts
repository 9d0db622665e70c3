import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { distDir, examplesDir } from '../src/paths.js';
import type { SectionInfo } from './lib/bench-cli.js';
import { readTreeCpuSeconds, startChildProcess, type ChildServer } from './lib/child-server.js';
import { startProgress } from './lib/progress.js';

/**
 * Local host costs, measured side by side in one run:
 * - a warm invoke through the host (raw HTTP POST with undici, and the
 *   unmodified SDK's InvokeCommand) against a raw HTTP round trip to a
 *   trivial node:http server returning the same body — interleaved in
 *   rounds, sequential (concurrency 1). The host and the trivial server each
 *   run in their own process, so both paths cross a process boundary the
 *   same way; the host's extra cost is its own work plus the hop to the
 *   environment's process and back;
 * - CPU per request, from /proc/<pid>/stat: of the host process itself and
 *   of its environment processes (the tree below it), read around each
 *   block of one kind, so each kind's CPU is counted while only it runs;
 * - with BENCH_BASELINE_DIST=<dir> (the `dist` of another build, e.g. the
 *   commit before issue 16), that build's host as one more interleaved row,
 *   so before and after are measured in one run;
 * - memory of environments: PSS (/proc/<pid>/smaps_rollup; shared pages
 *   divided among the processes sharing them) and private memory, beside
 *   RSS, which counts every shared page (the node binary, libraries) in full
 *   for each process;
 * - cold start: evict the tenant's environment, then invoke (median of N),
 *   with the `Init Duration` the host reports.
 */

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
      ? (s[mid] ?? NaN)
      : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function p(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

type Child = ChildServer;

/** Runs an ES module snippet in its own node process; it prints `{"url":…}` when listening. */
function startChild(code: string): Promise<Child> {
  return startChildProcess(['--input-type=module', '-e', code]);
}

const rawServerCode = (body: string): string => `
import { createServer } from 'node:http';
const body = ${JSON.stringify(body)};
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: 'http://127.0.0.1:' + server.address().port })));
process.once('SIGTERM', () => process.exit(0));
`;

const hostCode = (dist: string): string => `
import { startLocalHost } from ${JSON.stringify(pathToFileURL(join(dist, 'src', 'localhost', 'index.js')).href)};
const host = await startLocalHost({ port: 0, functionsFile: ${JSON.stringify(join(examplesDir, 'functions.json'))} });
console.log(JSON.stringify({ url: host.url }));
process.once('SIGTERM', () => void host.close().then(() => process.exit(0)));
`;

async function timed(samples: number[], f: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await f();
  samples.push(performance.now() - t0);
}

/** Memory of one process from /proc/<pid>/smaps_rollup, KiB; undefined if unreadable. */
interface ProcMemory {
  readonly rssKb: number;
  readonly pssKb: number;
  /** Private_Clean + Private_Dirty: what the process alone holds. */
  readonly privateKb: number;
}

function readSmapsRollup(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m?.[1] === undefined ? NaN : Number(m[1]);
  };
  return {
    rssKb: field('Rss'),
    pssKb: field('Pss'),
    privateKb: field('Private_Clean') + field('Private_Dirty'),
  };
}

/** Direct child PIDs of `pid` (the host's environments). */
function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of one kind of request: of the server process, and of its children. */
interface CpuMeter {
  ownSeconds: number;
  childSeconds: number;
}

async function metered(
  meter: CpuMeter,
  child: ChildServer,
  withChildren: boolean,
  block: () => Promise<void>,
): Promise<void> {
  const own0 = child.cpuSeconds();
  const tree0 = withChildren ? readTreeCpuSeconds(child.pid) : own0;
  await block();
  const own1 = child.cpuSeconds();
  const tree1 = withChildren ? readTreeCpuSeconds(child.pid) : own1;
  meter.ownSeconds += own1 - own0;
  meter.childSeconds += tree1 - own1 - (tree0 - own0);
}

interface Kind {
  readonly path: string;
  readonly samples: number[];
  readonly call: () => Promise<void>;
  readonly server: ChildServer;
  /** Count the server's child processes (the host's environments). */
  readonly withChildren: boolean;
  readonly cpu: CpuMeter;
}

const SIZES = {
  quick: { rounds: 6, perRound: 50, coldRuns: 5, memoryEnvs: 4 },
  full: { rounds: 20, perRound: 150, coldRuns: 15, memoryEnvs: 16 },
} as const;

const sizeOf = (s: (typeof SIZES)[keyof typeof SIZES]): string =>
  `${s.rounds} rounds × ${s.perRound} requests per path, ${s.coldRuns} cold starts, ${s.memoryEnvs} environments for memory`;

export const info: SectionInfo = {
  size: { quick: sizeOf(SIZES.quick), full: sizeOf(SIZES.full) },
  duration: { quick: '~10–25 s', full: '~30 s' },
  env: {
    BENCH_BASELINE_DIST:
      'the dist folder of another build: its host becomes one more interleaved row (default: none)',
  },
};

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const { rounds, perRound, coldRuns, memoryEnvs } = opts.quick ? SIZES.quick : SIZES.full;
  const baselineDist = process.env['BENCH_BASELINE_DIST'];

  const body = JSON.stringify({
    statusCode: 200,
    body: JSON.stringify({ counter: 1, tenantId: 'BenchTenant' }),
  });
  const [host, raw, baseline] = await Promise.all([
    startChild(hostCode(distDir)),
    startChild(rawServerCode(body)),
    baselineDist === undefined ? undefined : startChild(hostCode(baselineDist)),
  ]);
  const rawUrl = raw.url;
  const rawPool = new Pool(rawUrl, { connections: 1, pipelining: 1 });
  const hostPool = new Pool(host.url, { connections: 1, pipelining: 1 });
  const basePool =
    baseline === undefined ? undefined : new Pool(baseline.url, { connections: 1, pipelining: 1 });
  const client = new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const invokePath = '/2015-03-31/functions/counter/invocations';
  const payload = '{}';
  const kinds: Kind[] = [];
  const warmupCalls = 50;
  const progress = startProgress(
    'local-host',
    warmupCalls + rounds + coldRuns + memoryEnvs,
    'steps',
  );

  try {
    const rawCall = async (): Promise<void> => {
      const r = await rawPool.request({ path: '/', method: 'POST', body: payload });
      await r.body.text();
    };
    const invoker = (pool: Pool) => async (): Promise<void> => {
      const r = await pool.request({
        path: invokePath,
        method: 'POST',
        body: payload,
        headers: { 'x-amz-tenant-id': 'BenchTenant', 'content-type': 'application/octet-stream' },
      });
      const text = await r.body.text();
      if (r.statusCode !== 200 || r.headers['x-amz-function-error'] !== undefined)
        throw new Error(`invoke failed: ${text}`);
    };
    const sdkCall = async (): Promise<void> => {
      await client.send(
        new InvokeCommand({ FunctionName: 'counter', TenantId: 'BenchTenant', Payload: payload }),
      );
    };
    const kind = (
      path: string,
      server: ChildServer,
      withChildren: boolean,
      call: () => Promise<void>,
    ): Kind => ({
      path,
      samples: [],
      call,
      server,
      withChildren,
      cpu: { ownSeconds: 0, childSeconds: 0 },
    });
    const rawKind = kind('raw node:http round trip (undici)', raw, false, rawCall);
    const hostKind = kind('host warm invoke (undici POST)', host, true, invoker(hostPool));
    const sdkKind = kind('host warm invoke (SDK InvokeCommand)', host, true, sdkCall);
    kinds.push(rawKind, hostKind, sdkKind);
    const baseKind =
      baseline === undefined || basePool === undefined
        ? undefined
        : kind('baseline host warm invoke (undici POST)', baseline, true, invoker(basePool));
    if (baseKind !== undefined) kinds.push(baseKind);

    // Warm-up: start the tenant's environment, JIT the paths.
    progress.phase('warm-up');
    for (let i = 0; i < warmupCalls; i++) {
      for (const k of kinds) await k.call();
      progress.tick();
    }
    for (let r = 0; r < rounds; r++) {
      progress.phase(`round ${r + 1}/${rounds}`);
      // Rotate the order so no kind always runs first in a round.
      for (let i = 0; i < kinds.length; i++) {
        const k = kinds[(i + r) % kinds.length];
        if (k === undefined) continue;
        await metered(k.cpu, k.server, k.withChildren, async () => {
          for (let j = 0; j < perRound; j++) await timed(k.samples, k.call);
        });
      }
      progress.tick();
    }
    const envs = (await fetch(`${host.url}/_local/environments`).then((r) => r.json())) as {
      environments: { tenant: string | null }[];
    };
    const warmEnvs = envs.environments.filter((e) => e.tenant === 'BenchTenant').length;

    // Cold starts: recycle the tenant's environment, then invoke.
    progress.phase('cold starts');
    const coldMs: number[] = [];
    const initMs: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      await fetch(`${host.url}/_local/evict`, {
        method: 'POST',
        body: JSON.stringify({ function: 'counter', tenant: 'BenchTenant' }),
      }).then((r) => r.text());
      const t0 = performance.now();
      const out = await client.send(
        new InvokeCommand({
          FunctionName: 'counter',
          TenantId: 'BenchTenant',
          Payload: payload,
          LogType: 'Tail',
        }),
      );
      coldMs.push(performance.now() - t0);
      const tail = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
      const m = /Init Duration: ([\d.]+) ms/.exec(tail);
      if (m?.[1] === undefined) throw new Error('cold invoke without Init Duration');
      initMs.push(Number(m[1]));
      progress.tick();
    }

    // Memory: several warm environments (one per tenant), each measured alone.
    progress.phase('memory');
    for (let i = 0; i < memoryEnvs; i++) {
      await client.send(
        new InvokeCommand({ FunctionName: 'counter', TenantId: `MemTenant${i}`, Payload: payload }),
      );
      progress.tick();
    }
    const mem = childPids(host.pid)
      .map(readSmapsRollup)
      .filter((m): m is ProcMemory => m !== undefined);
    const meanMiB = (f: (m: ProcMemory) => number): number =>
      mem.reduce((a, m) => a + f(m), 0) / Math.max(1, mem.length) / 1024;

    const n = (k: Kind): number => k.samples.length;
    const us = (seconds: number, k: Kind): number => (seconds * 1e6) / n(k);
    const rawMedian = median(rawKind.samples);
    const figures: Record<string, unknown> = {
      rawHttpMedianMs: rawMedian,
      hostInvokeMedianMs: median(hostKind.samples),
      sdkInvokeMedianMs: median(sdkKind.samples),
      hostInvokeP99Ms: p(hostKind.samples, 0.99),
      rawHttpP99Ms: p(rawKind.samples, 0.99),
      warmInvokeVsRawRatio: median(hostKind.samples) / rawMedian,
      sdkInvokeVsRawRatio: median(sdkKind.samples) / rawMedian,
      rawServerCpuUsPerRequest: us(rawKind.cpu.ownSeconds, rawKind),
      hostCpuUsPerInvoke: us(hostKind.cpu.ownSeconds, hostKind),
      environmentCpuUsPerInvoke: us(hostKind.cpu.childSeconds, hostKind),
      warmSamplesPerKind: n(rawKind),
      environmentsUsedWarm: warmEnvs,
      coldStartMedianMs: median(coldMs),
      initDurationMedianMs: median(initMs),
      coldRuns,
      coldVsWarmRatio: median(coldMs) / median(hostKind.samples),
      environmentsMeasured: mem.length,
      environmentRssMiB: meanMiB((m) => m.rssKb),
      environmentPssMiB: meanMiB((m) => m.pssKb),
      environmentPrivateMiB: meanMiB((m) => m.privateKb),
    };
    if (baseKind !== undefined) {
      figures['baselineInvokeMedianMs'] = median(baseKind.samples);
      figures['baselineInvokeVsRawRatio'] = median(baseKind.samples) / rawMedian;
      figures['baselineHostCpuUsPerInvoke'] = us(baseKind.cpu.ownSeconds, baseKind);
      figures['baselineEnvironmentCpuUsPerInvoke'] = us(baseKind.cpu.childSeconds, baseKind);
    }
    const f = (x: number): string => x.toFixed(3);
    console.log(
      '\nlocal host: warm invoke vs raw HTTP round trip (sequential, interleaved; each server in its own process;' +
        ' CPU µs per request from /proc/<pid>/stat: the server process, and its environment processes)',
    );
    console.table(
      kinds.map((k) => ({
        path: k.path,
        medianMs: f(median(k.samples)),
        p99Ms: f(p(k.samples, 0.99)),
        ratio: (median(k.samples) / rawMedian).toFixed(2),
        serverCpuUs: us(k.cpu.ownSeconds, k).toFixed(0),
        envCpuUs: k.withChildren ? us(k.cpu.childSeconds, k).toFixed(0) : '-',
      })),
    );
    if (baseKind !== undefined)
      console.log(
        `baseline: the host built in ${baselineDist ?? ''}, interleaved in the same rounds`,
      );
    console.log(
      `environment memory (mean of ${mem.length} warm environments, /proc/<pid>/smaps_rollup): ` +
        `PSS ${meanMiB((m) => m.pssKb).toFixed(1)} MiB, private ${meanMiB((m) => m.privateKb).toFixed(1)} MiB; ` +
        `RSS ${meanMiB((m) => m.rssKb).toFixed(1)} MiB counts the pages shared with every other node process in full`,
    );
    console.log(
      `cold start (evict + invoke, SDK, median of ${coldRuns}): ${median(coldMs).toFixed(1)} ms end to end, ` +
        `Init Duration ${median(initMs).toFixed(1)} ms; ${(median(coldMs) / median(hostKind.samples)).toFixed(0)}x a warm invoke`,
    );
    return figures;
  } finally {
    progress.done();
    client.destroy();
    await rawPool.close();
    await hostPool.close();
    await basePool?.close();
    await Promise.all([raw.stop(), host.stop(), baseline?.stop()]);
  }
}
