import { mkdtemp, readFile, appendFile, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWarmEnvironment, type WarmEnvironment } from '../../lambda/warm-environment.js';
import { MemorySnapshotStore } from '../../lambda/stores/memory-snapshot-store.js';
import type { SnapshotStore } from '../../lambda/stores/base-snapshot-store.js';
import type { WarmHandler, WarmStateOptions } from '../../lambda/types.js';
import { isWarmStateError } from '../../lambda/errors.js';
import {
  affinityKeyOf,
  readWarmRequest,
  requestKey,
  type WarmReport,
} from '../../lambda/protocol.js';
import {
  directContext,
  directScope,
  gatewayContext,
  gatewayScope,
  TEST_FUNCTION,
  unwrap,
} from '../helpers/lambda-context.js';

interface Counter {
  counter: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wr-unit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The classic counter: returns the count before this call, then increments it. */
const counterHandler: WarmHandler<unknown, Counter, Counter> = (_event, _context, state) => {
  const { counter } = state.get();
  state.set({ counter: counter + 1 });
  return { counter };
};

async function envs(n: number): Promise<WarmEnvironment[]> {
  const root = await tempRoot();
  return Array.from({ length: n }, (_, i) =>
    createWarmEnvironment({ id: `env${i}`, tmpDir: root }),
  );
}

function counterOptions(
  store: SnapshotStore,
  extra: Partial<WarmStateOptions<Counter>> = {},
): WarmStateOptions<Counter> {
  return { initialState: () => ({ counter: 0 }), store, ...extra };
}

async function call(
  fn: (e: unknown, c: ReturnType<typeof gatewayContext>) => Promise<unknown>,
  key: string,
  stateVersion = 0,
): Promise<{ report: WarmReport; result: Counter }> {
  return unwrap<Counter>(await fn({}, gatewayContext(key, { stateVersion })));
}

describe('withWarmState', () => {
  it('reports fresh on the first call, then hit, with the version growing by one per call', async () => {
    // Prepare
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState(counterHandler, counterOptions(store));
    // Act
    const first = await call(fn, 'k');
    const second = await call(fn, 'k', first.report.stateVersion);
    // Assess
    expect(first.report).toMatchObject({
      v: 1,
      env: 'env0',
      state: 'fresh',
      stateVersion: 1,
      coldStart: true,
    });
    expect(first.report.reason).toBeUndefined();
    expect(first.result.counter).toBe(0);
    expect(second.report).toMatchObject({
      state: 'hit',
      stateVersion: 2,
      rehydrateMs: 0,
      coldStart: false,
    });
    expect(second.result.counter).toBe(1);
    expect(await store.readVersion(gatewayScope('k'))).toBe(2);
  });

  it('rehydrates in a new environment (first-use) and the count continues', async () => {
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    const fa = a!.withWarmState(counterHandler, counterOptions(store));
    const fb = b!.withWarmState(counterHandler, counterOptions(store));
    await call(fa, 'k');
    const last = await call(fa, 'k');

    const moved = await call(fb, 'k', last.report.stateVersion);

    expect(moved.report).toMatchObject({
      env: 'env1',
      state: 'rehydrated',
      reason: 'first-use',
      stateVersion: 3,
    });
    expect(moved.result.counter).toBe(2);
    expect(moved.report.rehydrateMs).toBeGreaterThanOrEqual(0);
  });

  it('detects a stale copy from the gateway version alone when told not to ask the store', async () => {
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    const fa = a!.withWarmState(counterHandler, counterOptions(store, { verify: 'gateway' }));
    const fb = b!.withWarmState(counterHandler, counterOptions(store, { verify: 'gateway' }));
    let known = 0; // what the gateway's directory would record from each report
    const seen: { env: string; state: string; reason?: string; counter: number }[] = [];

    for (let i = 0; i < 6; i++) {
      const { report, result } = await call(i % 2 === 0 ? fa : fb, 'k', known);
      expect(report.stateVersion).toBeGreaterThan(known);
      known = report.stateVersion;
      seen.push({
        env: report.env,
        state: report.state,
        ...(report.reason ? { reason: report.reason } : {}),
        counter: result.counter,
      });
    }

    expect(seen.map((s) => s.counter)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.slice(2).every((s) => s.state === 'rehydrated' && s.reason === 'stale')).toBe(true);
    expect(seen[1]).toMatchObject({ state: 'rehydrated', reason: 'first-use' });
  });

  it('detects a stale copy from the store version when the gateway knows nothing (verify: store)', async () => {
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    const fa = a!.withWarmState(counterHandler, counterOptions(store));
    const fb = b!.withWarmState(counterHandler, counterOptions(store));
    await call(fa, 'k');
    await call(fb, 'k');

    const back = await call(fa, 'k', 0);

    expect(back.report).toMatchObject({ state: 'rehydrated', reason: 'stale', stateVersion: 3 });
    expect(back.result.counter).toBe(2);
  });

  it('re-runs the handler on the winner after a lost race, so no result comes from stale state', async () => {
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    let runsInA = 0;
    const countingHandler: WarmHandler<unknown, Counter, Counter> = (e, c, s) => {
      runsInA++;
      return counterHandler(e, c, s);
    };
    const fa = a!.withWarmState(countingHandler, counterOptions(store, { verify: 'gateway' }));
    const fb = b!.withWarmState(counterHandler, counterOptions(store, { verify: 'gateway' }));
    await call(fa, 'k'); // A holds v1
    await call(fb, 'k', 1); // B writes v2
    runsInA = 0;

    const raced = await call(fa, 'k', 0); // the gateway lags: A believes it has a hit

    expect(runsInA).toBe(2);
    expect(raced.report).toMatchObject({
      state: 'rehydrated',
      reason: 'conflict',
      conflicts: 1,
      stateVersion: 3,
    });
    expect(raced.result.counter).toBe(2);
  });

  it('20 concurrent increments across 3 environments: final count 20, every response distinct, no version lost or backwards', async () => {
    const three = await envs(3);
    const store = new MemorySnapshotStore();
    const fns = three.map((e) =>
      e.withWarmState(
        counterHandler,
        counterOptions(store, { verify: 'gateway', maxConflictRetries: 50 }),
      ),
    );

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(fns[i % 3]!, 'k', 0)),
    );

    const counters = results.map((r) => r.result.counter).sort((x, y) => x - y);
    expect(counters).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const versions = results.map((r) => r.report.stateVersion).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await store.readVersion(gatewayScope('k'))).toBe(20);
    const final = await call(fns[0]!, 'k', 20);
    expect(final.result.counter).toBe(20);
    expect(results.some((r) => r.report.reason === 'conflict' || r.report.reason === 'stale')).toBe(
      true,
    );
  });

  it("snapshots the key's directory: files survive into a new environment", async () => {
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    const notes: WarmHandler<{ note: string }, string, Counter> = async (event, _c, state) => {
      await appendFile(join(state.dir, 'notes.txt'), `${event.note}\n`);
      return readFile(join(state.dir, 'notes.txt'), 'utf8');
    };
    const fa = a!.withWarmState(notes, counterOptions(store));
    const fb = b!.withWarmState(notes, counterOptions(store));
    await fa({ note: 'one' }, gatewayContext('k'));
    await fa({ note: 'two' }, gatewayContext('k'));

    const moved = unwrap<string>(await fb({ note: 'three' }, gatewayContext('k')));

    expect(moved.result).toBe('one\ntwo\nthree\n');
    expect(moved.report).toMatchObject({ state: 'rehydrated', reason: 'first-use' });
  });

  it('returns the result unwrapped unless the gateway asked for the envelope', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState(counterHandler, counterOptions(store));

    const plain = await fn({}, gatewayContext('k', { wrap: false }));
    const wrapped = await fn({}, gatewayContext('k', { wrap: true }));

    expect(plain).toEqual({ counter: 0 });
    expect(Object.keys(wrapped as object)).toEqual(['warmroute/v1', 'result']);
    expect(JSON.stringify(wrapped).startsWith('{"warmroute/v1":')).toBe(true);
  });

  it('keys a direct invoke by keyFromEvent, else by tenant id', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState(counterHandler, counterOptions(store));
    const byField = env!.withWarmState(
      counterHandler,
      counterOptions(store, { keyFromEvent: (e) => (e as { id?: string }).id }),
    );

    expect(await fn({}, directContext('tenant-1'))).toEqual({ counter: 0 });
    expect(await fn({}, directContext('tenant-1'))).toEqual({ counter: 1 });
    expect(await fn({}, directContext())).toEqual({ counter: 0 });
    expect(await byField({ id: 'doc-9' }, directContext('tenant-1'))).toEqual({ counter: 0 });
    // An empty key from the event names nothing: the tenant key stands in.
    expect(await byField({ id: '' }, directContext('tenant-1'))).toEqual({ counter: 2 });
    expect(await store.readVersion(directScope('tenant:tenant-1'))).toBe(3);
    expect(await store.readVersion(directScope('default'))).toBe(1);
    expect(await store.readVersion(directScope('doc-9'))).toBe(1);
  });

  it('releases the least recently used key beyond maxKeysInMemory (memory and directory)', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const dirs = new Map<string, string>();
    const fn = env!.withWarmState<unknown, Counter, Counter>(
      (e, c, s) => {
        dirs.set(s.key, s.dir);
        return counterHandler(e, c, s);
      },
      counterOptions(store, { maxKeysInMemory: 1 }),
    );
    await call(fn, 'a');
    const dirOfA = dirs.get('a')!;
    await access(dirOfA);
    await call(fn, 'b');

    const back = await call(fn, 'a');

    await expect(access(dirOfA)).rejects.toThrow();
    expect(back.report).toMatchObject({ state: 'rehydrated', reason: 'released', stateVersion: 2 });
    expect(back.result.counter).toBe(1);
  });

  it('checkpoints every N invocations and flushes pending changes when the key is released', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState(
      counterHandler,
      counterOptions(store, { checkpoint: { everyN: 3 }, maxKeysInMemory: 1 }),
    );

    await call(fn, 'k');
    await call(fn, 'k');
    const versionAfterTwo = await store.readVersion(gatewayScope('k'));
    await call(fn, 'k');
    const versionAfterThree = await store.readVersion(gatewayScope('k'));
    await call(fn, 'k'); // pending
    await call(fn, 'other'); // releases k, flushing its pending change

    expect(versionAfterTwo).toBe(0);
    expect(versionAfterThree).toBe(1);
    expect(await store.readVersion(gatewayScope('k'))).toBe(2);
    expect((await call(fn, 'k')).result.counter).toBe(4);
  });

  it('checkpoints after everyMs on the injected clock', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    let clock = 1_000;
    const fn = env!.withWarmState(
      counterHandler,
      counterOptions(store, { checkpoint: { everyMs: 500 }, now: () => clock }),
    );

    await call(fn, 'k'); // loaded at t=1000: not due
    clock += 499;
    await call(fn, 'k');
    const before = await store.readVersion(gatewayScope('k'));
    clock += 1;
    await call(fn, 'k');

    expect(before).toBe(0);
    expect(await store.readVersion(gatewayScope('k'))).toBe(1);
    expect(JSON.parse((await store.read(gatewayScope('k')))!.state.toString())).toEqual({
      counter: 3,
    });
  });

  it('manual policy: writes only on state.checkpoint(); a lost race there re-runs the handler', async () => {
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    const manual: WarmHandler<unknown, Counter, Counter> = async (e, c, s) => {
      const out = await counterHandler(e, c, s);
      await s.checkpoint();
      return out;
    };
    const fa = a!.withWarmState(
      manual,
      counterOptions(store, { checkpoint: 'manual', verify: 'gateway' }),
    );
    const fb = b!.withWarmState(counterHandler, counterOptions(store, { checkpoint: 'manual' }));
    await call(fa, 'k');
    await call(fb, 'k'); // manual, no checkpoint call: nothing written
    expect(await store.readVersion(gatewayScope('k'))).toBe(1);
    await store.write(gatewayScope('k'), 1, {
      state: Buffer.from('{"counter":10}'),
      dir: Buffer.alloc(0),
    });

    const raced = await call(fa, 'k', 0);

    expect(raced.report).toMatchObject({
      state: 'rehydrated',
      reason: 'conflict',
      conflicts: 1,
      stateVersion: 3,
    });
    expect(raced.result.counter).toBe(10);
  });

  it('drops state a failed invocation touched: the next call reloads the last snapshot', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState<{ fail?: boolean }, Counter, Counter>((e, c, s) => {
      const out = counterHandler(e, c, s);
      if (e.fail === true) throw new Error('boom');
      return out;
    }, counterOptions(store));
    await fn({}, gatewayContext('k'));

    await expect(fn({ fail: true }, gatewayContext('k'))).rejects.toThrow('boom');
    const after = unwrap<Counter>(await fn({}, gatewayContext('k')));

    expect(after.result.counter).toBe(1);
    expect(after.report).toMatchObject({ state: 'rehydrated', reason: 'released' });
  });

  it('fails with WR_ERR_SNAPSHOT_TOO_LARGE beyond maxSnapshotBytes and keeps nothing', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState<{ size: number }, number, { blob: string }>(
      (e, _c, s) => {
        s.set({ blob: 'x'.repeat(e.size) });
        return e.size;
      },
      { initialState: () => ({ blob: '' }), store, maxSnapshotBytes: 1000 },
    );

    const err: unknown = await fn({ size: 5000 }, gatewayContext('k')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_TOO_LARGE')).toBe(true);
    expect(await store.readVersion(gatewayScope('k'))).toBe(0);
    await expect(fn({ size: 10 }, gatewayContext('k'))).resolves.toMatchObject({ result: 10 });
  });

  it('gives up with WR_ERR_SNAPSHOT_CONFLICT when every retry loses', async () => {
    const [env] = await envs(1);
    const inner = new MemorySnapshotStore();
    // Another writer always gets in first.
    const hostile: SnapshotStore = {
      maxSnapshotBytes: inner.maxSnapshotBytes,
      read: (k) => inner.read(k),
      readVersion: (k) => inner.readVersion(k),
      write: async (k, expected, content) => {
        await inner.write(k, expected, content);
        return { ok: false, currentVersion: await inner.readVersion(k) };
      },
      delete: (k) => inner.delete(k),
      close: () => inner.close(),
    };
    let runs = 0;
    const fn = env!.withWarmState<unknown, Counter, Counter>(
      (e, c, s) => {
        runs++;
        return counterHandler(e, c, s);
      },
      counterOptions(hostile, { maxConflictRetries: 2 }),
    );

    const err: unknown = await fn({}, gatewayContext('k')).catch((e: unknown) => e);

    expect(isWarmStateError(err, 'WR_ERR_SNAPSHOT_CONFLICT')).toBe(true);
    expect(runs).toBe(3);
  });

  it('rejects a bad configuration at wrap time', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    expect(() =>
      env!.withWarmState(counterHandler, counterOptions(store, { maxKeysInMemory: 0 })),
    ).toThrow(/maxKeysInMemory/);
    expect(() =>
      env!.withWarmState(counterHandler, counterOptions(store, { checkpoint: {} })),
    ).toThrow(/everyN/);
  });
});

