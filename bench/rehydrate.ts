import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';
import { ENVELOPE_REPORT_FIELD, PROTOCOL_VERSION, type WarmEnvelope } from '../lambda/protocol.js';
import { LEGACY_NAMESPACE, type SnapshotScope } from '../lambda/snapshot-scope.js';
import type { SnapshotStore } from '../lambda/stores/base-snapshot-store.js';
import { FileSnapshotStore } from '../lambda/stores/file-snapshot-store.js';
import { RedisSnapshotStore } from '../lambda/stores/redis-snapshot-store.js';
import { createWarmEnvironment } from '../lambda/warm-environment.js';
import { startLocalHost } from '../src/localhost/index.js';
import { distDir } from '../src/paths.js';
import type { SectionInfo } from './lib/bench-cli.js';
import { startProgress, type Progress } from './lib/progress.js';

/**
 * Rehydration cost of the function library: a 1 MB state and a 10 MB
 * directory (incompressible bytes: the worst case for the gzip archive),
 * restored by a new environment from the file store and the Redis store,
 * next to a warm hit of the same key in the same run.
 *
 * And the library's share of a cold start, side by side in one run:
 * importing `warmroute/lambda` (ioredis and tar load lazily) vs the same
 * import plus ioredis and tar (what an eager import cost every
 * environment) vs bare node, in fresh processes; and the local host's
 * `Init Duration` for a plain handler, a `withWarmState` handler and the
 * same handler with ioredis and tar imported at init.
 */

/**
 * Runs per case (a new environment each: rehydrate, hit, checkpoint), import
 * probes per variant, evict + invoke cold starts per variant.
 */
export const SIZES = {
  quick: { runs: 3, importRuns: 3, initRuns: 3 },
  full: { runs: 10, importRuns: 15, initRuns: 10 },
} as const;
const CASES = ['1 MB state', '10 MB directory'] as const;
const IMPORT_VARIANTS = 3;
const INIT_VARIANTS = 3;

const sizeOf = (s: (typeof SIZES)['quick' | 'full']): string =>
  `${CASES.length} cases × ${s.runs} runs per store (file, Redis); ${IMPORT_VARIANTS} × ${s.importRuns} import probes; ${INIT_VARIANTS} × ${s.initRuns} cold starts`;

export const info: SectionInfo = {
  size: { quick: sizeOf(SIZES.quick), full: sizeOf(SIZES.full) },
  duration: { quick: '~20 s', full: '~1 min' },
  env: {
    WARMROUTE_SNAPSHOT_REDIS_URL:
      'Redis for the snapshot store (else REDIS_URL, else redis://127.0.0.1:6379; skipped if unreachable)',
  },
};

interface Blob {
  blob: string;
}

const MB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function context(key: string): { tenantId: string; clientContext: unknown } {
  return {
    tenantId: `bench-${key}`,
    clientContext: {
      custom: {
        warmroute: { v: PROTOCOL_VERSION, key, mode: 'affinity', stateVersion: 0, wrap: true },
      },
    },
  };
}

/** The scope the library gives `context(key)`'s request (no gateway scope, no function name here). */
function benchScope(key: string): SnapshotScope {
  return { functionName: '', namespace: LEGACY_NAMESPACE, epoch: '', generation: 0, key };
}

async function redisReachable(url: string): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
    enableOfflineQueue: false,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

interface CaseResult {
  store: string;
  case: string;
  snapshotMB: number;
  rehydrateMs: number;
  hitMs: number;
  checkpointMs: number;
  rehydrateOverHit: number;
}

async function runCase(
  storeName: string,
  store: SnapshotStore,
  name: (typeof CASES)[number],
  runs: number,
  root: string,
  progress: Progress,
): Promise<CaseResult> {
  progress.phase(`${storeName} store, ${name}`);
  const key = `bench-${name.replace(/\W+/g, '-')}-${randomBytes(4).toString('hex')}`;
  const options = { initialState: (): Blob => ({ blob: '' }), store, verify: 'store' as const };
  const seedEnv = createWarmEnvironment({ tmpDir: root });
  const seed = seedEnv.withWarmState<unknown, number, Blob>(async (_e, _c, state) => {
    if (name === '1 MB state') state.set({ blob: randomBytes(MB * 0.75).toString('base64') });
    else
      for (let i = 0; i < 10; i++) await writeFile(join(state.dir, `f${i}.bin`), randomBytes(MB));
    return 0;
  }, options);
  await seed({}, context(key));
  const seeded = await store.read(benchScope(key));
  if (seeded === undefined) throw new Error('bench: seed snapshot missing');
  const snapshotMB = round((seeded.state.length + seeded.dir.length) / MB);

  const rehydrate: number[] = [];
  const hit: number[] = [];
  const checkpoint: number[] = [];
  for (let i = 0; i < runs; i++) {
    // A new environment per run: the first call rehydrates, the second is a hit (with its checkpoint).
    const fn = createWarmEnvironment({ tmpDir: root }).withWarmState<
      { cp?: boolean },
      number,
      Blob
    >(
      async (event, _c, state) => {
        if (event.cp === true) await state.checkpoint();
        return 0;
      },
      { ...options, checkpoint: 'manual' },
    );
    const first = (await fn({}, context(key))) as WarmEnvelope<number>;
    rehydrate.push(first[ENVELOPE_REPORT_FIELD].rehydrateMs);
    const t0 = performance.now();
    const second = (await fn({}, context(key))) as WarmEnvelope<number>;
    hit.push(performance.now() - t0);
    if (second[ENVELOPE_REPORT_FIELD].state !== 'hit') throw new Error('bench: expected a hit');
    const t1 = performance.now();
    await fn({ cp: true }, context(key));
    checkpoint.push(performance.now() - t1);
    progress.tick();
  }
  await store.delete(benchScope(key));
  const r = median(rehydrate);
  const h = median(hit);
  return {
    store: storeName,
    case: name,
    snapshotMB,
    rehydrateMs: round(r),
    hitMs: round(h),
    checkpointMs: round(median(checkpoint)),
    rehydrateOverHit: round(r / h),
  };
}

