import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { distDir } from '../src/paths.js';
import {
  cpuOf,
  readCpuSeconds,
  startChildProcess,
  statFields,
  type ChildServer,
} from './lib/child-server.js';
import {
  aggregate,
  isWarmroute,
  JSON_SHIM_FILE,
  JSON_SHIM_SOURCE,
  perRequest,
  type CpuProfile,
  type SampleWeight,
  type ProfileSummary,
  type TimeWindow,
} from './lib/cpu-profile.js';
import { fmt, printTable } from './lib/load.js';
import { startRedisServer } from './lib/redis-server.js';

/**
 * Per-request CPU profile of the gateway by module (issue 16).
 *
 *   node dist/bench/profile-gateway.js [--dist <dir>] [--seconds N] [--rounds R]
 *     [--backend stub|local-host] [--top N] [--inclusive] [--interval-us N] [--keep]
 *     [--weight samples|time]
 *   node dist/bench/profile-gateway.js --compare <distA> <distB> [same options]
 *
 * Starts the Invoke endpoint (this checkout's stub or local host), a private
 * redis-server (stopped at the end, so no gateway's namespace keys stay on the
 * shared Redis, and other work on that one does not slow these gateways) and
 * the gateway of each dist (`<dist>/bench/servers/gateway-server.js`) under
 * `node --cpu-prof`, warms up, then drives each gateway with wrk (32 threads,
 * 32 connections, one x-affinity-key per thread, RPC route, L1 hit) for
 * N seconds per round, alternating between gateways round by round. The
 * gateways stop with SIGTERM (gateway-server exits through process.exit(0),
 * which writes the profile). Only samples inside the wrk windows count
 * (profile timestamps and process.hrtime read the same monotonic clock).
 *
 * The table gives self time per request by category. Each category's share
 * of the main thread's busy samples is multiplied by the main thread's CPU
 * time over the windows (/proc/<pid>/task/<pid>/stat), so a thread waiting
 * for a core does not inflate it. Shares count samples by default (see
 * perRequest in bench/lib/cpu-profile.ts; `--weight time` weighs them by
 * their time deltas instead). "Other threads" is the rest of the
 * process's CPU (GC helpers, libuv pool). `--inclusive` adds time under any
 * warmroute frame of each directory, callees included.
 */

interface Options {
  dists: string[];
  seconds: number;
  rounds: number;
  backend: 'stub' | 'local-host';
  top: number;
  inclusive: boolean;
  intervalUs: number;
  keep: boolean;
  weight: SampleWeight;
}

function parseOptions(argv: readonly string[]): Options {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      dist: { type: 'string' },
      compare: { type: 'boolean' },
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string' },
      backend: { type: 'string', default: 'stub' },
      top: { type: 'string', default: '15' },
      inclusive: { type: 'boolean', default: false },
      'interval-us': { type: 'string', default: '500' },
      keep: { type: 'boolean', default: false },
      weight: { type: 'string', default: 'samples' },
    },
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  let dists: string[];
  if (values.compare === true) {
    if (positionals.length !== 2) throw new Error('--compare takes two dist directories');
    dists = positionals.map((p) => resolve(p));
  } else {
    if (positionals.length > 0) throw new Error(`unexpected arguments: ${positionals.join(' ')}`);
    dists = [resolve(values.dist ?? distDir)];
  }
  const backend = values.backend;
  if (backend !== 'stub' && backend !== 'local-host') {
    throw new Error('--backend must be stub or local-host');
  }
  const weight = values.weight;
  if (weight !== 'samples' && weight !== 'time')
    throw new Error('--weight must be samples or time');
  return {
    weight,
    dists,
    seconds: positive('seconds', values.seconds),
    rounds: positive('rounds', values.rounds ?? (dists.length > 1 ? '2' : '1')),
    backend,
    top: Number(values.top),
    inclusive: values.inclusive,
    intervalUs: positive('interval-us', values['interval-us']),
    keep: values.keep,
  };
}

/** One x-affinity-key per wrk thread; the request is formatted once per thread. */
const WRK_SCRIPT = `local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  wrk.method = "POST"
  wrk.body = '{"op":"bench"}'
  wrk.headers["content-type"] = "application/json"
  wrk.headers["x-affinity-key"] = "profile-key-" .. id
  req = wrk.format(nil, "/v1/functions/counter/invoke")
end
function request()
  return req
end
`;

interface WrkResult {
  requests: number;
  non2xx: number;
  socketErrors: string | undefined;
  window: TimeWindow;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function runWrk(
  url: string,
  script: string,
  seconds: number,
  timeoutSeconds = 2,
): Promise<WrkResult> {
  const args = [
    '-t32',
    '-c32',
    `-d${seconds}s`,
    `--timeout`,
    `${timeoutSeconds}s`,
    '-s',
    script,
    url,
  ];
  const fromUs = nowUs();
  const out = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolvePromise(text);
      else reject(new Error(`wrk exited with ${String(code)}:\n${text}`));
    });
  });
  const toUs = nowUs();
  const requests = /(\d+) requests in/.exec(out)?.[1];
  if (requests === undefined) throw new Error(`no request count in wrk output:\n${out}`);
  return {
    requests: Number(requests),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: /Socket errors: (.*)/.exec(out)?.[1],
    window: { fromUs, toUs },
  };
}