describe('withWarmState scopes state (issue 11, defect 2)', () => {
  it('keeps two functions apart for the same key, whatever the request says', async () => {
    // Prepare: two functions sharing one store, as warm-counter and warm-counter-2 share Redis.
    const [a, b] = await envs(2);
    const store = new MemorySnapshotStore();
    const fa = a!.withWarmState(counterHandler, counterOptions(store));
    const fb = b!.withWarmState(counterHandler, counterOptions(store));
    const ctx = (functionName: string) => gatewayContext('shared', { functionName });

    // Act
    const a1 = unwrap<Counter>(await fa({}, ctx('fn-a')));
    const a2 = unwrap<Counter>(await fa({}, ctx('fn-a')));
    const b1 = unwrap<Counter>(await fb({}, ctx('fn-b')));

    // Assess: fn-b starts fresh instead of continuing fn-a's count.
    expect([a1.result.counter, a2.result.counter, b1.result.counter]).toEqual([0, 1, 0]);
    expect(b1.report.state).toBe('fresh');
    expect(await store.readVersion(gatewayScope('shared', undefined, 'fn-a'))).toBe(2);
    expect(await store.readVersion(gatewayScope('shared', undefined, 'fn-b'))).toBe(1);
  });

  it('takes the function name from the environment, never from the key', async () => {
    const [env] = await envs(1);
    const root = await tempRoot();
    const named = createWarmEnvironment({ id: 'named', tmpDir: root, functionName: 'fn-own' });
    const store = new MemorySnapshotStore();
    const own = named.withWarmState(counterHandler, counterOptions(store));
    const other = env!.withWarmState(counterHandler, counterOptions(store));
    // fn-other's state for a key that spells out fn-own's scope.
    await other({}, gatewayContext('k', { functionName: 'fn-other' }));
    await other({}, gatewayContext('k', { functionName: 'fn-other' }));

    // The context claims another function: the environment's own name wins.
    const first = unwrap<Counter>(await own({}, gatewayContext('k', { functionName: 'fn-other' })));

    expect(first.result.counter).toBe(0);
    expect(await store.readVersion(gatewayScope('k', undefined, 'fn-own'))).toBe(1);
    expect(await store.readVersion(gatewayScope('k', undefined, 'fn-other'))).toBe(2);
  });

  it('keeps namespaces, epochs and generations apart and hands the handler the bare key', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const keys: string[] = [];
    const fn = env!.withWarmState<unknown, Counter, Counter>((e, c, s) => {
      keys.push(s.key);
      return counterHandler(e, c, s);
    }, counterOptions(store));
    const scopes = [
      { ns: 'default', epoch: 'e1', gen: 0 },
      { ns: 'default', epoch: 'e1', gen: 0 },
      { ns: 'other', epoch: 'e1', gen: 0 },
      { ns: 'default', epoch: 'e2', gen: 0 },
      { ns: 'default', epoch: 'e1', gen: 1 },
    ];

    const counters: number[] = [];
    for (const scope of scopes) {
      counters.push(unwrap<Counter>(await fn({}, gatewayContext('ws', { scope }))).result.counter);
    }

    expect(counters).toEqual([0, 1, 0, 0, 0]);
    expect(keys).toEqual(['ws', 'ws', 'ws', 'ws', 'ws']);
  });

  it('keeps a request without scope (older gateway) and a direct invoke apart from scoped state', async () => {
    const [env] = await envs(1);
    const store = new MemorySnapshotStore();
    const fn = env!.withWarmState(
      counterHandler,
      counterOptions(store, { keyFromEvent: (e) => (e as { id?: string }).id }),
    );
    const legacy = {
      clientContext: {
        custom: { warmroute: { v: 1, key: 'k', mode: 'affinity', stateVersion: 0, wrap: false } },
      },
      functionName: TEST_FUNCTION,
    };

    await fn({}, gatewayContext('k'));
    const fromLegacy = await fn({}, legacy);
    const direct = await fn({ id: 'k' }, { functionName: TEST_FUNCTION });

    expect(fromLegacy).toEqual({ counter: 0 });
    expect(direct).toEqual({ counter: 0 });
  });

  it('names the key directory by the scope hash, whatever the key holds', async () => {
    const root = await tempRoot();
    const env = createWarmEnvironment({ id: 'dirs', tmpDir: root, functionName: 'f' });
    const store = new MemorySnapshotStore();
    const dirs: string[] = [];
    const fn = env.withWarmState<unknown, Counter, Counter>((e, c, s) => {
      dirs.push(s.dir);
      return counterHandler(e, c, s);
    }, counterOptions(store));

    for (const key of ['../../etc', 'a/b', '..', '\u20ac\u00e9', 'x'.repeat(1000)]) {
      await fn({}, gatewayContext(key));
    }

    for (const dir of dirs) {
      expect(dir.startsWith(join(root, 'warmroute-dirs', '0'))).toBe(true);
      expect(dir.slice(join(root, 'warmroute-dirs', '0').length)).toMatch(/^\/[0-9a-f]{32}\.\d+$/);
    }
  });
});

