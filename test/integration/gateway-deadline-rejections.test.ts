import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { parseExposition } from '../helpers/invoker-fixture.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A request whose deadline passes while it waits in the scheduler's queue is
 * never invoked and is counted as the scheduler's refusal,
 * `warmroute_concurrency_rejections_total{reason="deadline"}`, not as a backend
 * error; a request whose deadline passes while Lambda runs it is
 * `warmroute_backend_errors_total{type="deadline"}`. Both answer 504
 * WR_ERR_DEADLINE.
 */
describe('gateway: a deadline that passes in the queue', () => {
  const TIMEOUT_MS = 300;
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      WARMROUTE_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
      WARMROUTE_GLOBAL_CONCURRENCY: '1',
      WARMROUTE_TENANT_CONCURRENCY: '1',
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  function invokeSlow(key: string, sleepMs: number) {
    return request(`${gw.url}/v1/functions/slow/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ sleepMs }),
    });
  }

  async function counts(): Promise<{ rejected: number; backend: number; backendSlow: number }> {
    const text = await (await request(`${gw.url}/metrics`)).body.text();
    const samples = parseExposition(text);
    const sum = (name: string, match: (labels: Readonly<Record<string, string>>) => boolean) =>
      samples.filter((s) => s.name === name && match(s.labels)).reduce((a, s) => a + s.value, 0);
    return {
      rejected: sum('warmroute_concurrency_rejections_total', (l) => l['reason'] === 'deadline'),
      backend: sum('warmroute_backend_errors_total', () => true),
      backendSlow: sum(
        'warmroute_backend_errors_total',
        (l) => l['function'] === 'slow' && l['type'] === 'deadline',
      ),
    };
  }

  it('is a deadline rejection, never invoked; one that passes in Lambda is a backend error', async () => {
    // Prepare: the gateway's only global slot held by a job of another tenant.
    const before = gw.invocations('slow');
    let release: () => void = () => undefined;
    const held = gw.deps.scheduler.run(
      { key: 'holder', tenantId: 'other-tenant', deadline: Date.now() + 10_000 },
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const start = await counts();

    // Act: a request waits for the slot past its deadline.
    const queued = await invokeSlow(`queued-${Date.now()}`, 0);
    const queuedBody = await queued.body.json();
    release();
    await held;

    // Assess: 504 WR_ERR_DEADLINE, the function not invoked, counted as a rejection only.
    expect(queued.statusCode).toBe(504);
    expect(queuedBody).toMatchObject({ error: { code: 'WR_ERR_DEADLINE' } });
    expect(gw.invocations('slow')).toBe(before);
    const afterQueue = await counts();
    expect(afterQueue.rejected - start.rejected).toBe(1);
    expect(afterQueue.backend - start.backend).toBe(0);

    // Act: a request that runs past its deadline in Lambda.
    const running = await invokeSlow(`running-${Date.now()}`, TIMEOUT_MS * 4);
    await running.body.text();

    // Assess: also 504, counted as a backend error, not a rejection.
    expect(running.statusCode).toBe(504);
    expect(gw.invocations('slow')).toBe(before + 1);
    const afterRun = await counts();
    expect(afterRun.rejected - afterQueue.rejected).toBe(0);
    expect(afterRun.backendSlow - afterQueue.backendSlow).toBe(1);
  });
});
