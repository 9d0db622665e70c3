import { describe, expect, it, onTestFinished } from 'vitest';
import { createLambdaBackend } from '../../src/backend/lambda-backend.js';
import { defaults } from '../../src/config/schema.js';
import { WarmrouteError } from '../../src/errors.js';
import { ok, startInvokeServer } from '../helpers/backend-invoke-server.js';

/**
 * Issue 11, 9b: under overload the gateway answered 502 HeadersTimeoutError
 * for invocations the local host completed. The client's response timeout
 * was the function's timeout + 2 s (5 s for `counter`), shorter than what an
 * invocation may take (an init, a wait for an environment on a busy host).
 * Now the one client-side timeout is the request deadline: an answer that
 * comes before it is taken, and a call abandoned at it is WR_ERR_DEADLINE
 * (504), never a transport 502. Real HTTP server, both pipelines.
 */

const enc = new TextEncoder();

async function rejection(p: Promise<unknown>): Promise<WarmrouteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WarmrouteError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

for (const pipeline of ['fast', 'sdk'] as const) {
  describe(`lambda backend timeouts follow the request deadline (${pipeline} pipeline)`, () => {
    it('takes an answer that comes later than the function’s timeout + margin, within the deadline', async () => {
      // Prepare: the old timeout would be 200 ms + 2,000 ms; the answer comes at 3,000 ms.
      const server = await startInvokeServer(() => ({ ...ok({ done: true }), delayMs: 3_000 }));
      onTestFinished(() => server.close());
      const backend = createLambdaBackend({
        region: 'us-east-1',
        endpoint: server.url,
        connections: defaults.globalConcurrency,
        pipeline,
        functionTimeoutMs: () => 200,
      });
      onTestFinished(() => backend.close());

      // Act
      const result = await backend.invoke({
        functionName: 'busy',
        payload: enc.encode('{}'),
        deadline: Date.now() + 20_000,
      });

      // Assess
      expect(new TextDecoder().decode(result.payload)).toBe('{"done":true}');
      expect(result.attempts).toBe(1);
      expect(server.requests).toHaveLength(1);
    });

    it('abandons a call only at the deadline, as WR_ERR_DEADLINE (504), never as a 502', async () => {
      const server = await startInvokeServer(() => ({ ...ok({ late: true }), delayMs: 5_000 }));
      onTestFinished(() => server.close());
      const backend = createLambdaBackend({
        region: 'us-east-1',
        endpoint: server.url,
        connections: defaults.globalConcurrency,
        pipeline,
      });
      onTestFinished(() => backend.close());

      const err = await rejection(
        backend.invoke({
          functionName: 'busy',
          payload: enc.encode('{}'),
          deadline: Date.now() + 1_200,
        }),
      );

      expect(err.code).toBe('WR_ERR_DEADLINE');
      expect(err.statusCode).toBe(504);
      // Never retried: the function may be running.
      expect(server.requests).toHaveLength(1);
    });

    it('warns once per function when a request’s budget is shorter than the function’s timeout', async () => {
      const server = await startInvokeServer(() => ok({}));
      onTestFinished(() => server.close());
      const warnings: object[] = [];
      const backend = createLambdaBackend({
        region: 'us-east-1',
        endpoint: server.url,
        connections: defaults.globalConcurrency,
        pipeline,
        functionTimeoutMs: (name) => (name === 'long' ? 60_000 : 1_000),
        logger: { debug: () => undefined, warn: (obj) => warnings.push(obj) },
      });
      onTestFinished(() => backend.close());

      for (const functionName of ['long', 'long', 'short'])
        await backend.invoke({
          functionName,
          payload: enc.encode('{}'),
          deadline: Date.now() + 10_000,
        });

      expect(warnings).toEqual([
        expect.objectContaining({ functionName: 'long', functionTimeoutMs: 60_000 }),
      ]);
    });
  });
}