const lambdaEntry = (): string => pathToFileURL(join(distDir, 'lambda', 'index.js')).href;

/** Absolute URLs of ioredis and tar as the package resolves them (what an eager import loaded). */
function heavyPackages(): { ioredis: string; tar: string } {
  const require = createRequire(join(distDir, 'lambda', 'index.js'));
  return {
    ioredis: pathToFileURL(require.resolve('ioredis')).href,
    tar: pathToFileURL(require.resolve('tar')).href,
  };
}

type ImportVariant = 'bare node' | 'warmroute/lambda (lazy)' | 'warmroute/lambda + ioredis + tar';

function importScript(variant: ImportVariant): string {
  const heavy = heavyPackages();
  const imports =
    variant === 'bare node'
      ? `await import('node:os');`
      : variant === 'warmroute/lambda (lazy)'
        ? `await import(${JSON.stringify(lambdaEntry())});`
        : `await import(${JSON.stringify(lambdaEntry())}); await import(${JSON.stringify(heavy.ioredis)}); await import(${JSON.stringify(heavy.tar)});`;
  return `const t = process.hrtime.bigint(); ${imports} const ms = Number(process.hrtime.bigint() - t) / 1e6; process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage().rss }));`;
}

function runImport(variant: ImportVariant): Promise<{ ms: number; rss: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', importScript(variant)],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err !== null)
          reject(new Error(`bench: import probe (${variant}) failed: ${stderr}`, { cause: err }));
        else resolve(JSON.parse(stdout) as { ms: number; rss: number });
      },
    );
  });
}

type InitVariant =
  'plain handler' | 'withWarmState (lazy)' | 'withWarmState + ioredis + tar at init';

async function writeInitFunctions(root: string, snapDir: string): Promise<string> {
  const heavy = heavyPackages();
  const body = (pre: string, wrapped: boolean): string =>
    wrapped
      ? `${pre}import { withWarmState } from ${JSON.stringify(lambdaEntry())};
export const handler = withWarmState(async (_e, _c, state) => {
  state.set({ n: state.get().n + 1 });
  return state.get().n;
}, { initialState: () => ({ n: 0 }) });
`
      : `let n = 0;\nexport const handler = async () => ++n;\n`;
  const fns: [string, string][] = [
    ['plain', body('', false)],
    ['lazy', body('', true)],
    [
      'eager',
      body(
        `import ${JSON.stringify(heavy.ioredis)};\nimport ${JSON.stringify(heavy.tar)};\n`,
        true,
      ),
    ],
  ];
  for (const [name, code] of fns) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, 'index.mjs'), code);
  }
  const file = join(root, 'functions.json');
  await writeFile(
    file,
    JSON.stringify({
      functions: fns.map(([name]) => ({
        name,
        codeDir: name,
        handler: 'index.handler',
        tenancy: 'PER_TENANT',
        memoryMb: 256,
        timeoutSeconds: 10,
        environment: { WARMROUTE_SNAPSHOT_DIR: snapDir },
      })),
    }),
  );
  return file;
}

interface ColdStartFigures {
  importRuns: number;
  imports: { variant: ImportVariant; importMedianMs: number; rssMedianMB: number }[];
  importLazyVsEagerRatio: number;
  initRuns: number;
  inits: { variant: InitVariant; initDurationMedianMs: number }[];
  initLazyVsEagerRatio: number;
}

