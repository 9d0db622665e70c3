import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';

/**
 * Review of 24cc906 (the write-behind flush armed by an outcome): once the
 * directory is closed, a late outcome arms no timer, and closing twice
 * leaves none either.
 */

async function started(): Promise<KeyDirectory> {
  const dir = new KeyDirectory({
    secret: 'flush-review-test-secret-0123456789',
    store: new MemoryDirectoryStore({ idleTtlSeconds: 0, clock: Date.now }),
    tenantPrefix: defaults.tenantPrefix,
    namespace: defaults.namespace,
    l1: { max: defaults.l1Max, ttlMs: defaults.l1TtlMs },
    statsFlushIntervalMs: defaults.statsFlushIntervalMs,
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
