import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A client that disconnects while its request waits for its key: the
 * scheduler drops the job (the function is never invoked for it), the key
 * goes on to the next request, and the drop is counted as `cancelled`, not
 * as a backend error.
 */
describe('gateway: a client that leaves while queued', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
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

  async function waitFor(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
    expect(condition()).toBe(true);
  }

  it('is never invoked, and does not hold the key', async () => {
    // Prepare: a request that holds key k in its environment for a while.
    const key = `gone-${Date.now()}`;
    const before = gw.invocations('slow');
    const completed = () => gw.localHost.stats().functions['slow']?.completed ?? 0;
    const completedBefore = completed();
    const holder = invokeSlow(key, 3_000);
    await waitFor(() => gw.invocations('slow') === before + 1);

    // Act: a second request for k queues behind it; its client hangs up.
    const { port } = new URL(gw.url);
    const leaver = httpRequest({
      host: '127.0.0.1',
      port: Number(port),
      method: 'POST',
      path: '/v1/functions/slow/invoke',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
    });
    const leaverClosed = new Promise<void>((resolve) => leaver.once('close', resolve));
    leaver.on('error', () => undefined);
    leaver.end(JSON.stringify({ sleepMs: 0 }));
    await waitFor(() => gw.deps.scheduler.stats().queued === 1);
    leaver.destroy();
    await leaverClosed;
    // Dropped as soon as the client left, not when its turn came.
    await waitFor(() => gw.deps.scheduler.stats().queued === 0);
    expect(completed()).toBe(completedBefore);

    // Assess: the holder finishes; the key is free for the next request at once.
    const held = await holder;
    expect(held.statusCode).toBe(200);
    await held.body.text();
    const next = await invokeSlow(key, 0);
    expect(next.statusCode).toBe(200);
    expect(await next.body.json()).toEqual({ slept: 0 });
    // Two invocations of the function: the holder and the next one, not the leaver.
    expect(gw.invocations('slow')).toBe(before + 2);

    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(metrics).toMatch(/warmroute_concurrency_rejections_total\{reason="cancelled"\} 1\b/);
    expect(metrics).not.toMatch(/warmroute_backend_errors_total\{[^}]*function="slow"/);
  });
});
