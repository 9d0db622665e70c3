import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ENVELOPE_REPORT_FIELD, PROTOCOL_VERSION, type WarmEnvelope } from '../lambda/protocol.js';
import type { SnapshotStore } from '../lambda/stores/base-snapshot-store.js';
import { FileSnapshotStore } from '../lambda/stores/file-snapshot-store.js';
import { RedisSnapshotStore } from '../lambda/stores/redis-snapshot-store.js';
import { createWarmEnvironment } from '../lambda/warm-environment.js';

/**
 * Rehydration cost of the function library: a 1 MB state and a 10 MB
 * directory (incompressible bytes: the worst case for the gzip archive),
 * restored by a new environment from the file store and the Redis store,
 * next to a warm hit of the same key in the same run.
 */

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
  name: '1 MB state' | '10 MB directory',
  runs: number,
  root: string,
): Promise<CaseResult> {
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
  const seeded = await store.read(key);
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
  }
  await store.delete(key);
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

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const runs = opts.quick ? 3 : 10;
  const root = await mkdtemp(join(tmpdir(), 'wr-bench-rehydrate-'));
  const snapDir = await mkdtemp(join(tmpdir(), 'wr-bench-snap-'));
  const results: CaseResult[] = [];
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
    for (const [name, store] of stores) {
      try {
        results.push(await runCase(name, store, '1 MB state', runs, root));
        results.push(await runCase(name, store, '10 MB directory', runs, root));
      } finally {
        await store.close();
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(snapDir, { recursive: true, force: true });
  }
  console.log(
    `\nrehydrate (median of ${runs}; new environment restoring from the store vs a warm hit)`,
  );
  console.table(results);
  return { runs, results };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  await bench({ quick: process.argv.includes('--quick') });
}
