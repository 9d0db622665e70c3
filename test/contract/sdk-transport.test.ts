import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffinityError, FunctionError, TransportError } from '../../src/sdk/errors.js';
import type { AffinityClient } from '../../src/sdk/types.js';
import { startEmbeddedTarget, startHttpTarget, type SdkTarget } from '../helpers/sdk-targets.js';

/**
 * One suite, run against both SDK transports: HTTP through a real gateway in
 * front of a real local Lambda host, and embedded (the gateway's request path
 * in-process) against the same kind of local host. Both must behave the same
 * for the caller.
 */

interface CounterResult {
  statusCode: number;
  body: string;
}

function counterOf(result: CounterResult): { counter: number; tenantId: string } {
  return JSON.parse(result.body) as { counter: number; tenantId: string };
}

async function rejection(promise: Promise<unknown>): Promise<AffinityError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AffinityError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await delay(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const targets: readonly [string, () => Promise<SdkTarget>][] = [
  ['http transport → gateway → local host', startHttpTarget],
  ['embedded transport → local host', startEmbeddedTarget],
];

describe.each(targets)('SDK transport contract: %s', (_name, start) => {
  let target: SdkTarget | undefined;
  let client: AffinityClient;
  beforeAll(async () => {
    target = await start();
    client = t().client({ functionName: 'counter' });
  });
  afterAll(async () => {
    await target?.close();
  });
  const t = (): SdkTarget => {
    if (target === undefined) throw new Error('target did not start');
    return target;
  };

  it('runs the classic counter sequence: blue ×3 → 0,1,2; green → 0; blue → 3', async () => {
    // Act
    const blue = [];
    for (let i = 0; i < 3; i++) blue.push(await client.invoke<CounterResult>('blue', {}));
    const green = await client.invoke<CounterResult>('green', {});
    const blueAgain = await client.invoke<CounterResult>('blue', {});

    // Assess
    expect(blue.map((r) => counterOf(r.result).counter)).toEqual([0, 1, 2]);
    expect(counterOf(green.result).counter).toBe(0);
    expect(counterOf(blueAgain.result).counter).toBe(3);
    const blueTenant = blue[0]!.tenantId;
    // The tenant the SDK reports is the one the function ran under.
    expect(
      blue.every((r) => r.tenantId === blueTenant && counterOf(r.result).tenantId === blueTenant),
    ).toBe(true);
    expect(green.tenantId).not.toBe(blueTenant);
    expect(blueTenant).not.toContain('blue');
    // `counter` does not use the function library: state cannot be known.
    expect(blue.every((r) => r.state === 'unknown' && r.envId === undefined)).toBe(true);
    expect(blue[0]!.attempts).toBe(1);
    expect(blue[0]!.durationMs).toBeGreaterThan(0);
  });

  it('fresh mode runs every call in a new environment', async () => {
    const results = [];
    for (let i = 0; i < 2; i++)
      results.push(await client.invoke<CounterResult>('blue', {}, { mode: 'fresh' }));
    expect(results.map((r) => counterOf(r.result).counter)).toEqual([0, 0]);
    expect(results[0]!.tenantId).not.toBe(results[1]!.tenantId);
  });

  it('reports state from functions using the library: fresh, then hit in the same environment', async () => {
    // Prepare: a key no earlier run has a snapshot of.
    const key = `doc-${randomUUID()}`;
    // Act
    const first = await client.invoke<CounterResult>(key, {}, { functionName: 'warm-counter' });
    const second = await client.invoke<CounterResult>(key, {}, { functionName: 'warm-counter' });
    // Assess
    expect(counterOf(first.result).counter).toBe(0);
    expect(counterOf(second.result).counter).toBe(1);
    expect(first.state).toBe('fresh');
    expect(second.state).toBe('hit');
    expect(typeof first.envId).toBe('string');
    expect(second.envId).toBe(first.envId);
    expect(second.tenantId).toBe(first.tenantId);

    // Losing the environment: the state comes back from the snapshot.
    expect(t().localHost.evict({ tenant: first.tenantId })).toBeGreaterThan(0);
    await waitFor(
      () =>
        t()
          .localHost.environments()
          .every((e) => e.tenant !== first.tenantId),
      'the eviction',
    );
    const third = await client.invoke<CounterResult>(key, {}, { functionName: 'warm-counter' });
    expect(third.state).toBe('rehydrated');
    expect(counterOf(third.result).counter).toBe(2);
    expect(third.envId).not.toBe(first.envId);
  });

  it('surfaces a function error as a FunctionError with its type, distinct from transport errors', async () => {
    // Act
    const err = await rejection(
      client.invoke('blue', { what: 'disk' }, { functionName: 'thrower' }),
    );
    // Assess
    expect(err).not.toBeInstanceOf(TransportError);
    if (!(err instanceof FunctionError))
      throw new Error(`expected a FunctionError, got ${err.name}`);
    const fnErr = err;
    expect(fnErr.code).toBe('WR_ERR_FUNCTION_ERROR');
    expect(fnErr.status).toBe(502);
    expect(fnErr.errorType).toBe('QuotaExceeded');
    expect(fnErr.message).toContain('QuotaExceeded');
    expect(typeof fnErr.tenantId).toBe('string');
    if (t().forwardsErrorMessage) expect(fnErr.errorMessage).toBe('over quota: disk');
    // A function error is the function's answer: never retried.
    expect(t().localHost.stats().invocations['thrower']).toBe(1);
  });

  it('rejects a bad key before any network call', async () => {
    // Prepare: a client that has not connected anywhere yet.
    const fresh = t().client({ functionName: 'counter' });
    const before = t().activity();
    // Act
    const errors = [];
    for (const key of ['', 'line\nbreak', 'nul\u0000', 'k'.repeat(1025), '\uDC00']) {
      errors.push(await rejection(fresh.invoke(key, {})));
    }
    // Assess
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('WR_ERR_KEY_INVALID'));
    expect(errors.every((e) => e.status === 400 && !(e instanceof TransportError))).toBe(true);
    expect(t().activity()).toBe(before);
  });

  it('respects the deadline: a slow function fails with WR_ERR_DEADLINE and is not retried', async () => {
    // Prepare
    const key = `slow-${randomUUID()}`;
    const before = t().localHost.stats().invocations['slow'] ?? 0;
    // Act: the function sleeps 4 s; the call allows 300 ms.
    const err = await rejection(
      client.invoke(key, { ms: 4_000 }, { functionName: 'slow', timeoutMs: 300 }),
    );
    // Assess
    expect(err.code).toBe('WR_ERR_DEADLINE');
    expect(err).not.toBeInstanceOf(FunctionError);
    // The function may have run: exactly one invocation reached the host.
    expect((t().localHost.stats().invocations['slow'] ?? 0) - before).toBe(1);
  });

  it('stops a call when the caller aborts, with WR_ERR_ABORTED', async () => {
    const key = `abort-${randomUUID()}`;
    const before = t().localHost.stats().invocations['slow'] ?? 0;
    const controller = new AbortController();
    const pending = rejection(
      client.invoke(key, { ms: 4_000 }, { functionName: 'slow', signal: controller.signal }),
    );
    await waitFor(
      () => (t().localHost.stats().invocations['slow'] ?? 0) > before,
      'the call to start',
    );
    controller.abort();
    const err = await pending;
    expect(err.code).toBe('WR_ERR_ABORTED');
    expect(err).not.toBeInstanceOf(TransportError);
  });

  it('honours 429 Retry-After from a busy key: waits at least that long, then succeeds', async () => {
    // Prepare: per-key queue of 0, so a second call for a busy key is refused with 429 + Retry-After.
    const waits: number[] = [];
    const recording = t().client({
      functionName: 'slow',
      retry: {
        sleep: async (ms, signal) => {
          waits.push(ms);
          await delay(ms, undefined, { signal });
        },
      },
    });
    const key = `busy-${randomUUID()}`;
    // A warm environment first, so the busy call's length is the function's
    // sleep (well under Retry-After), not a cold start.
    await recording.invoke(key, { ms: 0 });
    const before = t().localHost.stats().invocations['slow'] ?? 0;
    const first = recording.invoke<{ slept: number }>(key, { ms: 300 });
    await waitFor(
      () => (t().localHost.stats().invocations['slow'] ?? 0) > before,
      'the first call to start',
    );

    // Act
    const second = await recording.invoke<{ slept: number }>(key, { ms: 0 });

    // Assess: refused (the function did not run), retried after ≥ Retry-After (1 s) each
    // time, then served. (Normally once; a stalled machine may see a second refusal.)
    expect(second.attempts).toBeGreaterThanOrEqual(2);
    expect(waits).toHaveLength(second.attempts - 1);
    expect(waits.every((ms) => ms >= 1_000)).toBe(true);
    expect(second.result.slept).toBe(0);
    expect((await first).result.slept).toBe(300);
    expect((t().localHost.stats().invocations['slow'] ?? 0) - before).toBe(2);
  });

  it('gives up on 429 when Retry-After would pass the deadline, reporting the wait', async () => {
    const key = `busy-${randomUUID()}`;
    const before = t().localHost.stats().invocations['slow'] ?? 0;
    const first = client.invoke(key, { ms: 600 }, { functionName: 'slow' });
    await waitFor(
      () => (t().localHost.stats().invocations['slow'] ?? 0) > before,
      'the first call to start',
    );
    const err = await rejection(client.invoke(key, {}, { functionName: 'slow', timeoutMs: 500 }));
    expect(err.code).toBe('WR_ERR_KEY_BUSY');
    expect(err.status).toBe(429);
    expect(err.retryAfterSeconds).toBe(1);
    await first;
  });

  it('reports an unknown function without invoking anything', async () => {
    const before = t().localHost.stats();
    const err = await rejection(client.invoke('blue', {}, { functionName: 'no-such-function' }));
    expect(err.code).toBe('WR_ERR_FUNCTION_NOT_FOUND');
    expect(err.status).toBe(404);
    expect(t().localHost.stats().invocations).toEqual(before.invocations);
  });
});