describe('readWarmRequest and the request scope', () => {
  const request = (fields: Record<string, unknown>) => ({
    custom: { warmroute: { v: 1, mode: 'affinity', stateVersion: 0, wrap: true, ...fields } },
  });

  it('keeps a well-formed scope and recovers the affinity key from the #g suffix', () => {
    const scope = { ns: 'default', epoch: 'e', gen: 2 };
    const read = readWarmRequest(request({ key: 'ws#g2', scope }));
    expect(read?.scope).toEqual(scope);
    expect(affinityKeyOf(read!.key, read!.scope!)).toBe('ws');
    // A key that itself ends like a suffix stays whole at generation 0.
    expect(affinityKeyOf('ws#g2', { ns: 'default', epoch: 'e', gen: 0 })).toBe('ws#g2');
    expect(requestKey('ws', 0)).toBe('ws');
    expect(requestKey('ws', 3)).toBe('ws#g3');
  });

  it('drops a malformed scope and serves the request as one without scope', () => {
    const bad = [
      { ns: '', epoch: 'e', gen: 0 },
      { ns: 'default', epoch: 1, gen: 0 },
      { ns: 'default', epoch: 'e', gen: -1 },
      { ns: 'default', epoch: 'e', gen: 1.5 },
      // gen 1 but the key carries no #g1 suffix
      { ns: 'default', epoch: 'e', gen: 1 },
      'scope',
    ];
    for (const scope of bad) {
      const read = readWarmRequest(request({ key: 'ws', scope }));
      expect(read?.key).toBe('ws');
      expect(read?.scope).toBeUndefined();
    }
  });
});
