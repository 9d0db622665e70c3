import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

/**
 * wrk (Debian's 4.1) as the gateway benchmark's load generator: a C program
 * with one event loop per thread, so the load costs a fraction of a core and
 * leaves the two cores to the servers under test (the Node load generator it
 * replaces took a large share and pulled every ratio toward 1). The Lua
 * scripts in bench/wrk give each thread its own key and print one JSON line
 * from `done()`, which `parseWrkOutput` reads.
 */

/** What one wrk run measured, in the units the benchmark prints. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  /** Completed requests per second (non-2xx answers included; see `errors`). */
  readonly throughput: number;
  /** Connect, read, write and timeout errors plus answers with status ≥ 400. */
  readonly errors: number;
  readonly latencyMs: {
    readonly min: number;
    readonly mean: number;
    readonly max: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
  };
  readonly threads: number;
  /** Distinct keys over the threads: equal to `threads` when every connection has its own key. */
  readonly distinctKeys: number;
  /** wrk's own CPU (user + system) over the run, from /proc/self/stat; undefined if unreadable. */
  readonly cpuSeconds: number | undefined;
}

export const WRK_MISSING = 'wrk not found: apt-get install wrk';

const MARKER = 'WRK_JSON ';
const TICKS_PER_SECOND = 100;

const SCRIPTS = {
  keyed: join(packageRoot, 'bench', 'wrk', 'keyed.lua'),
  paced: join(packageRoot, 'bench', 'wrk', 'paced.lua'),
} as const;

/** The wrk executable on PATH; throws `WRK_MISSING` when there is none (never skip the section). */
export function findWrk(path: string = process.env['PATH'] ?? ''): string {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'wrk');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(WRK_MISSING);
}

export interface WrkRun {
  /** Base URL, e.g. http://127.0.0.1:4321 */
  readonly url: string;
  readonly path: string;
  /** The header carrying the key: x-affinity-key, or x-amz-tenant-id straight at the Invoke API. */
  readonly keyHeader: string;
  /** Thread i sends the key `${keyPrefix}${i}`. */
  readonly keyPrefix: string;
  readonly body: string;
  /** Threads = connections: one connection, hence one key, per thread. */
  readonly connections: number;
  /** Run length in whole seconds (wrk's -d has no finer unit). */
  readonly seconds: number;
  /** Requests per second over all connections; absent for as fast as answers come. */
  readonly rate?: number;
}

/** wrk's command-line arguments for one run (exported for the unit test). */
export function wrkArgs(run: WrkRun): string[] {
  if (!Number.isInteger(run.connections) || run.connections < 1) {
    throw new RangeError('connections must be a positive integer');
  }
  // wrk's -d takes whole seconds (units s, m, h only).
  if (!Number.isInteger(run.seconds) || run.seconds < 1) {
    throw new RangeError('seconds must be a whole number of at least 1');
  }
  if (run.rate !== undefined && !(run.rate > 0)) throw new RangeError('rate must be above 0');
  const perThread = run.rate === undefined ? 0 : run.rate / run.connections;
  return [
    `-t${run.connections}`,
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    run.rate === undefined ? SCRIPTS.keyed : SCRIPTS.paced,
    `${run.url}${run.path}`,
    '--',
    run.keyHeader,
    run.keyPrefix,
    run.path,
    run.body,
    String(run.connections),
    String(perThread),
  ];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Record<string, unknown>, field: string): number {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`wrk output: ${field} is not a number`);
  }
  return v;
}

/**
 * Reads the `WRK_JSON {…}` line that bench/wrk/keyed.lua's `done()` prints
 * (wrk's own text report around it is ignored). Throws when the line is
 * missing or malformed, so a broken run can never pass as zero figures.
 */
export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (line === undefined) throw new Error('wrk output: no WRK_JSON line (did the script run?)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(MARKER.length));
  } catch {
    throw new Error('wrk output: the WRK_JSON line is not JSON');
  }
  if (!isRecord(parsed)) throw new Error('wrk output: the WRK_JSON line is not an object');
  const errors = parsed['errors'];
  const latency = parsed['latencyUs'];
  if (!isRecord(errors) || !isRecord(latency)) {
    throw new Error('wrk output: errors or latencyUs missing');
  }
  const requests = num(parsed, 'requests');
  const seconds = num(parsed, 'durationUs') / 1e6;
  if (seconds <= 0) throw new Error('wrk output: duration is not above 0');
  const ms = (field: string) => num(latency, field) / 1000;
  const cpuTicks = num(parsed, 'cpuTicks');
  return {
    requests,
    seconds,
    throughput: requests / seconds,
    errors: ['connect', 'read', 'write', 'status', 'timeout']
      .map((f) => num(errors, f))
      .reduce((a, b) => a + b, 0),
    latencyMs: {
      min: ms('min'),
      mean: ms('mean'),
      max: ms('max'),
      p50: ms('p50'),
      p90: ms('p90'),
      p99: ms('p99'),
      p999: ms('p999'),
    },
    threads: num(parsed, 'threads'),
    distinctKeys: num(parsed, 'distinctKeys'),
    cpuSeconds: cpuTicks < 0 ? undefined : cpuTicks / TICKS_PER_SECOND,
  };
}

/** Runs wrk once and returns its figures; rejects on a failed start, a non-zero exit or no figures. */
export async function runWrk(run: WrkRun, wrk: string = findWrk()): Promise<WrkResult> {
  const child = spawn(wrk, wrkArgs(run), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    throw new Error(`wrk exited with ${String(code)}: ${stderr.trim() || stdout.trim()}`);
  }
  return parseWrkOutput(stdout);
}
