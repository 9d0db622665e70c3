import { loadConfig } from '../src/config/load-config.js';
import { schedulerSettingsOf } from '../src/create-dependencies.js';
import { createScheduler } from '../src/scheduler/index.js';
import type { Scheduler, Ticket } from '../src/scheduler/index.js';
import { formatCount, type SectionInfo } from './lib/bench-cli.js';
import { startProgress } from './lib/progress.js';

/**
 * Scheduler overhead. The gateway calls `run()` on every request, so what
 * matters is the uncontended path (key idle, slots free) measured against
 * awaiting the same `fn` directly, side by side: rounds of each variant are
 * interleaved and the median round counts, so drift on a shared machine
 * hits both alike. A contended case (more jobs than global slots, several
 * tenants) shows the cost of queuing and handing slots over.
 *
 * Reading `ticket.signal` costs an AbortController (≈1.7 µs on Node 20) and
 * a timer, which is why the signal is created lazily.
 */

const work = (): Promise<number> => Promise.resolve(1);
const fn = (_ticket: Ticket): Promise<number> => Promise.resolve(1);
const fnWithSignal = (ticket: Ticket): Promise<number> =>
  Promise.resolve(ticket.signal.aborted ? 0 : 1);

type Variant = (n: number) => Promise<void>;

/** Operations per timed run, and interleaved rounds (the median counts). */
export const SIZES = {
  quick: { operations: 50_000, rounds: 5 },
  full: { operations: 200_000, rounds: 11 },
} as const;
const VARIANTS = 7;
const WARM_UP_MAX = 20_000;

const sizeOf = (s: { operations: number; rounds: number }): string =>
  `${VARIANTS} variants × ${s.rounds} rounds × ${formatCount(s.operations)} operations (+ a warm-up run each)`;

export const info: SectionInfo = {
  size: { quick: sizeOf(SIZES.quick), full: sizeOf(SIZES.full) },
  duration: { quick: '~10–20 s', full: '~1.5–3 min' },
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const keys = Array.from({ length: 1024 }, (_, i) => `key-${i}`);

/** Sequential awaits: the per-call latency cost. */
function sequential(scheduler: Scheduler, body: (ticket: Ticket) => Promise<number>): Variant {
  return async (n) => {
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < n; i++) {
      const key = keys[i & 1023] ?? 'k';
      await scheduler.run({ key, tenantId: key, deadline }, body);
    }
  };
}

/** `width` jobs in flight at once on distinct keys and tenants, all under the caps. */
function concurrent(scheduler: Scheduler | undefined, width: number): Variant {
  return async (n) => {
    const deadline = Date.now() + 60_000;
    for (let done = 0; done < n; done += width) {
      const batch: Promise<number>[] = [];
      for (let i = 0; i < width; i++) {
        const key = keys[i & 1023] ?? 'k';
        batch.push(
          scheduler === undefined ? work() : scheduler.run({ key, tenantId: key, deadline }, fn),
        );
      }
      await Promise.all(batch);
    }
  };
}

