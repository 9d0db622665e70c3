import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { distDir } from '../src/paths.js';
import { DIRECTORY_KEY_PREFIX, directoryKeys } from '../src/redis/keys.js';
import { startChildProcess, type ChildServer } from './lib/child-server.js';
import { fmt, printTable } from './lib/load.js';
import { NO_PROGRESS, startProgress, type Progress } from './lib/progress.js';
import type { SectionInfo } from './lib/bench-cli.js';

/**
 * The CPU an idle gateway process uses (issue 16): nothing is requested, so
 * whatever it spends goes to timers — prom-client's default metrics (the
 * event-loop delay monitor wakes the loop every `eventLoopMonitoringPrecision`
 * ms) and the gateway's own (directory stats flush, L1/store sweeps, Redis
 * subscriber pings). A process's CPU over a window is read from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds, every thread) rather than
 * /proc/<pid>/stat, whose 10 ms ticks are too coarse for a fraction of a
 * millisecond a second; its run count gives the wake-ups a second.
 *
 * Variants run side by side in one window (all started together, measured
 * over the same seconds): this build with default metrics (what
 * `warmroute start` serves) and without, and — with BENCH_BASELINE_DIST set
 * to another build's dist/ (e.g. the one before issue 16) — that build the
 * same two ways. Each with the in-memory directory and with Redis.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';

interface Variant {
  readonly name: string;
  readonly dist: string;
  readonly defaultMetrics: boolean;
}

interface Sample {
  /** CPU of every thread, nanoseconds. */
  readonly cpuNs: number;
  /** Times a thread was put on a CPU. */
  readonly runs: number;
}

/** Sum over the process's threads of /proc/<pid>/task/<tid>/schedstat (ns on CPU, ns waiting, runs). */
function readSchedstat(pid: number): Sample {
  let cpuNs = 0;
  let runs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [onCpu, , timeslices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')
        .trim()
        .split(' ');
      cpuNs += Number(onCpu);
      runs += Number(timeslices);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { cpuNs, runs };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** A gateway as bench/servers/gateway-server.ts starts it, from any build's dist/, metrics on or off. */
function gatewayCode(variant: Variant): string {
  const mod = (path: string): string =>
    JSON.stringify(pathToFileURL(join(variant.dist, 'src', path)).href);
  const pino = JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('pino')).href);
  return `
import { buildApp } from ${mod('app.js')};
import { loadConfig } from ${mod('config/load-config.js')};
import { createDependencies } from ${mod('create-dependencies.js')};
import pinoModule from ${pino};
const config = loadConfig({ WARMROUTE_LOG_LEVEL: 'warn', ...process.env, PORT: '0' });
const logger = pinoModule.pino({ level: config.logLevel });
const deps = await createDependencies(config, {
  logger,
  endpoint: config.lambdaEndpoint,
  defaultMetrics: ${String(variant.defaultMetrics)},
});
const { app } = buildApp(config, deps);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ url }));
process.once('SIGTERM', () => {
  void app.close().then(() => deps.close()).then(() => process.exit(0));
});
`;
}

function gatewayEnv(namespace: string, redis: boolean): Record<string, string> {
  return {
    // Never called: an idle gateway does not invoke.
    AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
    WARMROUTE_SECRET: 'bench-secret-0123456789abcdef',
    WARMROUTE_NAMESPACE: namespace,
    WARMROUTE_LOG_LEVEL: 'warn',
    NODE_NO_WARNINGS: '1',
    // Children inherit this process's environment: a REDIS_URL set by the caller must not leak into the memory runs.
    REDIS_URL: redis ? REDIS_URL : '',
  };
}

interface Figures {
  readonly cpuMsPerSecond: { min: number; median: number; max: number };
  readonly wakeupsPerSecond: number;
}

