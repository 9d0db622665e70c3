import { describe, expect, it, onTestFinished } from 'vitest';
import { createLambdaBackend } from '../../src/backend/lambda-backend.js';
import { defaults } from '../../src/config/schema.js';
import { WarmrouteError } from '../../src/errors.js';
import { ok, startInvokeServer, throttled } from '../helpers/backend-invoke-server.js';
import { invokerFixture, parseExposition } from '../helpers/invoker-fixture.js';

/**
 * Issue 11, 9a: `warmroute_backend_retries_total` counted retries only when
 * the request finally succeeded (`attempts - 1` on the result), so a
 * throttling storm that ended in 429s showed no retries at all. Now each
 * retry is counted as it happens. A real HTTP server throttles; the real
 * Lambda backend retries; the invoker counts.
 */

async function retriesCounted(f: ReturnType<typeof invokerFixture>): Promise<number> {
  const samples = parseExposition(await f.metrics.registry.metrics());
  return samples
    .filter((s) => s.name === 'warmroute_backend_retries_total')
    .reduce((sum, s) => sum + s.value, 0);
}

function setup(respond: Parameters<typeof startInvokeServer>[0]) {
  return async () => {
    const server = await startInvokeServer(respond);
    onTestFinished(() => server.close());
    const backend = createLambdaBackend({
      region: 'us-east-1',
      endpoint: server.url,
      connections: defaults.globalConcurrency,
      pipeline: defaults.lambdaPipeline,
      random: () => 0.5,
      // Many short waits: the deadline, not maxAttempts, ends the retries.
      retry: { maxAttempts: 10_000, baseDelayMs: 10, maxDelayMs: 20 },
    });
    onTestFinished(() => backend.close());
    return { server, f: invokerFixture({ backend }) };
  };
}

describe('warmroute_backend_retries_total', () => {
  it('counts the retries of a request throttled until its deadline', async () => {
    // Prepare
    const { server, f } = await setup(() => throttled(0))();

    // Act
    const err = await f.invoker
      .invoke({
        functionName: 'f',
        key: 'k',
        mode: 'affinity',
        route: 'rpc',
        payload: new TextEncoder().encode('{}'),
        deadline: Date.now() + 1_000,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    // Assess: throttled to the end (429, or 504 when the last wait ran into the deadline),
    // and every attempt after the first counted.
    expect(err).toBeInstanceOf(WarmrouteError);
    expect(['WR_ERR_THROTTLED', 'WR_ERR_DEADLINE']).toContain((err as WarmrouteError).code);
    expect(server.requests.length).toBeGreaterThan(2);
    expect(await retriesCounted(f)).toBe(server.requests.length - 1);
  });

  it('still counts the retries of a request that succeeds in the end', async () => {
    const { server, f } = await setup((_r, i) => (i < 2 ? throttled(0) : ok({ n: 1 })))();

    await f.invoke('f');

    expect(server.requests).toHaveLength(3);
    expect(await retriesCounted(f)).toBe(2);
  });
});
