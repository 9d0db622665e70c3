import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isWarmStateError } from '../../lambda/errors.js';
import type { SnapshotStore } from '../../lambda/stores/base-snapshot-store.js';
import { FileSnapshotStore } from '../../lambda/stores/file-snapshot-store.js';
import { MemorySnapshotStore } from '../../lambda/stores/memory-snapshot-store.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import { packageRoot } from '../../src/paths.js';
import { deleteByPrefix, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const run = promisify(execFile);

interface Made {
  readonly store: SnapshotStore;
  /** Arguments for test/helpers/lambda-cas-writer.mjs; absent when the store is process-local. */
  readonly writerArgs?: Record<string, unknown>;
}

interface Impl {
  readonly name: string;
  /** Stores other processes can share (they get the multi-process race). */
  readonly shared: boolean;
  /** A fresh, empty store; cleanup is registered on the running test. */
  readonly make: (opts?: { maxSnapshotBytes?: number }) => Promise<Made>;
}

const impls: Impl[] = [
  {
    name: 'MemorySnapshotStore',
    shared: false,
    make: (opts = {}) => Promise.resolve({ store: new MemorySnapshotStore(opts) }),
  },
  {
    name: 'FileSnapshotStore',
    shared: true,
    make: async (opts = {}) => {
      const directory = await mkdtemp(join(tmpdir(), 'wr-snap-'));
      onTestFinished(() => rm(directory, { recursive: true, force: true }));
      return {
        store: new FileSnapshotStore({ ...opts, directory }),
        writerArgs: { kind: 'file', directory },
      };
    },
  },
  {
    name: 'RedisSnapshotStore',
    shared: true,
    make: (opts = {}) => {
      const keyPrefix = uniquePrefix('snapshot');
      const store = new RedisSnapshotStore({ ...opts, url: SHARED_REDIS_URL, keyPrefix });
      onTestFinished(async () => {
        await store.close();
        await deleteByPrefix(SHARED_REDIS_URL, keyPrefix);
      });
      return Promise.resolve({
        store,
        writerArgs: { kind: 'redis', url: SHARED_REDIS_URL, prefix: keyPrefix },
      });
    },
  },
];

const content = (text: string, dir = Buffer.alloc(0)): { state: Buffer; dir: Buffer } => ({
  state: Buffer.from(text),
  dir,
});

/** Read-modify-write increments of a JSON counter, retrying lost races; returns the versions won. */
async function incrementer(store: SnapshotStore, key: string, times: number): Promise<number[]> {
  const won: number[] = [];
  for (let i = 0; i < times; i++) {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const snap = await store.read(key);
      const counter =
        snap === undefined ? 0 : (JSON.parse(snap.state.toString()) as { counter: number }).counter;
      const res = await store.write(
        key,
        snap?.version ?? 0,
        content(JSON.stringify({ counter: counter + 1 })),
      );
      if (res.ok) {
        won.push(res.version);
        break;
      }
      expect(res.currentVersion).toBeGreaterThan(snap?.version ?? 0);
    }
  }
  return won;
}

