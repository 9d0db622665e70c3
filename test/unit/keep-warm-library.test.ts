import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KEEP_WARM_CLIENT_CONTEXT,
  KEEP_WARM_PAYLOAD,
  isKeepWarm,
  readWarmRequest,
} from '../../lambda/protocol.js';
import { MemorySnapshotStore } from '../../lambda/stores/memory-snapshot-store.js';
import type { SnapshotScope } from '../../lambda/snapshot-scope.js';
import type { SnapshotStore } from '../../lambda/stores/base-snapshot-store.js';
import { createWarmEnvironment } from '../../lambda/warm-environment.js';
import { gatewayContext, gatewayScope, unwrap } from '../helpers/lambda-context.js';

/**
 * The function library's answer to a keep-warm ping (lambda/protocol.ts):
 * no handler, no key state read or written, the environment's id and
 * whether it was warm.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Counts every store call, so a test can show a ping made none. */
class CountingStore extends MemorySnapshotStore {
  calls = 0;
  override read(scope: SnapshotScope): ReturnType<SnapshotStore['read']> {
    this.calls++;
    return super.read(scope);
  }
  override readVersion(scope: SnapshotScope): Promise<number> {
    this.calls++;
    return super.readVersion(scope);
  }
}

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'wr-keep-warm-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const env = createWarmEnvironment({ id: 'env-a', tmpDir: root, functionName: 'test-fn' });
  const store = new CountingStore();
  const handled: string[] = [];
  const keysAsked: string[] = [];
  const handler = env.withWarmState<unknown, number, { counter: number }>(
    (_event, _context, state) => {
      handled.push(state.key);
      const { counter } = state.get();
      state.set({ counter: counter + 1 });
      return counter;
    },
    {
      initialState: () => ({ counter: 0 }),
      store,
      keyFromEvent: () => {
        keysAsked.push('asked');
        return 'from-event';
      },
    },
  );
  return { handler, store, handled, keysAsked };
}

const ping = { tenantId: 't-k', awsRequestId: 'ping', clientContext: KEEP_WARM_CLIENT_CONTEXT };

describe('keep-warm ping, function side', () => {
  it('the marker is recognised and is not a warm request (it names no key)', () => {
    expect(isKeepWarm(KEEP_WARM_CLIENT_CONTEXT)).toBe(true);
    expect(readWarmRequest(KEEP_WARM_CLIENT_CONTEXT)).toBeUndefined();
    expect(isKeepWarm(gatewayContext('k').clientContext)).toBe(false);
    expect(isKeepWarm({ custom: { warmroute: { v: 2, keepWarm: true } } })).toBe(false);
    expect(isKeepWarm({ custom: { warmroute: { v: 1, keepWarm: 'yes' } } })).toBe(false);
    expect(isKeepWarm(null)).toBe(false);
    // The fixed payload is JSON, and is no API Gateway event.
    expect(JSON.parse(KEEP_WARM_PAYLOAD)).toEqual({ warmroute: 'keep-warm' });
  });

  it('on a new environment: fresh + coldStart, no handler, no store call; the next request is then no cold start', async () => {
    // Prepare
    const { handler, store, handled, keysAsked } = await setup();

    // Act
    const answer = unwrap<null>(await handler(JSON.parse(KEEP_WARM_PAYLOAD), ping));
    const first = unwrap<number>(await handler({}, gatewayContext('k')));

    // Assess
    expect(answer.result).toBeNull();
    expect(answer.report).toEqual({
      v: 1,
      env: 'env-a',
      state: 'fresh',
      stateVersion: 0,
      rehydrateMs: 0,
      coldStart: true,
      keepWarm: true,
    });
    expect(first.report).toMatchObject({ state: 'fresh', coldStart: false });
    expect(handled).toEqual(['k']);
    expect(keysAsked).toEqual([]);
    expect(store.calls).toBe(1); // the real request's read, none from the ping
  });

  it('on a warm environment: hit, and the key state is untouched (version, value, cache)', async () => {
    // Prepare
    const { handler, store, handled } = await setup();
    const warmUp = unwrap<number>(await handler({}, gatewayContext('k')));
    const callsBefore = store.calls;
    const versionBefore = await store.readVersion(gatewayScope('k'));

    // Act
    const answer = unwrap<null>(await handler({}, ping));
    const answer2 = unwrap<null>(await handler({}, ping));
    const storeCallsByPings = store.calls - callsBefore - 1; // minus our own readVersion
    const next = unwrap<number>(
      await handler({}, gatewayContext('k', { stateVersion: warmUp.report.stateVersion })),
    );

    // Assess
    expect([answer.report.state, answer2.report.state]).toEqual(['hit', 'hit']);
    expect(answer.report).toMatchObject({ env: 'env-a', coldStart: false, keepWarm: true });
    expect(storeCallsByPings).toBe(0);
    expect(versionBefore).toBe(1);
    expect(handled).toEqual(['k', 'k']);
    // The counter went 0 → 1 on the first request only: the pings ran nothing.
    expect(next.result).toBe(1);
    expect(next.report).toMatchObject({ state: 'hit', env: 'env-a', stateVersion: 2 });
  });

  it('without wrap the answer is the bare null result', async () => {
    const { handler, handled } = await setup();
    const bare = {
      ...ping,
      clientContext: { custom: { warmroute: { v: 1, keepWarm: true, wrap: false } } },
    };

    expect(await handler({}, bare)).toBeNull();
    expect(handled).toEqual([]);
  });

  it('a ping is not held up by an invocation of a key in progress', async () => {
    // Prepare: a handler that blocks until released.
    const root = await mkdtemp(join(tmpdir(), 'wr-keep-warm-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const env = createWarmEnvironment({ id: 'env-b', tmpDir: root, functionName: 'test-fn' });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = env.withWarmState<unknown, string, { n: number }>(
      async () => {
        await gate;
        return 'done';
      },
      { initialState: () => ({ n: 0 }), store: new MemorySnapshotStore() },
    );

    // Act
    const busy = handler({}, gatewayContext('k'));
    const answer = unwrap<null>(await handler({}, ping));
    release();

    // Assess
    expect(answer.report.env).toBe('env-b');
    expect(unwrap<string>(await busy).result).toBe('done');
  });
});
