import { describe, expect, it, onTestFinished } from 'vitest';
import { createLambdaBackend } from '../../src/backend/lambda-backend.js';
import type { FunctionSettings } from '../../src/config/function-settings.js';
import { defaults } from '../../src/config/schema.js';
import { WarmrouteError } from '../../src/errors.js';
import {
  lambdaError,
  ok,
  startInvokeServer,
  throttled,
  type ScriptedResponse,
} from '../helpers/backend-invoke-server.js';
import { invokerFixture, parseExposition } from '../helpers/invoker-fixture.js';
import { startTestHost } from '../helpers/localhost-host.js';

/**
 * warmroute_backend_throttles_total{function, reason, tenancy}: each attempt
 * Lambda throttled, retries included, by the bounded class of its Reason.
 * The local host's reserved-concurrency throttle carries a Reason
 * (concurrency); a 429 without one (how AWS documents the tenant-environment
 * cap) is unattributed. Both pipelines, since each deserializes the error
 * its own way.
 */

const pipelines = ['fast', 'sdk'] as const;

async function throttlesCounted(
  f: ReturnType<typeof invokerFixture>,
): Promise<Record<string, number>> {
  const counted: Record<string, number> = {};
  for (const s of parseExposition(await f.metrics.registry.metrics())) {
    if (s.name !== 'warmroute_backend_throttles_total') continue;
    const key = `${s.labels['function']} ${s.labels['reason']} ${s.labels['tenancy']}`;
    counted[key] = (counted[key] ?? 0) + s.value;
  }
  return counted;
}

function backendFor(endpoint: string, pipeline: 'fast' | 'sdk', maxAttempts: number) {
  const backend = createLambdaBackend({
    region: 'us-east-1',
    endpoint,
    connections: defaults.globalConcurrency,
    pipeline,
    random: () => 0.5,
    retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 2 },
  });
  onTestFinished(() => backend.close());
  return backend;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const perTenant: FunctionSettings = { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' };

/** A 429 TooManyRequestsException whose body names a Reason, as Lambda's does. */
function throttledWithReason(reason: string): ScriptedResponse {
  const answer = lambdaError(429, 'TooManyRequestsException', 'Rate exceeded');
  return {
    ...answer,
    body: JSON.stringify({ Type: 'User', message: 'Rate exceeded', Reason: reason }),
  };
}

describe.each(pipelines)('warmroute_backend_throttles_total (%s pipeline)', (pipeline) => {
  it("counts the local host's reserved-concurrency throttles as concurrency, every attempt", async () => {
    // Prepare: `throttled` has reserved concurrency 0, so every attempt is refused.
    const host = await startTestHost();
    const f = invokerFixture({
      backend: backendFor(host.url, pipeline, 3),
      functions: { throttled: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'NONE' } },
    });

    // Act
    const err = await failure(f.invoke('throttled'));

    // Assess: three attempts, three throttles, all with a concurrency Reason.
    expect((err as WarmrouteError).code).toBe('WR_ERR_THROTTLED');
    expect(await throttlesCounted(f)).toEqual({ 'throttled concurrency NONE': 3 });
  });

  it('counts a 429 without a Reason as unattributed, retries included', async () => {
    // Prepare
    const server = await startInvokeServer((_r, i) => (i < 2 ? throttled(0) : ok({ n: 1 })));
    onTestFinished(() => server.close());
    const f = invokerFixture({
      backend: backendFor(server.url, pipeline, 4),
      functions: { f: perTenant },
    });

    // Act
    await f.invoke('f');

    // Assess
    expect(server.requests).toHaveLength(3);
    expect(await throttlesCounted(f)).toEqual({ 'f unattributed PER_TENANT': 2 });
  });

  it('reads a rate Reason from the error body, and never exports the raw Reason', async () => {
    // Prepare
    const reasons = ['ReservedFunctionInvocationRateLimitExceeded', 'Made-Up-Reason'];
    const server = await startInvokeServer((_r, i) => {
      const reason = reasons[i];
      return reason === undefined ? ok({ n: 1 }) : throttledWithReason(reason);
    });
    onTestFinished(() => server.close());
    const f = invokerFixture({
      backend: backendFor(server.url, pipeline, 4),
      functions: { f: perTenant },
    });

    // Act
    await f.invoke('f');

    // Assess
    expect(await throttlesCounted(f)).toEqual({
      'f rate PER_TENANT': 1,
      'f unattributed PER_TENANT': 1,
    });
  });
});
