import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FileSnapshotStore } from '../../lambda/stores/file-snapshot-store.js';
import {
  startWarmStateGateway,
  type WarmCall,
  type WarmStateGateway,
} from '../helpers/warm-state-gateway.js';

/**
 * Issue 5 end to end: client → real gateway → real local Lambda host →
 * `withWarmState`-wrapped example function → file snapshot store. What the
 * function reports comes back as x-affinity-state / x-affinity-env headers
 * and as gateway metrics; the directory learns the state version.
 */

function uniqueKey(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

async function setup(env: Record<string, string> = {}): Promise<WarmStateGateway> {
  const ws = await startWarmStateGateway(env);
  onTestFinished(() => ws.close());
  return ws;
}

describe('warm state through the gateway', () => {
  it('warm-counter: fresh, hits, rehydrated after eviction with the count continued; rotate → new environment', async () => {
    const ws = await setup();
    const key = uniqueKey('wc');

    const first = await ws.warm(key);
    const repeats = [await ws.warm(key), await ws.warm(key)];
    expect(first).toMatchObject({ state: 'fresh', counter: 0 });
    expect(first.env).not.toBe('');
    expect(repeats.map((r) => [r.state, r.counter, r.env])).toEqual([
      ['hit', 1, first.env],
      ['hit', 2, first.env],
    ]);
    // The directory learned the version the function reported (3 checkpoints), for that function.
    const resolveFor = (functionName: string) =>
      ws.gw.deps.directory.resolve(key, { functionName });
    expect((await resolveFor('warm-counter')).stateVersion).toBe(3);
    expect((await resolveFor('workspace')).stateVersion).toBe(0);

    expect(ws.gw.localHost.evict({ function: 'warm-counter', tenant: first.tenant })).toBe(1);
    const afterEvict = await ws.warm(key);
    const again = await ws.warm(key);

    expect(afterEvict).toMatchObject({ state: 'rehydrated', counter: 3, tenant: first.tenant });
    expect(afterEvict.env).not.toBe(first.env);
    expect(again).toMatchObject({ state: 'hit', counter: 4, env: afterEvict.env });
    expect(await ws.misses('warm-counter')).toEqual({ none: 1, 'first-use': 1 });

    expect(await ws.rotate(key)).toBe(200);
    const rotated = await ws.warm(key);
    expect(rotated.tenant).not.toBe(first.tenant);
    expect(rotated.env).not.toBe(afterEvict.env);
    expect(rotated.env).not.toBe(first.env);
    // A rotated key starts over: a new environment and no state.
    expect(rotated).toMatchObject({ state: 'fresh', counter: 0 });
    expect(await ws.warm(key)).toMatchObject({ state: 'hit', counter: 1 });
    expect(await ws.misses('warm-counter')).toEqual({ none: 2, 'first-use': 1 });
  });

  it('workspace: documents and the notes file continue across two evictions', async () => {
    const ws = await setup();
    const key = uniqueKey('ws');

    const put = await ws.workspace(key, { op: 'put', id: 'readme', doc: { title: 'hello' } });
    const note1 = await ws.workspace(key, { op: 'note', text: 'first note' });
    expect(put.state).toBe('fresh');
    expect(note1).toMatchObject({ state: 'hit', body: { ok: true, notes: 1 } });
    expect(ws.gw.localHost.evict({ function: 'workspace', tenant: put.tenant })).toBe(1);

    const doc = await ws.workspace(key, { op: 'get', id: 'readme' });
    const note2 = await ws.workspace(key, { op: 'note', text: 'second note' });
    expect(doc).toMatchObject({
      state: 'rehydrated',
      body: { id: 'readme', doc: { title: 'hello' } },
    });
    expect(doc.env).not.toBe(put.env);
    expect(note2).toMatchObject({ state: 'hit', body: { notes: 2 } });
    expect(ws.gw.localHost.evict({ function: 'workspace', tenant: put.tenant })).toBe(1);

    const notes = await ws.workspace(key, { op: 'notes' });
    const list = await ws.workspace(key, { op: 'list' });
    expect(notes).toMatchObject({
      state: 'rehydrated',
      body: { notes: ['first note', 'second note'], key },
    });
    expect(new Set([put.env, doc.env, notes.env]).size).toBe(3);
    expect(list).toMatchObject({ state: 'hit', body: { ids: ['readme'] } });
  });

  it('per-key serialization off: 20 concurrent increments in ≥ 2 environments of one tenant → count 20, nothing stale, no version lost or backwards', async () => {
    const ws = await setup({
      WARMROUTE_SERIALIZE_PER_KEY: 'false',
      WARMROUTE_TENANT_CONCURRENCY: '8',
    });
    const key = uniqueKey('race');
    const store = new FileSnapshotStore({ directory: ws.snapshotDir });

    // Completion order, so each environment's own sequence can be checked.
    const completed: (WarmCall & { counter: number })[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        completed.push(await ws.warm(key));
      }),
    );
    const tenant = completed[0]?.tenant ?? '';
    const envsOfTenant = ws.gw.localHost
      .environments()
      .filter((e) => e.function === 'warm-counter' && e.tenant === tenant);
    const scope = await ws.snapshotScope('warm-counter', key);
    const versionAfterBurst = await store.readVersion(scope);
    const directoryAfterBurst = (
      await ws.gw.deps.directory.resolve(key, { functionName: 'warm-counter' })
    ).stateVersion;
    // Sequential calls afterwards land on whichever environment is idle: each
    // one is current (hit) or notices its copy is stale and reloads.
    const after: (WarmCall & { counter: number })[] = [];
    for (let i = 0; i < 6; i++) after.push(await ws.warm(key));
    const misses = await ws.misses('warm-counter');
    console.log(
      `20 concurrent increments: ${String(envsOfTenant.length)} environments of the tenant; states ` +
        JSON.stringify(
          completed.reduce<Record<string, number>>((acc, r) => {
            acc[r.state] = (acc[r.state] ?? 0) + 1;
            return acc;
          }, {}),
        ) +
        `; misses by reason ${JSON.stringify(misses)}; after: ${after.map((r) => r.state).join(',')}`,
    );

    expect(completed.every((r) => r.tenant === tenant)).toBe(true);
    expect(envsOfTenant.length).toBeGreaterThanOrEqual(2);
    expect(new Set(completed.map((r) => r.env)).size).toBeGreaterThanOrEqual(2);
    // Every response was computed from the then-current state: 0..19, each once.
    expect(completed.map((r) => r.counter).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    // Only the call that computed from "no state" is fresh.
    expect(completed.filter((r) => r.state === 'fresh').map((r) => r.counter)).toEqual([0]);
    // Versions 1..20 all written, none lost; the directory knows the latest.
    expect(versionAfterBurst).toBe(20);
    expect(directoryAfterBurst).toBe(20);
    // No environment's version goes backwards in the order it answered.
    const byEnv = new Map<string, number[]>();
    for (const r of completed) byEnv.set(r.env, [...(byEnv.get(r.env) ?? []), r.counter]);
    for (const [env, counters] of byEnv) {
      expect(counters, `environment ${env}`).toEqual([...counters].sort((a, b) => a - b));
    }
    expect(after.map((r) => r.counter)).toEqual([20, 21, 22, 23, 24, 25]);
    for (const r of after) expect(['hit', 'rehydrated']).toContain(r.state);
    expect(await store.readVersion(scope)).toBe(26);
    // Environments that fell behind were detected: stale copies or lost races.
    expect((misses['stale'] ?? 0) + (misses['conflict'] ?? 0)).toBeGreaterThanOrEqual(1);
    expect(
      Object.keys(misses).every((r) => ['none', 'first-use', 'stale', 'conflict'].includes(r)),
    ).toBe(true);
  });

  it('scripted run: 5 keys × 3 rounds × 10 calls, every environment evicted between rounds → fresh 5, rehydrated 10, hit 135', async () => {
    const ws = await setup();
    const keys = Array.from({ length: 5 }, (_, i) => uniqueKey(`script${String(i)}`));
    const counts: Record<string, number> = { hit: 0, rehydrated: 0, fresh: 0 };
    const finals: number[] = [];

    for (let round = 0; round < 3; round++) {
      if (round > 0) expect(ws.gw.localHost.evict({ function: 'warm-counter' })).toBe(5);
      await Promise.all(
        keys.map(async (key) => {
          for (let i = 0; i < 10; i++) {
            const r = await ws.warm(key);
            counts[r.state] = (counts[r.state] ?? 0) + 1;
            expect(r.counter).toBe(round * 10 + i);
            if (round === 2 && i === 9) finals.push(r.counter);
          }
        }),
      );
    }
    const misses = await ws.misses('warm-counter');
    const metrics = await ws.gw.app.inject({ method: 'GET', url: '/metrics' });
    const sum =
      /^warmroute_rehydration_duration_seconds_sum\{function="warm-counter"\} (\S+)$/m.exec(
        metrics.body,
      )?.[1];
    const n =
      /^warmroute_rehydration_duration_seconds_count\{function="warm-counter"\} (\S+)$/m.exec(
        metrics.body,
      )?.[1];
    console.log(
      `scripted run (5 keys × 3 rounds × 10 calls, evict between rounds): ` +
        `hit=${String(counts['hit'])} rehydrated=${String(counts['rehydrated'])} fresh=${String(counts['fresh'])}; ` +
        `misses by reason ${JSON.stringify(misses)}; rehydration reported ${String(n)} times, ` +
        `mean ${sum === undefined || n === undefined ? '?' : ((Number(sum) / Number(n)) * 1000).toFixed(2)} ms`,
    );

    expect(counts).toEqual({ hit: 135, rehydrated: 10, fresh: 5 });
    expect(misses).toEqual({ none: 5, 'first-use': 10 });
    expect(finals).toEqual([29, 29, 29, 29, 29]);
  });

  it('keeps state per function and per generation: warm-counter-2 and workspace never see warm-counter’s snapshot (issue 11, defect 2)', async () => {
    // Prepare: one key used by two copies of the counter and by workspace.
    const ws = await setup();
    const key = uniqueKey('shared');
    const store = new FileSnapshotStore({ directory: ws.snapshotDir });
    const doc = await ws.workspace(key, { op: 'put', id: 'readme', doc: { title: 'kept' } });
    const one = [await ws.counter('warm-counter', key), await ws.counter('warm-counter', key)];

    // Act
    const two = await ws.counter('warm-counter-2', key);
    const oneAgain = await ws.counter('warm-counter', key);
    const docAfter = await ws.workspace(key, { op: 'get', id: 'readme' });
    // Lose every environment: state now comes from the snapshots alone.
    for (const fn of ['warm-counter', 'warm-counter-2', 'workspace']) {
      ws.gw.localHost.evict({ function: fn });
    }
    const twoRehydrated = await ws.counter('warm-counter-2', key);
    const oneRehydrated = await ws.counter('warm-counter', key);
    const docRehydrated = await ws.workspace(key, { op: 'list' });

    // Assess: separate counts, workspace documents untouched, one snapshot per function.
    expect(doc.state).toBe('fresh');
    expect(one.map((r) => r.counter)).toEqual([0, 1]);
    expect(two).toMatchObject({ counter: 0, state: 'fresh' });
    expect(oneAgain.counter).toBe(2);
    expect(docAfter).toMatchObject({ body: { id: 'readme', doc: { title: 'kept' } } });
    expect(twoRehydrated).toMatchObject({ counter: 1, state: 'rehydrated' });
    expect(oneRehydrated).toMatchObject({ counter: 3, state: 'rehydrated' });
    expect(docRehydrated).toMatchObject({ state: 'rehydrated', body: { ids: ['readme'], key } });
    expect(await store.readVersion(await ws.snapshotScope('warm-counter', key))).toBe(4);
    expect(await store.readVersion(await ws.snapshotScope('warm-counter-2', key))).toBe(2);
    expect(await store.readVersion(await ws.snapshotScope('workspace', key))).toBe(3);

    // A rotation starts every function over for the key (a new generation's scope).
    expect(await ws.rotate(key)).toBe(200);
    expect(await ws.counter('warm-counter', key)).toMatchObject({ counter: 0, state: 'fresh' });
    expect(await ws.counter('warm-counter-2', key)).toMatchObject({ counter: 0, state: 'fresh' });
    expect(await ws.workspace(key, { op: 'list' })).toMatchObject({ body: { ids: [], key } });
  });
});
