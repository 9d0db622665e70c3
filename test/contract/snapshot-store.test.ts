import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { isWarmStateError } from '../../lambda/errors.js';
import type { SnapshotScope } from '../../lambda/snapshot-scope.js';
import type { SnapshotStore } from '../../lambda/stores/base-snapshot-store.js';
import { FileSnapshotStore } from '../../lambda/stores/file-snapshot-store.js';
import { MemorySnapshotStore } from '../../lambda/stores/memory-snapshot-store.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import { packageRoot } from '../../src/paths.js';
import { formatSeed } from '../../src/redis/cluster-seeds.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { deleteByPrefix, privateRedis, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

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

let cluster: Promise<RedisCluster> | undefined;

/** The seed list of this file's cluster, started at its first use (3 masters, 3 replicas). */
async function clusterSeeds(): Promise<string> {
  cluster ??= startRedisCluster();
  return (await cluster).seeds.map((seed) => formatSeed(seed)).join(',');
}

async function runningCluster(): Promise<RedisCluster> {
  await clusterSeeds();
  if (cluster === undefined) throw new Error('the cluster did not start');
  return cluster;
}

afterAll(async () => {
  await (await cluster)?.stop();
}, 30_000);

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
  {
    name: 'RedisSnapshotStore on a Redis Cluster',
    shared: true,
    make: async (opts = {}) => {
      // Private to this file (stopped in afterAll), so a unique prefix per test is cleanup enough.
      const clusterNodes = await clusterSeeds();
      const keyPrefix = uniquePrefix('snapshot');
      const store = new RedisSnapshotStore({ ...opts, clusterNodes, keyPrefix });
      onTestFinished(() => store.close());
      return { store, writerArgs: { kind: 'redis', clusterNodes, prefix: keyPrefix } };
    },
  },
];

/** A scope in one function, namespace, epoch and generation; `over` changes any of them. */
const at = (key: string, over: Partial<SnapshotScope> = {}): SnapshotScope => ({
  functionName: 'fn-a',
  namespace: 'ns-a',
  epoch: 'epoch-a',
  generation: 0,
  key,
  ...over,
});

const content = (text: string, dir = Buffer.alloc(0)): { state: Buffer; dir: Buffer } => ({
  state: Buffer.from(text),
  dir,
});

