import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildClientContext, parseEnvelope, type WarmReport } from '../../lambda/protocol.js';
import { createLambdaBackend } from '../../src/backend/lambda-backend.js';
import { KeepWarmPlanner } from '../../src/budget/keep-warm.js';
import { keepWarmSender, type KeepWarmAnswer } from '../../src/budget/keep-warm-sender.js';
import { defaults } from '../../src/config/schema.js';
import { startLocalHost, type LocalHostOptions } from '../../src/localhost/index.js';
import { distDir, packageRoot } from '../../src/paths.js';
import { testFunctionsFile } from '../helpers/localhost-host.js';

/**
 * Keep-warm pings against the real local host and the real function library
 * (test/helpers/warm-state-functions: warm-counter, whose handler counts its
 * calls in the key's state), through the gateway's Lambda backend on both
 * Invoke paths: the library answers without running the handler, the next
 * real request is a hit in the same environment, and a planner's pings keep
 * an environment alive past the host's idle reclaim time.
 */

const FUNCTION = 'warm-counter';
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Call {
  readonly report: WarmReport;
  readonly counter: number;
}

async function setup(pipeline: 'fast' | 'sdk', reclaim: LocalHostOptions = {}) {
  expect(existsSync(join(distDir, 'lambda', 'index.js')), 'run npm run build first').toBe(true);
  const snapshotDir = await mkdtemp(join(tmpdir(), 'wr-keep-warm-snap-'));
  onTestFinished(() => rm(snapshotDir, { recursive: true, force: true }));
  const host = await startLocalHost({
    port: 0,
    functionsFile: join(packageRoot, 'test/helpers/warm-state-functions/functions.json'),
    env: { ...process.env, WARMROUTE_SNAPSHOT_DIR: snapshotDir, WARMROUTE_SNAPSHOT_REDIS_URL: '' },
    ...reclaim,
  });
  onTestFinished(() => host.close());
  const backend = createLambdaBackend({
    region: 'us-east-1',
    endpoint: host.url,
    connections: defaults.globalConcurrency,
    pipeline,
  });
  onTestFinished(() => backend.close());
  const answers: KeepWarmAnswer[] = [];
  const ping = keepWarmSender(backend, {
    timeoutMs: 10_000,
    onAnswer: (a) => answers.push(a),
  });

  /** A real request for `key` on `tenant`, as the invoker sends it. */
  const request = async (key: string, tenant: string): Promise<Call> => {
    const result = await backend.invoke({
      functionName: FUNCTION,
      tenantId: tenant,
      payload: enc.encode('{}'),
      clientContext: buildClientContext({
        v: 1,
        key,
        mode: 'affinity',
        stateVersion: 0,
        wrap: true,
        scope: { ns: 'keep-warm-test', epoch: 'e', gen: 0 },
      }),
      deadline: Date.now() + 10_000,
    });
    const envelope = parseEnvelope(result.payload);
    if (envelope === undefined) throw new Error(`no envelope: ${dec.decode(result.payload)}`);
    const body = JSON.parse((envelope.result as { body: string }).body) as { counter: number };
    return { report: envelope.report, counter: body.counter };
  };
  return { host, backend, ping, request, answers };
}