async function measure(
  variants: Record<string, Variant>,
  n: number,
  rounds: number,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(variants)) samples[name] = [];
  const names = Object.keys(variants);
  if (names.length !== VARIANTS) throw new Error('bench: VARIANTS is out of date');
  // Ticks fall between timed runs, never inside one.
  const progress = startProgress('scheduler', names.length * (rounds + 1), 'runs');
  try {
    progress.phase('warm-up');
    for (const run of Object.values(variants)) {
      await run(Math.min(n, WARM_UP_MAX));
      progress.tick();
    }
    for (let r = 0; r < rounds; r++) {
      progress.phase(`round ${r + 1}/${rounds}`);
      for (const [name, run] of Object.entries(variants)) {
        const start = process.hrtime.bigint();
        await run(n);
        samples[name]?.push(Number(process.hrtime.bigint() - start) / n);
        progress.tick();
      }
    }
  } finally {
    progress.done();
  }
  const out: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) out[name] = median(values);
  return out;
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const { operations: n, rounds } = opts.quick ? SIZES.quick : SIZES.full;
  // The settings of a gateway with an empty config, as `warmroute start` builds them.
  const settings = schedulerSettingsOf(loadConfig({}));
  const scheduler = createScheduler(settings);
  // Contended: 64 in flight over 8 global slots, 4 tenants × 16 keys.
  const contended = createScheduler({ ...settings, globalConcurrency: 8 });

  const ns = await measure(
    {
      direct: async (count) => {
        for (let i = 0; i < count; i++) await work();
      },
      // The least any wrapper that releases slots when fn settles can cost: one more promise hop.
      wrapped: async (count) => {
        let settled = 0;
        const wrap = async (body: () => Promise<number>): Promise<number> => {
          try {
            return await body();
          } finally {
            settled++;
          }
        };
        for (let i = 0; i < count; i++) await wrap(work);
        if (settled !== count) throw new Error('wrapper lost a call');
      },
      scheduled: sequential(scheduler, fn),
      scheduledWithSignal: sequential(scheduler, fnWithSignal),
      direct64: concurrent(undefined, 64),
      scheduled64: concurrent(scheduler, 64),
      contended64: async (count) => {
        const deadline = Date.now() + 60_000;
        for (let done = 0; done < count; done += 64) {
          const batch: Promise<number>[] = [];
          for (let i = 0; i < 64; i++) {
            batch.push(
              contended.run({ key: keys[i] ?? 'k', tenantId: `tenant-${i & 3}`, deadline }, fn),
            );
          }
          await Promise.all(batch);
        }
      },
    },
    n,
    rounds,
  );

  const direct = ns.direct ?? Number.NaN;
  const direct64 = ns.direct64 ?? Number.NaN;
  const rows: [string, number, number][] = [
    ['await fn() directly (sequential)', direct, direct],
    ['async try/await/finally wrapper (sequential)', ns.wrapped ?? Number.NaN, direct],
    ['scheduler.run(), uncontended (sequential)', ns.scheduled ?? Number.NaN, direct],
    ['  … fn reads ticket.signal (deadline timer)', ns.scheduledWithSignal ?? Number.NaN, direct],
    ['fn() directly, 64 in flight', direct64, direct64],
    ['scheduler.run(), 64 in flight, uncontended', ns.scheduled64 ?? Number.NaN, direct64],
    ['scheduler.run(), 64 in flight over 8 slots', ns.contended64 ?? Number.NaN, direct64],
  ];
  console.log(
    `${'case'.padEnd(48)} ${'ns/op'.padStart(8)} ${'overhead ns'.padStart(12)} ${'ratio'.padStart(7)}`,
  );
  for (const [name, value, base] of rows) {
    console.log(
      `${name.padEnd(48)} ${value.toFixed(0).padStart(8)} ${(value - base).toFixed(0).padStart(12)} ${(value / base).toFixed(2).padStart(7)}`,
    );
  }
  await scheduler.drain(1_000);
  await contended.drain(1_000);

  const round = (x: number | undefined): number => Math.round(x ?? Number.NaN);
  return {
    operations: n,
    rounds,
    nsPerOp: Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, round(v)])),
    uncontendedOverheadNs: round((ns.scheduled ?? Number.NaN) - direct),
    // What the scheduler's bookkeeping adds beyond the unavoidable promise hop.
    bookkeepingNs: round((ns.scheduled ?? Number.NaN) - (ns.wrapped ?? Number.NaN)),
    uncontendedOverheadNsWithSignal: round((ns.scheduledWithSignal ?? Number.NaN) - direct),
    uncontendedOverheadNs64: round((ns.scheduled64 ?? Number.NaN) - direct64),
    contendedOverheadNs64: round((ns.contended64 ?? Number.NaN) - direct64),
  };
}

// Run directly: `node dist/bench/scheduler.js [--quick]`.
if (
  process.argv[1]?.endsWith('scheduler.js') === true &&
  import.meta.url.endsWith('/bench/scheduler.js')
) {
  await bench({ quick: process.argv.includes('--quick') });
}
