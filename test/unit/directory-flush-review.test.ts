import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import type { OutcomeDelta } from '../../src/directory/store.js';

/**
 * Review of 24cc906 (the write-behind flush armed by an outcome): once the
 * directory is closed, a late outcome arms no timer, and closing twice
 * leaves none either. Review of the follow-up: close stores outcomes
 * recorded while a timer flush was in flight, and every close() resolves
 * only once the store is closed.
 */

const INTERVAL_MS = defaults.statsFlushIntervalMs;

/** A memory store whose writes can be held at a gate, and which says when it is closed. */
class GatedStore extends MemoryDirectoryStore {
  readonly flushed: string[][] = [];
  gate: Promise<void> | undefined;
  closedStore = false;
  constructor() {
    super({ idleTtlSeconds: 0, clock: Date.now });
  }
  override async recordOutcomes(batch: readonly OutcomeDelta[]): Promise<readonly OutcomeDelta[]> {
    if (this.gate !== undefined) await this.gate;
    this.flushed.push(batch.map((d) => d.key));
    return super.recordOutcomes(batch);
  }
  override async close(): Promise<void> {
    await super.close();
    this.closedStore = true;
  }
}

async function started(
  store: MemoryDirectoryStore = new MemoryDirectoryStore({ idleTtlSeconds: 0, clock: Date.now }),
): Promise<KeyDirectory> {
  const dir = new KeyDirectory({
    secret: 'flush-review-test-secret-0123456789',
    store,
    tenantPrefix: defaults.tenantPrefix,
    namespace: defaults.namespace,
    l1: { max: defaults.l1Max, ttlMs: defaults.l1TtlMs },
    statsFlushIntervalMs: INTERVAL_MS,
    logger: pino({ level: 'silent' }),
    clock: Date.now,
  });
  await dir.start();
  await vi.advanceTimersByTimeAsync(0);
  return dir;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('directory flush timer after close (review)', () => {
  it('an outcome recorded after close arms no timer', async () => {
    // Prepare
    const dir = await started();
    await dir.close();

    // Act
    dir.recordOutcome('late', { envId: 'env-1', state: 'hit' });

    // Assess
    expect(vi.getTimerCount()).toBe(0);
  });

  it('closing twice with an outcome pending leaves no timer', async () => {
    // Prepare
    const dir = await started();
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit' });

    // Act
    await Promise.all([dir.close(), dir.close()]);

    // Assess
    expect(vi.getTimerCount()).toBe(0);
    expect(dir.counters().statsPending).toBe(0);
  });
});

describe('directory close (review)', () => {
  it('close during an in-flight timer flush still stores outcomes recorded after that flush took its batch', async () => {
    // Prepare
    const store = new GatedStore();
    const dir = await started(store);
    let release: () => void = () => undefined;
    store.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    dir.recordOutcome('first', { envId: 'env-1', state: 'hit' });
    await vi.advanceTimersByTimeAsync(INTERVAL_MS); // the timer's flush took 'first' and waits
    dir.recordOutcome('second', { envId: 'env-2', state: 'hit' });

    // Act
    const closing = dir.close();
    release();
    await closing;

    // Assess
    expect(store.flushed).toEqual([['first'], ['second']]);
    expect(dir.counters().statsPending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close does not retry a store that took nothing', async () => {
    // Prepare
    const store = new GatedStore();
    const dir = await started(store);
    const refuse = vi
      .spyOn(store, 'recordOutcomes')
      .mockImplementation((batch: readonly OutcomeDelta[]) => Promise.resolve(batch));
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit' });

    // Act
    await dir.close();

    // Assess
    expect(refuse).toHaveBeenCalledTimes(1);
    expect(dir.counters().statsPending).toBe(1);
    expect(store.closedStore).toBe(true);
  });

  it('a second close() resolves only once the store is closed', async () => {
    // Prepare
    const store = new GatedStore();
    const dir = await started(store);
    dir.recordOutcome('k', { envId: 'env-1', state: 'hit' });

    // Act
    const first = dir.close();
    await dir.close();
    const closedWhenSecondResolved = store.closedStore;
    await first;

    // Assess
    expect(closedWhenSecondResolved).toBe(true);
    expect(store.flushed).toEqual([['k']]);
  });
});