async function measureDirectory(
  directory: 'memory' | 'redis',
  variants: readonly Variant[],
  timing: { warmupMs: number; windowMs: number; windows: number },
  namespaces: string[],
  progress: Progress,
): Promise<Record<string, Figures>> {
  const children: ChildServer[] = [];
  try {
    // One after another: on a loaded machine, several gateways starting at once can each miss
    // the child's start-up deadline.
    for (const [i, variant] of variants.entries()) {
      const namespace = `idle${String(process.pid)}${directory[0] ?? ''}${String(i)}`;
      namespaces.push(namespace);
      children.push(
        await startChildProcess(
          ['--input-type=module', '-e', gatewayCode(variant)],
          gatewayEnv(namespace, directory === 'redis'),
        ),
      );
    }
    progress.phase(`${directory}: warm-up`);
    // Start-up work (module compilation, epoch prefetch, the first stats flush) is not idle.
    await new Promise((r) => setTimeout(r, timing.warmupMs));
    const cpu: number[][] = variants.map(() => []);
    const runs: number[] = variants.map(() => 0);
    for (let w = 0; w < timing.windows; w++) {
      progress.phase(`${directory}: window ${String(w + 1)}/${String(timing.windows)}`);
      const before = children.map((c) => readSchedstat(c.pid));
      const started = process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, timing.windowMs));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      children.forEach((c, i) => {
        const after = readSchedstat(c.pid);
        const b = before[i] ?? after;
        cpu[i]?.push((after.cpuNs - b.cpuNs) / 1e6 / seconds);
        runs[i] = (runs[i] ?? 0) + (after.runs - b.runs) / seconds / timing.windows;
      });
      progress.tick();
    }
    const out: Record<string, Figures> = {};
    variants.forEach((v, i) => {
      const xs = cpu[i] ?? [];
      out[v.name] = {
        cpuMsPerSecond: { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) },
        wakeupsPerSecond: runs[i] ?? Number.NaN,
      };
    });
    return out;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

async function removeNamespaces(namespaces: readonly string[]): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = directoryKeys(DIRECTORY_KEY_PREFIX);
  try {
    for (const ns of namespaces) {
      // Each gateway made its namespace's epoch of every bucket at start-up.
      await redis.del(...keys.channels.map((_, bucket) => keys.epoch(ns, bucket)));
      const stream = redis.scanStream({
        match: keys.recordPattern(ns),
        count: 500,
      });
      for await (const batch of stream) {
        const found = batch as string[];
        if (found.length > 0) await redis.del(...found);
      }
    }
  } finally {
    redis.disconnect();
  }
}

const TIMING = {
  quick: { warmupMs: 3_000, windowMs: 1_000, windows: 3 },
  full: { warmupMs: 10_000, windowMs: 5_000, windows: 12 },
} as const;

const sizeOf = (t: (typeof TIMING)[keyof typeof TIMING]): string =>
  `2 gateways (default metrics on, off; 4 with BENCH_BASELINE_DIST) × 2 directories (memory, Redis): ` +
  `${String(t.warmupMs / 1000)} s warm-up, ${String(t.windows)} windows × ${String(t.windowMs / 1000)} s`;

export const info: SectionInfo = {
  size: { quick: sizeOf(TIMING.quick), full: sizeOf(TIMING.full) },
  duration: { quick: '~20–50 s', full: '~3–4 min' },
  env: {
    BENCH_BASELINE_DIST:
      "another build's dist/: adds its gateway, metrics on and off, as two more rows (default: none)",
  },
};

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const timing = opts.quick ? TIMING.quick : TIMING.full;
  const baseline = process.env['BENCH_BASELINE_DIST'];
  const variants: Variant[] = [
    { name: 'metrics', dist: distDir, defaultMetrics: true },
    { name: 'no metrics', dist: distDir, defaultMetrics: false },
  ];
  if (baseline !== undefined && baseline !== '') {
    variants.push(
      { name: 'baseline: metrics', dist: baseline, defaultMetrics: true },
      { name: 'baseline: no metrics', dist: baseline, defaultMetrics: false },
    );
  }
  const directories = ['memory', 'redis'] as const;
  const progress = opts.quick
    ? NO_PROGRESS
    : startProgress('idle', directories.length * timing.windows, 'windows');
  const namespaces: string[] = [];
  const results: Record<string, Record<string, Figures>> = {};
  try {
    for (const directory of directories) {
      results[directory] = await measureDirectory(
        directory,
        variants,
        timing,
        namespaces,
        progress,
      );
    }
  } finally {
    progress.done();
    await removeNamespaces(namespaces);
  }

  console.log(
    `idle gateway processes side by side, ${String(timing.windows)} windows of ` +
      `${fmt(timing.windowMs / 1000, 0)} s after ${fmt(timing.warmupMs / 1000, 0)} s of warm-up` +
      (baseline ? `; baseline: ${baseline}` : ''),
  );
  const rows: Record<string, string>[] = [];
  for (const directory of directories) {
    for (const v of variants) {
      const f = results[directory]?.[v.name];
      if (f === undefined) continue;
      rows.push({
        directory,
        gateway: v.name,
        'CPU ms/s min': fmt(f.cpuMsPerSecond.min, 3),
        median: fmt(f.cpuMsPerSecond.median, 3),
        max: fmt(f.cpuMsPerSecond.max, 3),
        'wake-ups/s': fmt(f.wakeupsPerSecond, 1),
      });
    }
  }
  printTable(rows);
  return { timing, baseline: baseline ?? null, ...results };
}