/** Read-modify-write increments of a JSON counter, retrying lost races; returns the versions won. */
async function incrementer(store: SnapshotStore, key: string, times: number): Promise<number[]> {
  const won: number[] = [];
  for (let i = 0; i < times; i++) {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const snap = await store.read(at(key));
      const counter =
        snap === undefined ? 0 : (JSON.parse(snap.state.toString()) as { counter: number }).counter;
      const res = await store.write(
        at(key),
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
    expect(await store.read(at('nope'))).toBeUndefined();
    expect(await store.readVersion(at('nope'))).toBe(0);
  });

  it('writes version 1 from nothing and reads back state and directory bytes exactly', async () => {
    const { store } = await impl.make();
    const dir = Buffer.from([0, 1, 2, 255, 254]);

    const res = await store.write(at('k'), 0, content('{"a":1}', dir));

    expect(res).toEqual({ ok: true, version: 1 });
    const snap = await store.read(at('k'));
    expect(snap?.version).toBe(1);
    expect(snap?.state.toString()).toBe('{"a":1}');
    expect(Buffer.compare(snap!.dir, dir)).toBe(0);
    expect(await store.readVersion(at('k'))).toBe(1);
  });

  it('refuses a write whose expected version is not the stored one, and changes nothing', async () => {
    const { store } = await impl.make();
    await store.write(at('k'), 0, content('one'));
    await store.write(at('k'), 1, content('two'));

    const fromNothing = await store.write(at('k'), 0, content('stale-a'));
    const behind = await store.write(at('k'), 1, content('stale-b'));
    const ahead = await store.write(at('k'), 5, content('future'));

    expect(fromNothing).toEqual({ ok: false, currentVersion: 2 });
    expect(behind).toEqual({ ok: false, currentVersion: 2 });
    expect(ahead).toEqual({ ok: false, currentVersion: 2 });
    const snap = await store.read(at('k'));
    expect(snap?.version).toBe(2);
    expect(snap?.state.toString()).toBe('two');
  });

  it('keeps keys apart', async () => {
    const { store } = await impl.make();
    await store.write(at('a'), 0, content('A'));
    await store.write(at('b'), 0, content('B'));
    await store.write(at('b'), 1, content('B2'));
    expect((await store.read(at('a')))?.state.toString()).toBe('A');
    expect(await store.readVersion(at('b'))).toBe(2);
  });

  it('keeps scopes apart: two functions, namespaces, epochs or generations of one key never read or overwrite each other', async () => {
    // Prepare: the same key under six scopes that differ in one field each (issue 11, defect 2).
    const { store } = await impl.make();
    const scopes = [
      at('k'),
      at('k', { functionName: 'fn-b' }),
      at('k', { namespace: 'ns-b' }),
      at('k', { epoch: 'epoch-b' }),
      at('k', { generation: 1 }),
      at('k', { generation: 2 }),
    ];

    // Act: every scope starts from nothing; the first one is then written again.
    const first = await Promise.all(scopes.map((s, i) => store.write(s, 0, content(`v${i}`))));
    const again = await store.write(scopes[0]!, 1, content('v0-second'));
    await store.delete(scopes[1]!);

    // Assess: each scope saw no snapshot before its own write, and holds only its own.
    expect(first).toEqual(scopes.map(() => ({ ok: true, version: 1 })));
    expect(again).toEqual({ ok: true, version: 2 });
    const read = await Promise.all(
      scopes.map(async (s) => (await store.read(s))?.state.toString()),
    );
    expect(read).toEqual(['v0-second', undefined, 'v2', 'v3', 'v4', 'v5']);
    expect(await Promise.all(scopes.map((s) => store.readVersion(s)))).toEqual([2, 0, 1, 1, 1, 1]);
  });

  it('keeps scopes apart whose fields only differ in where one ends and the next begins', async () => {
    const { store } = await impl.make();
    const scopes = [
      at('k', { functionName: 'ab', namespace: 'c' }),
      at('k', { functionName: 'a', namespace: 'bc' }),
      at('k\u0000x', { epoch: 'e' }),
      at('k', { epoch: 'e\u0000x' }),
      at('k#g1', { generation: 0 }),
      at('k', { generation: 1 }),
      at('../k', {}),
      at('k', { namespace: 'ns-a/..' }),
    ];

    for (const [i, s] of scopes.entries()) await store.write(s, 0, content(`v${i}`));

    const read = await Promise.all(
      scopes.map(async (s) => (await store.read(s))?.state.toString()),
    );
    expect(read).toEqual(scopes.map((_, i) => `v${i}`));
  });

  it('refuses a malformed scope before any I/O', async () => {
    const { store } = await impl.make();
    const bad = [
      'k',
      { ...at('k'), generation: -1 },
      { ...at('k'), generation: 1.5 },
      { ...at('k'), key: '' },
      { ...at('k'), functionName: undefined },
    ] as unknown as SnapshotScope[];

    for (const scope of bad) {
      const err: unknown = await store.read(scope).catch((e: unknown) => e);
      expect(isWarmStateError(err, 'WR_ERR_WARM_STATE_OPTIONS')).toBe(true);
    }
  });

  it('throws WR_ERR_SNAPSHOT_TOO_LARGE past maxSnapshotBytes and writes nothing', async () => {
    const { store } = await impl.make({ maxSnapshotBytes: 1024 });
    await store.write(at('k'), 0, content('small'));

    const err: unknown = await store
      .write(at('k'), 1, content('x'.repeat(2000)))
      .catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_TOO_LARGE')).toBe(true);
    expect((await store.read(at('k')))?.state.toString()).toBe('small');
  });

  it('deletes a key', async () => {
    const { store } = await impl.make();
    await store.write(at('k'), 0, content('x'));
    await store.delete(at('k'));
    expect(await store.read(at('k'))).toBeUndefined();
    expect(await store.readVersion(at('k'))).toBe(0);
  });

  it('CAS race: of 40 concurrent writers expecting the same version exactly one wins', async () => {
    const { store } = await impl.make();
    await store.write(at('k'), 0, content('base'));

    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.write(at('k'), 1, content(`writer-${i}`))),
    );

    const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(results.every((r) => r.ok || r.currentVersion === 2)).toBe(true);
    expect((await store.read(at('k')))?.state.toString()).toBe(`writer-${winners[0]!}`);
  });

  it('increment race (8 concurrent writers x 10): one winner per version, none lost, final state consistent', async () => {
    const { store } = await impl.make();
    let lastSeen = 0;
    let backwards = false;
    const watching = { on: true };
    // A reader alongside the writers: the version it observes never goes down.
    const watcher = (async () => {
      while (watching.on) {
        const v = await store.readVersion(at('k'));
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
    const snap = await store.read(at('k'));
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
      const args = { ...writerArgs, scope: at('k'), increments: 15 };

      const outputs = await Promise.all(
        Array.from({ length: 4 }, () =>
          run(process.execPath, [script, JSON.stringify(args)], { timeout: 60_000 }),
        ),
      );

      const won = outputs
        .flatMap((o) => (JSON.parse(o.stdout) as { won: number[] }).won)
        .sort((a, b) => a - b);
      expect(won).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      const snap = await store.read(at('k'));
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
    await store.write(at('k'), 0, content('one'));
    const dead = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const { hostname } = await import('node:os');
    const snapFile = (await import('node:fs/promises')).readdir(directory);
    const name = (await snapFile).find((f) => f.endsWith('.snap'))!;
    await writeFile(join(directory, `${name}.lock`), `${dead.stdout}\n${hostname()}\nabandoned`);

    const res = await store.write(at('k'), 1, content('two'));

    expect(res).toEqual({ ok: true, version: 2 });
    expect(existsSync(join(directory, `${name}.lock`))).toBe(false);
  });

  it('times out with WR_ERR_SNAPSHOT_STORE behind a live lock', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wr-snap-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const store = new FileSnapshotStore({ directory, lockTimeoutMs: 200, lockStaleMs: 60_000 });
    await store.write(at('k'), 0, content('one'));
    const { hostname } = await import('node:os');
    const name = (await (await import('node:fs/promises')).readdir(directory)).find((f) =>
      f.endsWith('.snap'),
    )!;
    await writeFile(join(directory, `${name}.lock`), `${process.pid}\n${hostname()}\nheld`);

    const err: unknown = await store.write(at('k'), 1, content('two')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_STORE')).toBe(true);
    expect((await store.read(at('k')))?.state.toString()).toBe('one');
  });

  it('reports a corrupt file as WR_ERR_SNAPSHOT_CORRUPT', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wr-snap-'));
    onTestFinished(() => rm(directory, { recursive: true, force: true }));
    const store = new FileSnapshotStore({ directory });
    await store.write(at('k'), 0, content('one'));
    const name = (await (await import('node:fs/promises')).readdir(directory)).find((f) =>
      f.endsWith('.snap'),
    )!;
    await writeFile(join(directory, name), 'garbage that is not a snapshot');

    const err: unknown = await store.read(at('k')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_CORRUPT')).toBe(true);
  });
});

describe('RedisSnapshotStore specifics', () => {
  it('still writes after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    // SCRIPT FLUSH is server-wide: it runs on a private server, never the shared one.
    const redis = await privateRedis();
    const keyPrefix = uniquePrefix('snapshot');
    const store = new RedisSnapshotStore({ url: redis.url, keyPrefix });
    onTestFinished(() => store.close());
    await store.write(at('k'), 0, content('one'));
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url);
    onTestFinished(() => {
      admin.disconnect();
    });
    await admin.script('FLUSH');

    const res = await store.write(at('k'), 1, content('two'));

    expect(res).toEqual({ ok: true, version: 2 });
    expect(await admin.hget(store.keyOf(at('k')), 'v')).toBe('2');
  });

  it('fails fast with WR_ERR_SNAPSHOT_STORE when Redis is unreachable', async () => {
    const store = new RedisSnapshotStore({
      url: 'redis://127.0.0.1:1',
      keyPrefix: uniquePrefix('snapshot'),
    });
    onTestFinished(() => store.close());

    const err: unknown = await store.read(at('k')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_STORE')).toBe(true);
  });
});

