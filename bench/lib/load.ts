import { performance } from 'node:perf_hooks';

/** Latency percentiles (ms) of a sample, by nearest rank. */
export function percentiles(samples: readonly number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly latenciesMs: number[];
}

/**
 * Runs `total` calls of `call(worker, i)` with `concurrency` workers in
 * parallel (closed loop: each worker sends its next request when the last
 * one answered), recording each call's latency.
 */
export async function runClosedLoop(
  concurrency: number,
  total: number,
  call: (worker: number, i: number) => Promise<void>,
): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t0 = performance.now();
        try {
          await call(worker, i);
          latenciesMs.push(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ??= err;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (errors > 0) console.error(`  ${errors} errors; first:`, firstError);
  return { requests: total, errors, seconds, throughput: (total - errors) / seconds, latenciesMs };
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

export function printTable(rows: readonly Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padEnd(width[i] ?? 0)).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}
