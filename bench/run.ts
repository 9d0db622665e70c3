import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { silenceAwsSdkNodeVersionWarning } from '../src/aws-sdk-node-warning.js';
import { packageRoot } from '../src/paths.js';
import {
  BenchUsageError,
  formatHelp,
  parseBenchArgs,
  usageErrorText,
  type SectionHelp,
  type SectionInfo,
} from './lib/bench-cli.js';

/**
 * `npm run bench [-- --quick] [-- --only=a,b]`: runs every benchmark section
 * in one process, one after another, prints each section's table and writes
 * all figures to bench/results/<time>.json. Each section measures its
 * comparisons side by side (interleaved), so its ratios hold on a noisy,
 * shared machine even when absolute times drift. `--help` lists the
 * sections with their sizes; long sections show progress on stderr.
 */

interface SectionModule {
  bench(opts: { quick: boolean }): Promise<Record<string, unknown>>;
  /** Sizes and rough times for `--help`, from the constants the section runs with. */
  readonly info?: SectionInfo;
}

interface Section {
  readonly name: string;
  /** One line for `--help`. */
  readonly measures: string;
  readonly load: () => Promise<SectionModule>;
}

export const sections: readonly Section[] = [
  {
    name: 'local-host',
    measures: 'warm invoke through the local host vs a raw HTTP round trip; cold start',
    load: () => import('./local-host.js'),
  },
  {
    name: 'backend',
    measures: 'client CPU per invoke: raw undici vs SDK InvokeCommand vs the Lambda backend',
    load: () => import('./backend.js'),
  },
  {
    name: 'directory',
    measures: 'resolve throughput from L1 and from Redis; Redis round trips per resolve',
    load: () => import('./directory.js'),
  },
  {
    name: 'scheduler',
    measures: 'nanoseconds scheduler.run() adds, uncontended and contended',
    load: () => import('./scheduler.js'),
  },
  {
    name: 'gateway',
    measures:
      'the gateway vs a bare Fastify + undici hop and @fastify/reply-from, driven by wrk: throughput, latency, CPU per request of every process',
    load: () => import('./gateway.js'),
  },
  {
    name: 'idle',
    measures: "an idle gateway process's CPU, with and without prom-client's default metrics",
    load: () => import('./idle.js'),
  },
  {
    name: 'cluster',
    measures: 'the gateway on a 3+3 Redis Cluster vs one Redis server, L1 hit and L1 miss paths',
    load: () => import('./cluster.js'),
  },
  {
    name: 'rehydrate',
    measures: 'restoring 1 MB / 10 MB snapshots vs a warm hit; the library share of a cold start',
    load: () => import('./rehydrate.js'),
  },
  {
    name: 'sdk',
    measures: "per-call overhead of the SDK's HTTP and embedded transports vs raw undici",
    load: () => import('./sdk.js'),
  },
  {
    name: 'hit-rate',
    measures: 'a Zipf trace on no tenancy, key-as-tenant and warmroute vs the oracle and LRU bound',
    load: () => import('./hit-rate.js'),
  },
  {
    name: 'budget',
    measures:
      'tenant-environment cap, idle reclaim and keep-warm on the Lambda-like host: key-as-tenant vs warmroute strict, with budget, with budget + keep-warm; cost vs the clairvoyant bound',
    load: () => import('./budget.js'),
  },
];

/** Every section's `--help` entry; loads each module (starts nothing) to read its `info`. */
async function helpEntries(): Promise<SectionHelp[]> {
  return Promise.all(
    sections.map(async (s) => {
      try {
        return { name: s.name, measures: s.measures, info: (await s.load()).info };
      } catch (err) {
        const loadError = err instanceof Error ? err.message.split('\n')[0] : String(err);
        return { name: s.name, measures: s.measures, loadError };
      }
    }),
  );
}

async function runSections(quick: boolean, only: readonly string[] | undefined): Promise<void> {
  // Sections create Lambda clients (and child gateways that inherit this environment).
  silenceAwsSdkNodeVersionWarning();
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    node: process.version,
  };
  let failed = false;
  for (const section of sections) {
    if (only !== undefined && !only.includes(section.name)) continue;
    console.log(`\n=== ${section.name} ${quick ? '(quick)' : ''} ===`);
    const started = Date.now();
    try {
      const mod = await section.load();
      results[section.name] = await mod.bench({ quick });
    } catch (err) {
      failed = true;
      console.error(`section ${section.name} failed:`, err);
      results[section.name] = { error: err instanceof Error ? err.message : String(err) };
    }
    console.log(`(${section.name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const dir = join(packageRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`,
  );
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nfigures written to ${file}`);
  if (failed) process.exitCode = 1;
}

/** What `runBench` acts through; the tests pass fakes, so no section runs. */
export interface BenchCliDeps {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly help: () => Promise<SectionHelp[]>;
  readonly run: (quick: boolean, only: readonly string[] | undefined) => Promise<void>;
}

/** The command: parses `argv`, prints help or runs sections; resolves to the exit code. */
export async function runBench(
  argv: readonly string[],
  deps: BenchCliDeps = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    help: helpEntries,
    run: runSections,
  },
): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(
      argv,
      sections.map((s) => s.name),
    );
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    deps.err(usageErrorText(err));
    return 2;
  }
  if (args.kind === 'help') {
    deps.out(formatHelp(await deps.help()));
    return 0;
  }
  await deps.run(args.quick, args.only);
  return 0;
}

// Imported (by the tests) it runs nothing.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runBench(process.argv.slice(2));
  // A failed section has set 1 already.
  if (code !== 0) process.exitCode = code;
}