describe('RedisSnapshotStore on a Redis Cluster, specifics', () => {
  it('spreads snapshots over every master (each snapshot is one key, hashed on its own)', async () => {
    // Prepare
    const clusterNodes = await clusterSeeds();
    const keyPrefix = uniquePrefix('snapshot');
    const store = new RedisSnapshotStore({ clusterNodes, keyPrefix });
    onTestFinished(() => store.close());

    // Act
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => store.write(at(`k${i}`), 0, content(`v${i}`))),
    );

    // Assess: 60 keys over 3 masters by CRC16; each master holds some (p(one empty) ~ 3 * (2/3)^60).
    const counts = await (await runningCluster()).countKeysPerMaster(`${keyPrefix}*`);
    expect(counts).toHaveLength(3);
    for (const { keys } of counts) expect(keys).toBeGreaterThan(0);
    expect(counts.reduce((sum, c) => sum + c.keys, 0)).toBe(60);
    expect((await store.read(at('k7')))?.state.toString()).toBe('v7');
  });

  it('still writes after SCRIPT FLUSH on every master (NOSCRIPT fallback per node)', async () => {
    // Prepare: a cached script on every master, then flushed.
    const clusterNodes = await clusterSeeds();
    const keyPrefix = uniquePrefix('snapshot');
    const store = new RedisSnapshotStore({ clusterNodes, keyPrefix });
    onTestFinished(() => store.close());
    const keys = Array.from({ length: 30 }, (_, i) => at(`k${i}`));
    await Promise.all(keys.map((scope) => store.write(scope, 0, content('one'))));
    const { Redis } = await import('ioredis');
    for (const master of await (await runningCluster()).masters()) {
      const admin = new Redis({ host: '127.0.0.1', port: master.port });
      onTestFinished(() => {
        admin.disconnect();
      });
      await admin.script('FLUSH');
    }

    // Act
    const results = await Promise.all(keys.map((scope) => store.write(scope, 1, content('two'))));

    // Assess
    expect(results).toEqual(keys.map(() => ({ ok: true, version: 2 })));
  });

  it('fails fast with WR_ERR_SNAPSHOT_STORE when no seed answers', async () => {
    const store = new RedisSnapshotStore({
      clusterNodes: '127.0.0.1:1',
      keyPrefix: uniquePrefix('snapshot'),
    });
    onTestFinished(() => store.close());

    const err: unknown = await store.read(at('k')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_STORE')).toBe(true);
  });
});