describe.each(impls)('snapshot store contract: $name', (impl) => {
  it('has nothing for an unknown key', async () => {
    const { store } = await impl.make();
    expect(await store.read('nope')).toBeUndefined();
    expect(await store.readVersion('nope')).toBe(0);
  });

  it('writes version 1 from nothing and reads back state and directory bytes exactly', async () => {
    const { store } = await impl.make();
    const dir = Buffer.from([0, 1, 2, 255, 254]);

    const res = await store.write('k', 0, content('{"a":1}', dir));

    expect(res).toEqual({ ok: true, version: 1 });
    const snap = await store.read('k');
    expect(snap?.version).toBe(1);
    expect(snap?.state.toString()).toBe('{"a":1}');
    expect(Buffer.compare(snap!.dir, dir)).toBe(0);
    expect(await store.readVersion('k')).toBe(1);
  });

  it('refuses a write whose expected version is not the stored one, and changes nothing', async () => {
    const { store } = await impl.make();
    await store.write('k', 0, content('one'));
    await store.write('k', 1, content('two'));

    const fromNothing = await store.write('k', 0, content('stale-a'));
    const behind = await store.write('k', 1, content('stale-b'));
    const ahead = await store.write('k', 5, content('future'));

    expect(fromNothing).toEqual({ ok: false, currentVersion: 2 });
    expect(behind).toEqual({ ok: false, currentVersion: 2 });
    expect(ahead).toEqual({ ok: false, currentVersion: 2 });
    const snap = await store.read('k');
    expect(snap?.version).toBe(2);
    expect(snap?.state.toString()).toBe('two');
  });

  it('keeps keys apart', async () => {
    const { store } = await impl.make();
    await store.write('a', 0, content('A'));
    await store.write('b', 0, content('B'));
    await store.write('b', 1, content('B2'));
    expect((await store.read('a'))?.state.toString()).toBe('A');
    expect(await store.readVersion('b')).toBe(2);
  });

  it('throws WR_ERR_SNAPSHOT_TOO_LARGE past maxSnapshotBytes and writes nothing', async () => {
    const { store } = await impl.make({ maxSnapshotBytes: 1024 });
    await store.write('k', 0, content('small'));

    const err: unknown = await store
      .write('k', 1, content('x'.repeat(2000)))
      .catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_TOO_LARGE')).toBe(true);
    expect((await store.read('k'))?.state.toString()).toBe('small');
  });

  it('deletes a key', async () => {
    const { store } = await impl.make();
    await store.write('k', 0, content('x'));
    await store.delete('k');
    expect(await store.read('k')).toBeUndefined();
    expect(await store.readVersion('k')).toBe(0);
  });

  it('CAS race: of 40 concurrent writers expecting the same version exactly one wins', async () => {
    const { store } = await impl.make();
    await store.write('k', 0, content('base'));

    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.write('k', 1, content(`writer-${i}`))),
    );

    const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(results.every((r) => r.ok || r.currentVersion === 2)).toBe(true);
    expect((await store.read('k'))?.state.toString()).toBe(`writer-${winners[0]!}`);
  });

  it('increment race (8 concurrent writers x 10): one winner per version, none lost, final state consistent', async () => {
    const { store } = await impl.make();
    let lastSeen = 0;
    let backwards = false;
    const watching = { on: true };
    // A reader alongside the writers: the version it observes never goes down.
    const watcher = (async () => {
      while (watching.on) {
        const v = await store.readVersion('k');
        if (v < lastSeen) backwards = true;
        lastSeen = v;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();

    const won = await Promise.all(Array.from({ length: 8 }, () => incrementer(store, 'k', 10)));
    watching.on = false;
    await watcher;

    const all = won.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    const snap = await store.read('k');
    expect(snap?.version).toBe(80);
    expect(JSON.parse(snap!.state.toString())).toEqual({ counter: 80 });
    expect(backwards).toBe(false);
  });

  // Only stores shared between processes get this one (the memory store is process-local).
  if (impl.shared) {
    it('increment race across 4 writer processes: one winner per version, final state consistent', async () => {
      const script = join(packageRoot, 'test', 'helpers', 'lambda-cas-writer.mjs');
      expect(
        existsSync(join(packageRoot, 'dist', 'lambda', 'index.js')),
        'run npm run build first',
      ).toBe(true);
      const { store, writerArgs } = await impl.make();
      const args = { ...writerArgs, key: 'k', increments: 15 };

      const outputs = await Promise.all(
        Array.from({ length: 4 }, () =>
          run(process.execPath, [script, JSON.stringify(args)], { timeout: 60_000 }),
        ),
      );

      const won = outputs
        .flatMap((o) => (JSON.parse(o.stdout) as { won: number[] }).won)
        .sort((a, b) => a - b);
      expect(won).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      const snap = await store.read('k');
      expect(snap?.version).toBe(60);
      expect(JSON.parse(snap!.state.toString())).toEqual({ counter: 60 });
    });
  }
});

describe('FileSnapshotStore specifics', () => {
  it('breaks a lock left by a dead process', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wr-snap-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const store = new FileSnapshotStore({ directory, lockTimeoutMs: 5_000 });
    await store.write('k', 0, content('one'));
    const dead = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const { hostname } = await import('node:os');
    const snapFile = (await import('node:fs/promises')).readdir(directory);
    const name = (await snapFile).find((f) => f.endsWith('.snap'))!;
    await writeFile(join(directory, `${name}.lock`), `${dead.stdout}\n${hostname()}\nabandoned`);

    const res = await store.write('k', 1, content('two'));

    expect(res).toEqual({ ok: true, version: 2 });
    expect(existsSync(join(directory, `${name}.lock`))).toBe(false);
  });

  it('times out with WR_ERR_SNAPSHOT_STORE behind a live lock', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wr-snap-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const store = new FileSnapshotStore({ directory, lockTimeoutMs: 200, lockStaleMs: 60_000 });
    await store.write('k', 0, content('one'));
    const { hostname } = await import('node:os');
    const name = (await (await import('node:fs/promises')).readdir(directory)).find((f) =>
      f.endsWith('.snap'),
    )!;
    await writeFile(join(directory, `${name}.lock`), `${process.pid}\n${hostname()}\nheld`);

    const err: unknown = await store.write('k', 1, content('two')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_STORE')).toBe(true);
    expect((await store.read('k'))?.state.toString()).toBe('one');
  });

  it('reports a corrupt file as WR_ERR_SNAPSHOT_CORRUPT', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wr-snap-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const store = new FileSnapshotStore({ directory });
    await store.write('k', 0, content('one'));
    const name = (await (await import('node:fs/promises')).readdir(directory)).find((f) =>
      f.endsWith('.snap'),
    )!;
    await writeFile(join(directory, name), 'garbage that is not a snapshot');

    const err: unknown = await store.read('k').catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_CORRUPT')).toBe(true);
  });
});

describe('RedisSnapshotStore specifics', () => {
  it('still writes after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    const keyPrefix = uniquePrefix('snapshot');
    const store = new RedisSnapshotStore({ url: SHARED_REDIS_URL, keyPrefix });
    onTestFinished(async () => {
      await store.close();
      await deleteByPrefix(SHARED_REDIS_URL, keyPrefix);
    });
    await store.write('k', 0, content('one'));
    const { Redis } = await import('ioredis');
    const admin = new Redis(SHARED_REDIS_URL);
    onTestFinished(() => {
      admin.disconnect();
    });
    await admin.script('FLUSH');

    const res = await store.write('k', 1, content('two'));

    expect(res).toEqual({ ok: true, version: 2 });
    expect(await admin.hget(store.keyOf('k'), 'v')).toBe('2');
  });

  it('fails fast with WR_ERR_SNAPSHOT_STORE when Redis is unreachable', async () => {
    const store = new RedisSnapshotStore({
      url: 'redis://127.0.0.1:1',
      keyPrefix: uniquePrefix('snapshot'),
    });
    onTestFinished(() => store.close());

    const err: unknown = await store.read('k').catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_STORE')).toBe(true);
  });
});