/** CPU of the process's main thread (its JavaScript), not of its other threads. */
function threadCpu(pid: number): { user: number; system: number } {
  return cpuOf(statFields(`/proc/${pid}/task/${pid}/stat`));
}

interface Target {
  dist: string;
  label: string;
  profileDir: string;
  server: ChildServer;
  windows: TimeWindow[];
  requests: number;
  errors: number;
  mainCpuUs: number;
  mainSystemUs: number;
  processCpuUs: number;
}

interface Result {
  target: Target;
  summary: ProfileSummary;
}

function readProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) {
    throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  }
  return JSON.parse(readFileSync(join(dir, files[0] as string), 'utf8')) as CpuProfile;
}

export async function profileGateway(opts: Options): Promise<Result[]> {
  const work = mkdtempSync(join(tmpdir(), 'wr-profile-'));
  const shim = join(work, JSON_SHIM_FILE);
  writeFileSync(shim, JSON_SHIM_SOURCE);
  const luaScript = join(work, 'invoke.lua');
  writeFileSync(luaScript, WRK_SCRIPT);

  const backendScript = join(
    distDir,
    'bench/servers',
    opts.backend === 'stub' ? 'stub-lambda-server.js' : 'local-host-server.js',
  );
  const redis = await startRedisServer();
  let backend: ChildServer | undefined;
  const targets: Target[] = [];
  try {
    backend = await startChildProcess([backendScript]);
    for (const [i, dist] of opts.dists.entries()) {
      const profileDir = join(work, `gateway-${i}`);
      const namespace = `wr-profile-${process.pid}-${Date.now()}-${i}`;
      const server = await startChildProcess(
        [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-interval=${opts.intervalUs}`,
          '--import',
          pathToFileURL(shim).href,
          join(dist, 'bench/servers/gateway-server.js'),
        ],
        {
          AWS_ENDPOINT_URL_LAMBDA: backend.url,
          REDIS_URL: redis.url,
          WARMROUTE_SECRET: 'bench-secret-0123456789abcdef',
          WARMROUTE_NAMESPACE: namespace,
          WARMROUTE_L1_TTL_MS: '600000',
          WARMROUTE_LOG_LEVEL: 'warn',
        },
      );
      targets.push({
        dist,
        label: opts.dists.length > 1 ? (i === 0 ? 'A' : 'B') : 'gateway',
        profileDir,
        server,
        windows: [],
        requests: 0,
        errors: 0,
        mainCpuUs: 0,
        mainSystemUs: 0,
        processCpuUs: 0,
      });
    }

    // Warm up: the local host starts one environment per key (cold starts
    // take seconds on a busy machine), every gateway's L1 learns every key,
    // and the JIT settles.
    const warmSeconds = opts.backend === 'local-host' ? 8 : 3;
    for (const t of targets) {
      console.error(`warming up ${t.label} (${t.dist}) for ${warmSeconds} s`);
      await runWrk(t.server.url, luaScript, warmSeconds, 30);
    }

    for (let r = 0; r < opts.rounds; r++) {
      for (const t of targets) {
        console.error(`round ${r + 1}/${opts.rounds}: ${t.label} for ${opts.seconds} s`);
        const main0 = threadCpu(t.server.pid);
        const proc0 = readCpuSeconds(t.server.pid);
        const res = await runWrk(t.server.url, luaScript, opts.seconds);
        const main1 = threadCpu(t.server.pid);
        t.mainCpuUs += (main1.user + main1.system - main0.user - main0.system) * 1e6;
        t.mainSystemUs += (main1.system - main0.system) * 1e6;
        t.processCpuUs += (readCpuSeconds(t.server.pid) - proc0) * 1e6;
        t.windows.push(res.window);
        t.requests += res.requests;
        t.errors += res.non2xx;
        if (res.non2xx > 0 || res.socketErrors !== undefined) {
          console.error(
            `  ${t.label}: ${res.non2xx} non-2xx, socket errors: ${res.socketErrors ?? 'none'}`,
          );
        }
      }
    }
  } finally {
    for (const t of targets) await t.server.stop();
    await backend?.stop();
    await redis.stop();
  }
  try {
    return targets.map((target) => ({
      target,
      summary: aggregate(readProfile(target.profileDir), target.windows),
    }));
  } finally {
    if (opts.keep) console.error(`profiles kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url;
}

function report(results: readonly Result[], opts: Options): void {
  const cols = results.map(({ target, summary }) => {
    const base = { cpuUs: target.mainCpuUs, weight: opts.weight };
    const rows = perRequest(summary, target.requests, base);
    const inclusive = perRequest(summary, target.requests, { ...base, source: 'inclusive' });
    return { target, summary, rows, inclusive };
  });
  console.log(
    `\nGateway CPU per request by module, self time (µs/request): each category's share of the` +
      `\nmain thread's busy samples (weighted by ${opts.weight === 'samples' ? 'count' : 'time delta'})` +
      ` × the main thread's CPU per request from /proc; backend ` +
      `${opts.backend}, wrk -t32 -c32, ${opts.rounds} × ${opts.seconds} s per gateway, sampling every ${opts.intervalUs} µs.`,
  );
  for (const c of cols) {
    const t = c.target;
    console.log(
      `  ${t.label}: ${t.dist}: ${t.requests} requests (${fmt(t.requests / (opts.rounds * opts.seconds), 0)}/s), ` +
        `${t.errors} non-2xx, ${c.summary.samples} samples, busy ${fmt((c.summary.busyUs / c.summary.sampledUs) * 100, 1)} % of the windows, ` +
        `unscaled busy samples ${fmt(c.summary.busyUs / t.requests, 1)} µs/request`,
    );
  }
  const categories = new Map<string, number>();
  for (const c of cols) {
    for (const row of c.rows) {
      categories.set(row.category, Math.max(categories.get(row.category) ?? 0, row.usPerRequest));
    }
  }
  const ordered = [...categories].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const value = (rows: readonly { category: string; usPerRequest: number }[], category: string) =>
    rows.find((r) => r.category === category)?.usPerRequest ?? 0;
  const table: Record<string, string>[] = ordered.map((category) => {
    const row: Record<string, string> = { category };
    for (const c of cols) row[c.target.label] = fmt(value(c.rows, category), 1);
    if (cols.length === 2) {
      const [a, b] = cols as [(typeof cols)[0], (typeof cols)[0]];
      row['B - A'] = fmt(value(b.rows, category) - value(a.rows, category), 1);
    }
    return row;
  });
  const totals = (pick: (c: (typeof cols)[0]) => number, name: string) => {
    const row: Record<string, string> = { category: name };
    for (const c of cols) row[c.target.label] = fmt(pick(c), 1);
    if (cols.length === 2) {
      const [a, b] = cols as [(typeof cols)[0], (typeof cols)[0]];
      row['B - A'] = fmt(pick(b) - pick(a), 1);
    }
    return row;
  };
  const warmroute = (c: (typeof cols)[0]) =>
    c.rows.filter((r) => isWarmroute(r.category)).reduce((s, r) => s + r.usPerRequest, 0);
  table.push(totals(warmroute, '= of which warmroute src (self)'));
  table.push(totals((c) => c.target.mainCpuUs / c.target.requests, 'TOTAL main thread (/proc)'));
  table.push(totals((c) => c.target.mainSystemUs / c.target.requests, '  of which kernel (stime)'));
  table.push(
    totals(
      (c) => (c.target.processCpuUs - c.target.mainCpuUs) / c.target.requests,
      'other threads (GC helpers, libuv pool)',
    ),
  );
  table.push(totals((c) => c.target.processCpuUs / c.target.requests, 'TOTAL process (/proc)'));
  printTable(table);

  if (opts.inclusive) {
    console.log(
      '\nWarmroute directories, inclusive (µs/request of samples with a frame of the directory on the stack, callees included; a sample counts once per directory, so rows overlap):',
    );
    const names = [...new Set(cols.flatMap((c) => c.inclusive.map((r) => r.category)))];
    printTable(
      names.map((category) => {
        const row: Record<string, string> = { category };
        for (const c of cols) row[c.target.label] = fmt(value(c.inclusive, category), 1);
        return row;
      }),
    );
  }

  if (opts.top > 0) {
    for (const c of cols) {
      const byCount = opts.weight === 'samples';
      const busy = byCount ? c.summary.busySamples : c.summary.busyUs;
      const scale = c.target.mainCpuUs / busy / c.target.requests;
      console.log(`\nTop ${opts.top} functions by self time, ${c.target.label} (µs/request):`);
      printTable(
        [...c.summary.functions]
          .sort((a, b) => (byCount ? b.selfSamples - a.selfSamples : b.selfUs - a.selfUs))
          .slice(0, opts.top)
          .map((f) => ({
            'µs/req': fmt((byCount ? f.selfSamples : f.selfUs) * scale, 2),
            function: f.functionName,
            where: f.url === '' ? '' : `${shortUrl(f.url)}:${f.line}`,
            category: f.category,
          })),
      );
    }
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const opts = parseOptions(process.argv.slice(2));
  const results = await profileGateway(opts);
  report(results, opts);
}