for (const pipeline of ['fast', 'sdk'] as const) {
  describe(`keep-warm ping on the local host (${pipeline} pipeline)`, () => {
    it('is answered without running the handler; the next request is a hit in the same environment', async () => {
      // Prepare
      const { ping, request, answers } = await setup(pipeline);
      const first = await request('k1', 'tenant-1');

      // Act
      const pinged = await ping(FUNCTION, 'tenant-1');
      await ping(FUNCTION, 'tenant-1');
      const next = await request('k1', 'tenant-1');

      // Assess
      expect(first).toMatchObject({ counter: 0, report: { state: 'fresh', coldStart: true } });
      expect(pinged.report).toMatchObject({
        state: 'hit',
        env: first.report.env,
        coldStart: false,
        stateVersion: 0,
        rehydrateMs: 0,
      });
      // Two pings ran no handler: the counter saw one call before this one, and the state
      // version is the one the first call wrote, plus this call's.
      expect(next).toMatchObject({
        counter: 1,
        report: { state: 'hit', env: first.report.env, stateVersion: 2, coldStart: false },
      });
      expect(answers.map((a) => [a.tenantId, a.report.state])).toEqual([
        ['tenant-1', 'hit'],
        ['tenant-1', 'hit'],
      ]);
    });

    it('a ping to a tenant with no environment starts one (fresh, coldStart) that the next request then uses', async () => {
      const { ping, request } = await setup(pipeline);

      const pinged = await ping(FUNCTION, 'tenant-2');
      const next = await request('k2', 'tenant-2');

      expect(pinged.report).toMatchObject({ state: 'fresh', coldStart: true });
      // The key's own state is new (its first request ever); the environment is not.
      expect(next).toMatchObject({
        counter: 0,
        report: { state: 'fresh', env: pinged.report.env, coldStart: false },
      });
    });
  });
}

describe('keep-warm planner on a host with idle reclaim', () => {
  // Idle reclaim at 1.5 s, no jitter; the key comes back 2.2 s after its last answer.
  const IDLE_MS = 1_500;
  const GAP_MS = 2_200;

  async function lastRequestAfterGap(withPlanner: boolean) {
    const { request, ping } = await setup('fast', {
      reclaim: 'idle',
      idleReclaimMs: IDLE_MS,
      idleJitterMs: 0,
    });
    const planner = new KeepWarmPlanner({
      functionName: FUNCTION,
      pingsPerMinute: 60,
      // Ping 30 % early: a process start and the host's timers on a loaded machine.
      marginRatio: 0.3,
      send: ping,
      idleLifetimeMs: () => IDLE_MS,
      price: () => ({ coldStartPico: 10_000, pingPico: 1_000 }),
    });
    onTestFinished(() => {
      planner.close();
    });
    const first = await request('k', 'tenant-3');
    const end = Date.now();
    // The key's history: four earlier gaps like the one to come.
    for (let i = 4; i >= 1; i--) planner.observe('k', 'tenant-3', end - i * GAP_MS);
    if (withPlanner) planner.observe('k', 'tenant-3', end);
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    const back = await request('k', 'tenant-3');
    return { first, back, counters: planner.counters() };
  }

  it('pings at L − margin, and the key comes back past the idle reclaim time to a warm environment', async () => {
    const { first, back, counters } = await lastRequestAfterGap(true);

    expect(counters.pingsSent).toBe(1);
    expect(counters.pingsFailed).toBe(0);
    expect(back.report).toMatchObject({ state: 'hit', env: first.report.env });
  });

  it('without the ping the same gap finds the environment reclaimed', async () => {
    const { first, back, counters } = await lastRequestAfterGap(false);

    expect(counters.pingsSent).toBe(0);
    expect(back.report.env).not.toBe(first.report.env);
    expect(back.report.state).not.toBe('hit');
  });
});

describe('keep-warm ping to a function without the library', () => {
  it('is refused by the sender: the function ran its handler and gave no keep-warm answer', async () => {
    // Prepare: the plain `echo` test function, which returns what it was given.
    const host = await startLocalHost({ port: 0, functionsFile: testFunctionsFile });
    onTestFinished(() => host.close());
    const backend = createLambdaBackend({
      region: 'us-east-1',
      endpoint: host.url,
      connections: defaults.globalConcurrency,
      pipeline: 'fast',
    });
    onTestFinished(() => backend.close());
    const ping = keepWarmSender(backend, { timeoutMs: 10_000 });

    // Act
    const refused = await ping('echo', 'tenant-x').then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/not answered by the function library/);
  });
});
