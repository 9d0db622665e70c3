import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silenceAwsSdkNodeVersionWarning } from '../src/aws-sdk-node-warning.js';
import { packageRoot } from '../src/paths.js';

/**
 * `npm run bench [-- --quick] [-- --only a,b]`: runs every benchmark section
 * in one process, one after another, prints each section's table and writes
 * all figures to bench/results/<time>.json. Each section measures its
 * comparisons side by side (interleaved), so its ratios hold on a noisy,
 * shared machine even when absolute times drift.
 */

// Sections create Lambda clients (and child gateways that inherit this environment).
silenceAwsSdkNodeVersionWarning();

interface Section {
  readonly name: string;
  readonly load: () => Promise<{
    bench(opts: { quick: boolean }): Promise<Record<string, unknown>>;
  }>;
}

const sections: readonly Section[] = [
  { name: 'local-host', load: () => import('./local-host.js') },
  { name: 'backend', load: () => import('./backend.js') },
  { name: 'directory', load: () => import('./directory.js') },
  { name: 'scheduler', load: () => import('./scheduler.js') },
  { name: 'gateway', load: () => import('./gateway.js') },
  { name: 'cluster', load: () => import('./cluster.js') },
  { name: 'rehydrate', load: () => import('./rehydrate.js') },
  { name: 'sdk', load: () => import('./sdk.js') },
  { name: 'hit-rate', load: () => import('./hit-rate.js') },
];

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const only = onlyArg === undefined ? undefined : new Set(onlyArg.split(','));
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    node: process.version,
  };
  let failed = false;
  for (const section of sections) {
    if (only !== undefined && !only.has(section.name)) continue;
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

await main(process.argv.slice(2));
