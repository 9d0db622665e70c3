import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { WarmEnvelope } from '../../lambda/protocol.js';
import { LEGACY_NAMESPACE, snapshotId } from '../../lambda/snapshot-scope.js';
import type { SnapshotStore } from '../../lambda/stores/base-snapshot-store.js';
import { FileSnapshotStore } from '../../lambda/stores/file-snapshot-store.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import type { WarmHandler } from '../../lambda/types.js';
import { createWarmEnvironment } from '../../lambda/warm-environment.js';
import { packageRoot } from '../../src/paths.js';
import { snapshotKey } from '../../src/redis/keys.js';
import { gatewayContext, gatewayScope, unwrap } from '../helpers/lambda-context.js';
import { deleteByPrefix, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const run = promisify(execFile);

interface Counter {
  counter: number;
}

const counterWithFile: WarmHandler<unknown, Counter, Counter> = async (_e, _c, state) => {
  const { counter } = state.get();
  state.set({ counter: counter + 1 });
  // The directory is snapshotted too: one line per increment.
  await appendFile(join(state.dir, 'log.txt'), `${counter}\n`);
  return { counter };
};

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `wr-${label}-`));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const stores: { name: string; make: () => Promise<SnapshotStore> }[] = [
  { name: 'file', make: async () => new FileSnapshotStore({ directory: await tempDir('snap') }) },
  {
    name: 'redis',
    make: () => {
      const keyPrefix = uniquePrefix('warmstate');
      const store = new RedisSnapshotStore({ url: SHARED_REDIS_URL, keyPrefix });
      onTestFinished(async () => {
        await store.close();
        await deleteByPrefix(SHARED_REDIS_URL, keyPrefix);
      });
      return Promise.resolve(store);
    },
  },
];

describe.each(stores)('withWarmState over the $name store', ({ make }) => {
  it('20 concurrent increments across 3 environments: final count 20, directory log complete, no stale response', async () => {
    const store = await make();
    const root = await tempDir('envs');
    const fns = [0, 1, 2].map((i) =>
      createWarmEnvironment({ id: `e${i}`, tmpDir: root }).withWarmState(counterWithFile, {
        initialState: () => ({ counter: 0 }),
        store,
        verify: 'gateway',
        maxConflictRetries: 100,
      }),
    );

    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        unwrap<Counter>(await fns[i % 3]!({}, gatewayContext('k'))),
      ),
    );

    expect(results.map((r) => r.result.counter).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(results.map((r) => r.report.stateVersion).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const snap = await store.read(gatewayScope('k'));
    expect(snap?.version).toBe(20);
    expect(JSON.parse(snap!.state.toString())).toEqual({ counter: 20 });
    // A fourth environment restores the directory: every increment logged once, in order.
    const fourth = createWarmEnvironment({ id: 'e3', tmpDir: root }).withWarmState<
      unknown,
      string,
      Counter
    >((_e, _c, s) => readFile(join(s.dir, 'log.txt'), 'utf8'), {
      initialState: () => ({ counter: 0 }),
      store,
      checkpoint: 'manual',
    });
    const log = unwrap<string>(await fourth({}, gatewayContext('k')));
    expect(log.result.split('\n').filter(Boolean).map(Number)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(log.report).toMatchObject({
      state: 'rehydrated',
      reason: 'first-use',
      stateVersion: 20,
    });
  });
});

describe('warm-counter example in separate processes (one environment each)', () => {
  const distReady = existsSync(join(packageRoot, 'dist', 'lambda', 'index.js'));

  it.each([
    { name: 'file', env: async () => ({ WARMROUTE_SNAPSHOT_DIR: await tempDir('snap') }) },
    {
      name: 'redis',
      env: () => Promise.resolve({ WARMROUTE_SNAPSHOT_REDIS_URL: SHARED_REDIS_URL }),
    },
  ])(
    'two processes incrementing one key concurrently over the $name store lose nothing',
    async ({ env }) => {
      expect(distReady, 'run npm run build first').toBe(true);
      const key = `it-${randomBytes(6).toString('hex')}`;
      // The processes send a request without scope and name no function (see lambda-env-process.mjs).
      const scope = {
        functionName: '',
        namespace: LEGACY_NAMESPACE,
        epoch: '',
        generation: 0,
        key,
      };
      onTestFinished(() =>
        deleteByPrefix(SHARED_REDIS_URL, snapshotKey('warmroute:', snapshotId(scope))),
      );
      const extra = await env();
      const script = join(packageRoot, 'test', 'helpers', 'lambda-env-process.mjs');
      const spawnEnv = async (count: number): Promise<WarmEnvelope<{ body: string }>[]> => {
        const { stdout } = await run(
          process.execPath,
          [script, JSON.stringify({ example: 'warm-counter', key, count })],
          {
            env: { ...process.env, TMPDIR: await tempDir('proc-tmp'), ...extra },
            timeout: 60_000,
          },
        );
        return JSON.parse(stdout) as WarmEnvelope<{ body: string }>[];
      };

      const [a, b] = await Promise.all([spawnEnv(10), spawnEnv(10)]);
      const c = await spawnEnv(1);

      const counters = [...a, ...b]
        .map((e) => (JSON.parse(e.result.body) as Counter).counter)
        .sort((x, y) => x - y);
      expect(counters).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(JSON.parse(c[0]!.result.body)).toMatchObject({ counter: 20 });
      expect(c[0]!['warmroute/v1']).toMatchObject({
        state: 'rehydrated',
        reason: 'first-use',
        stateVersion: 21,
      });
      const first = a[0]!['warmroute/v1'];
      expect(['fresh', 'rehydrated']).toContain(first.state);
    },
  );
});
