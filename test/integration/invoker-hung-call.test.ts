import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 11, 9c: a client that leaves a hung call no longer blocks its key
 * until the function times out. The call runs on in its environment (its
 * result is dropped); the request waiting for the key runs at once, in a
 * second environment of the same tenant, before the hung call ends.
 */
describe('gateway: a client that leaves while its call runs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  async function waitFor(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 1_000 && !condition(); i++) await sleep(10);
    expect(condition()).toBe(true);
  }

  it('frees the key for the next request, which runs while the left call still runs', async () => {
    // Prepare: a client starts a long call for key k.
    const key = `hung-${Date.now()}`;
    const completed = () => gw.localHost.stats().functions['slow']?.completed ?? 0;
    const invokedBefore = gw.invocations('slow');
    const completedBefore = completed();
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
    leaver.end(JSON.stringify({ sleepMs: 12_000 }));
    await waitFor(() => gw.invocations('slow') === invokedBefore + 1);

    // A second client asks for the same key: it waits for the key.
    const next = request(`${gw.url}/v1/functions/slow/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ sleepMs: 0 }),
    });
    await waitFor(() => gw.deps.scheduler.stats().queued === 1);

    // Act: the first client leaves.
    leaver.destroy();
    await leaverClosed;

    // Assess: the second request is answered while the left call is still running.
    const res = await next;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ slept: 0 });
    expect(completed()).toBe(completedBefore + 1);
    expect(gw.deps.scheduler.stats().running).toBe(1);

    // The left call ends on its own; nothing stays held.
    await waitFor(() => completed() === completedBefore + 2);
    await waitFor(() => gw.deps.scheduler.stats().running === 0);
    expect(gw.deps.scheduler.stats()).toMatchObject({ queued: 0, keysActive: 0 });
  });
});
