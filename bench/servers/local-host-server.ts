import { join } from 'node:path';
import { startLocalHost } from '../../src/localhost/index.js';
import { examplesDir } from '../../src/paths.js';

/** The local Lambda host in its own process for benchmarks; prints `{ "url" }`. */
const host = await startLocalHost({
  port: 0,
  functionsFile: process.env['BENCH_FUNCTIONS_FILE'] ?? join(examplesDir, 'functions.json'),
  ...(process.env['BENCH_MAX_ENVIRONMENTS'] === undefined
    ? {}
    : { maxEnvironments: Number(process.env['BENCH_MAX_ENVIRONMENTS']) }),
  ...(process.env['BENCH_IDLE_TIMEOUT_MS'] === undefined
    ? {}
    : { idleTimeoutMs: Number(process.env['BENCH_IDLE_TIMEOUT_MS']) }),
});
console.log(JSON.stringify({ url: host.url }));
process.once('SIGTERM', () => {
  void host.close().then(() => process.exit(0));
});
