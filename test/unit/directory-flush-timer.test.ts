import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import type { OutcomeDelta } from '../../src/directory/store.js';

/**
 * Issue 16: the write-behind flush is armed by an outcome, not run on a fixed
 * interval, so an idle gateway is not woken for it; an outcome still reaches
 * the store one interval after it was recorded, and one the store refused is
 * tried again an interval later.
 */

const INTERVAL_MS = defaults.statsFlushIntervalMs;

/** A memory store (no idle sweeper: its own timer would hide the directory's) that records each flush and can refuse them. */
class CountingStore extends MemoryDirectoryStore {
  readonly flushed: OutcomeDelta[][] = [];
  refuse = false;

  constructor() {
    super({ idleTtlSeconds: 0, clock: Date.now });
  }

  override recordOutcomes(batch: readonly OutcomeDelta[]): Promise<readonly OutcomeDelta[]> {
    if (this.refuse) return Promise.reject(new Error('store down'));
    this.flushed.push([...batch]);
    return super.recordOutcomes(batch);
  }
}

async function startedDirectory(): Promise<{ dir: KeyDirectory; store: CountingStore }> {
  const store = new CountingStore();
  const dir = new KeyDirectory({
    secret: 'flush-timer-test-secret-0123456789',
    store,
    tenantPrefix: defaults.tenantPrefix,
    namespace: defaults.namespace,
    l1: { max: defaults.l1Max, ttlMs: defaults.l1TtlMs },
    statsFlushIntervalMs: INTERVAL_MS,
    logger: pino({ level: 'silent' }),
    clock: Date.now,
  });
  onTestFinished(() => dir.close());
  await dir.start();
  // Let the start-up epoch prefetch settle: it arms no timer of its own over a memory store.
  await vi.advanceTimersByTimeAsync(0);
  return { dir, store };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('directory write-behind flush timer', () => {
  it('arms no timer while nothing was recorded', async () => {
    // Prepare
    const { dir, store } = await startedDirectory();

    // Act
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);

    // Assess
    expect(vi.getTimerCount()).toBe(0);
    expect(store.flushed).toEqual([]);
    expect(dir.counters().statsFlushes).toBe(0);
  });

  it('flushes an outcome one interval after it was recorded, then disarms', async () => {
    // Prepare
    const { dir, store } = await startedDirectory();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS / 2);

    // Act
    dir.recordOutcome('k1', { envId: 'env-1', state: 'hit' });
    dir.recordOutcome('k2', { envId: 'env-2', state: 'fresh' });
    await vi.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    const beforeInterval = store.flushed.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assess: one batch with both outcomes, nothing pending, no timer left.
    expect(beforeInterval).toBe(0);
    expect(store.flushed.map((batch) => batch.map((d) => d.key).sort())).toEqual([['k1', 'k2']]);
    expect(dir.counters()).toMatchObject({ statsFlushes: 1, statsPending: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('tries outcomes the store refused again an interval later, until it takes them', async () => {
    // Prepare
    const { dir, store } = await startedDirectory();
    store.refuse = true;
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit' });

    // Act: two refused flushes, then the store is back.
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    const pendingWhileDown = dir.counters().statsPending;
    const timersWhileDown = vi.getTimerCount();
    store.refuse = false;
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);

    // Assess
    expect(pendingWhileDown).toBe(1);
    expect(timersWhileDown).toBe(1);
    expect(store.flushed.map((batch) => batch.map((d) => d.key))).toEqual([['k']]);
    expect(dir.counters()).toMatchObject({ statsFlushes: 1, statsPending: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('arms again for an outcome recorded while a flush is in flight', async () => {
    // Prepare: a store call that does not answer until the test says so.
    const { dir, store } = await startedDirectory();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const take = store.recordOutcomes.bind(store);
    store.recordOutcomes = async (batch) => {
      await gate;
      return take(batch);
    };
    dir.recordOutcome('first', { envId: 'env-1', state: 'hit' });
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);

    // Act: recorded while the first flush waits for the store.
    dir.recordOutcome('second', { envId: 'env-2', state: 'hit' });
    release();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);

    // Assess
    expect(store.flushed.map((batch) => batch.map((d) => d.key))).toEqual([['first'], ['second']]);
    expect(dir.counters().statsPending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('flushes outcomes recorded before start one interval after start', async () => {
    // Prepare
    const store = new CountingStore();
    const dir = new KeyDirectory({
      secret: 'flush-timer-test-secret-0123456789',
      store,
      tenantPrefix: defaults.tenantPrefix,
      namespace: defaults.namespace,
      l1: { max: defaults.l1Max, ttlMs: defaults.l1TtlMs },
      statsFlushIntervalMs: INTERVAL_MS,
      logger: pino({ level: 'silent' }),
      clock: Date.now,
    });
    onTestFinished(() => dir.close());
    dir.recordOutcome('early', { envId: 'env-1', state: 'hit' });
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    const beforeStart = store.flushed.length;

    // Act
    await dir.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);

    // Assess
    expect(beforeStart).toBe(0);
    expect(store.flushed.map((batch) => batch.map((d) => d.key))).toEqual([['early']]);
  });

  it('close flushes what is pending and leaves no timer', async () => {
    // Prepare
    const { dir, store } = await startedDirectory();
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit' });

    // Act
    await dir.close();

    // Assess
    expect(store.flushed.map((batch) => batch.map((d) => d.key))).toEqual([['k']]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