async function coldStart(
  sizes: (typeof SIZES)['quick' | 'full'],
  root: string,
  snapDir: string,
  progress: Progress,
): Promise<ColdStartFigures> {
  const variants: ImportVariant[] = [
    'bare node',
    'warmroute/lambda (lazy)',
    'warmroute/lambda + ioredis + tar',
  ];
  const { importRuns } = sizes;
  if (variants.length !== IMPORT_VARIANTS) throw new Error('bench: IMPORT_VARIANTS is out of date');
  progress.phase('import probes (fresh node processes)');
  const samples = new Map<ImportVariant, { ms: number[]; rss: number[] }>(
    variants.map((v) => [v, { ms: [], rss: [] }]),
  );
  // Interleaved, so machine noise hits every variant alike.
  for (let i = 0; i < importRuns; i++) {
    for (const v of variants) {
      const r = await runImport(v);
      samples.get(v)?.ms.push(r.ms);
      samples.get(v)?.rss.push(r.rss / MB);
      progress.tick();
    }
  }
  const imports = variants.map((variant) => ({
    variant,
    importMedianMs: round(median(samples.get(variant)?.ms ?? [])),
    rssMedianMB: round(median(samples.get(variant)?.rss ?? [])),
  }));

  const initRoot = join(root, 'init-functions');
  await mkdir(initRoot);
  const host = await startLocalHost({
    port: 0,
    functionsFile: await writeInitFunctions(initRoot, snapDir),
  });
  const client = new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const initVariants: [InitVariant, string][] = [
    ['plain handler', 'plain'],
    ['withWarmState (lazy)', 'lazy'],
    ['withWarmState + ioredis + tar at init', 'eager'],
  ];
  const { initRuns } = sizes;
  if (initVariants.length !== INIT_VARIANTS) throw new Error('bench: INIT_VARIANTS is out of date');
  progress.phase('cold starts on the local host');
  const initMs = new Map<string, number[]>(initVariants.map(([, fn]) => [fn, []]));
  try {
    for (let i = 0; i < initRuns; i++) {
      for (const [, fn] of initVariants) {
        host.evict({ function: fn });
        const out = await client.send(
          new InvokeCommand({
            FunctionName: fn,
            TenantId: `bench-cold-${String(i)}`,
            Payload: Buffer.from('{}'),
            LogType: 'Tail',
          }),
        );
        const tail = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
        const m = /Init Duration: ([\d.]+) ms/.exec(tail);
        if (out.FunctionError !== undefined || m?.[1] === undefined)
          throw new Error(`bench: cold invoke of ${fn} failed or reported no Init Duration`);
        initMs.get(fn)?.push(Number(m[1]));
        progress.tick();
      }
    }
  } finally {
    client.destroy();
    await host.close();
  }
  const inits = initVariants.map(([variant, fn]) => ({
    variant,
    initDurationMedianMs: round(median(initMs.get(fn) ?? [])),
  }));
  const lazyImport = imports[1]?.importMedianMs ?? NaN;
  const eagerImport = imports[2]?.importMedianMs ?? NaN;
  const lazyInit = inits[1]?.initDurationMedianMs ?? NaN;
  const eagerInit = inits[2]?.initDurationMedianMs ?? NaN;
  return {
    importRuns,
    imports,
    importLazyVsEagerRatio: round(lazyImport / eagerImport),
    initRuns,
    inits,
    initLazyVsEagerRatio: round(lazyInit / eagerInit),
  };
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const sizes = opts.quick ? SIZES.quick : SIZES.full;
  const { runs } = sizes;
  const root = await mkdtemp(join(tmpdir(), 'wr-bench-rehydrate-'));
  const snapDir = await mkdtemp(join(tmpdir(), 'wr-bench-snap-'));
  const results: CaseResult[] = [];
  let cold: ColdStartFigures | undefined;
  const redisUrl =
    process.env['WARMROUTE_SNAPSHOT_REDIS_URL'] ??
    process.env['REDIS_URL'] ??
    'redis://127.0.0.1:6379';
  try {
    const stores: [string, SnapshotStore][] = [
      ['file', new FileSnapshotStore({ directory: snapDir })],
    ];
    if (await redisReachable(redisUrl)) {
      stores.push([
        'redis',
        new RedisSnapshotStore({
          url: redisUrl,
          keyPrefix: `wrbench:${randomBytes(4).toString('hex')}:`,
        }),
      ]);
    }
    const progress = startProgress(
      'rehydrate',
      stores.length * CASES.length * runs +
        IMPORT_VARIANTS * sizes.importRuns +
        INIT_VARIANTS * sizes.initRuns,
      'steps',
    );
    try {
      for (const [name, store] of stores) {
        try {
          for (const c of CASES) results.push(await runCase(name, store, c, runs, root, progress));
        } finally {
          await store.close();
        }
      }
      cold = await coldStart(sizes, root, snapDir, progress);
    } finally {
      progress.done();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(snapDir, { recursive: true, force: true });
  }
  console.log(
    `\nrehydrate (median of ${runs}; new environment restoring from the store vs a warm hit)`,
  );
  console.table(results);
  console.log(
    `\ncold start: import in a fresh node process (median of ${String(cold.importRuns)}, interleaved); ` +
      `lazy / eager import time = ${String(cold.importLazyVsEagerRatio)}`,
  );
  console.table(cold.imports);
  console.log(
    `local host Init Duration (evict + invoke, median of ${String(cold.initRuns)}, interleaved); ` +
      `lazy / eager = ${String(cold.initLazyVsEagerRatio)}`,
  );
  console.table(cold.inits);
  return { runs, results, coldStart: cold };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  await bench({ quick: process.argv.includes('--quick') });
}
