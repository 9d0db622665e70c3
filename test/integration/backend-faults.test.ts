import { describe, it, expect, onTestFinished } from 'vitest';
import {
  createLambdaBackend,
  type LambdaBackendOptions,
} from '../../src/backend/lambda-backend.js';
import { defaults } from '../../src/config/schema.js';
import { WarmrouteError } from '../../src/errors.js';
import {
  lambdaError,
  ok,
  startInvokeServer,
  throttled,
  type RecordedInvoke,
  type ScriptedResponse,
} from '../helpers/backend-invoke-server.js';

/**
 * Fault injection the local host cannot produce on demand, on a real HTTP
 * server speaking the Invoke API wire shape, through the real SDK pieces.
 * Each case runs on both pipelines (fast path and plain `client.send`).
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

async function setup(
  respond: (r: RecordedInvoke, i: number) => ScriptedResponse,
  options: Partial<Omit<LambdaBackendOptions, 'region'>> = {},
) {
  const server = await startInvokeServer(respond);
  onTestFinished(() => server.close());
  const backend = createLambdaBackend({
    region: 'us-east-1',
    endpoint: server.url,
    random: () => 0.5,
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    connections: defaults.globalConcurrency,
    pipeline: defaults.lambdaPipeline,
    ...options,
  });
  onTestFinished(() => backend.close());
  return { server, backend };
}

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
  describe(`lambda backend on an Invoke API server (${pipeline} pipeline)`, () => {
    it('sends the Invoke wire shape: path, tenant id, client context, log type, signed payload', async () => {
      // Prepare
      const { server, backend } = await setup(
        () =>
          ok(
            { n: 1 },
            {
              'x-amz-log-result': Buffer.from('REPORT RequestId: 1\tDuration: 2.5 ms').toString(
                'base64',
              ),
            },
          ),
        { pipeline },
      );
      // Act
      const result = await backend.invoke({
        functionName: 'counter',
        tenantId: 'tenant-a:1',
        payload: enc.encode('{"x":1}'),
        deadline: Date.now() + 5_000,
        clientContext: { custom: { warmroute: { v: 1 } } },
        logTail: true,
      });
      // Assess
      expect(dec.decode(result.payload)).toBe('{"n":1}');
      expect(result.attempts).toBe(1);
      expect(result.executedVersion).toBe('$LATEST');
      expect(result.logTail).toContain('Duration: 2.5 ms');
      const req = server.requests[0];
      expect(req?.method).toBe('POST');
      expect(req?.url).toBe('/2015-03-31/functions/counter/invocations');
      expect(req?.headers['x-amz-tenant-id']).toBe('tenant-a:1');
      expect(req?.headers['x-amz-log-type']).toBe('Tail');
      expect(req?.headers['x-amz-invocation-type']).toBe('RequestResponse');
      expect(
        JSON.parse(Buffer.from(String(req?.headers['x-amz-client-context']), 'base64').toString()),
      ).toEqual({
        custom: { warmroute: { v: 1 } },
      });
      expect(req?.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=warmroute-local\/\d{8}\/us-east-1\/lambda\/aws4_request, SignedHeaders=.*host.*x-amz-tenant-id.*, Signature=[0-9a-f]{64}$/,
      );
      expect(req?.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(req?.body.toString()).toBe('{"x":1}');
    });

    it('surfaces a function error (HTTP 200 + X-Amz-Function-Error) without retrying', async () => {
      const { server, backend } = await setup(
        () => ({
          ...ok({ errorType: 'TypeError', errorMessage: 'boom', trace: [] }),
          headers: { 'x-amz-function-error': 'Unhandled' },
        }),
        { pipeline },
      );
      const result = await backend.invoke({
        functionName: 'f',
        payload: enc.encode('{}'),
        deadline: Date.now() + 5_000,
      });
      expect(result.functionError).toBe('Unhandled');
      expect(JSON.parse(dec.decode(result.payload))).toMatchObject({ errorType: 'TypeError' });
      expect(server.requests).toHaveLength(1);
    });

    it('retries throttling, then succeeds', async () => {
      const { server, backend } = await setup(
        (_r, i) => (i < 2 ? throttled() : ok({ done: true })),
        { pipeline },
      );
      const result = await backend.invoke({
        functionName: 'f',
        payload: enc.encode('{}'),
        deadline: Date.now() + 5_000,
      });
      expect(dec.decode(result.payload)).toBe('{"done":true}');
      expect(result.attempts).toBe(3);
      expect(server.requests).toHaveLength(3);
    });

    it('retries a ServiceException (500), then succeeds', async () => {
      const { server, backend } = await setup(
        (_r, i) =>
          i === 0 ? lambdaError(500, 'ServiceException', 'internal') : ok({ done: true }),
        { pipeline },
      );
      const result = await backend.invoke({
        functionName: 'f',
        payload: enc.encode('{}'),
        deadline: Date.now() + 5_000,
      });
      expect(result.attempts).toBe(2);
      expect(server.requests).toHaveLength(2);
    });

    it('gives up after maxAttempts with WR_ERR_THROTTLED and the Retry-After hint', async () => {
      const { server, backend } = await setup(() => throttled(0), {
        pipeline,
        retry: { maxAttempts: 3, baseDelayMs: 5 },
      });
      const err = await rejection(
        backend.invoke({
          functionName: 'f',
          payload: enc.encode('{}'),
          deadline: Date.now() + 5_000,
        }),
      );
      expect(err.code).toBe('WR_ERR_THROTTLED');
      expect(err.statusCode).toBe(429);
      expect(err.retryAfterSeconds).toBe(0);
      expect(err.details).toEqual({ upstream: 'TooManyRequestsException' });
      expect(server.requests).toHaveLength(3);
    });

    it('does not wait past the deadline for a Retry-After: 429 at once', async () => {
      const { server, backend } = await setup(() => throttled(30), { pipeline });
      const err = await rejection(
        backend.invoke({
          functionName: 'f',
          payload: enc.encode('{}'),
          deadline: Date.now() + 2_000,
        }),
      );
      expect(err.code).toBe('WR_ERR_THROTTLED');
      expect(err.retryAfterSeconds).toBe(30);
      expect(server.requests).toHaveLength(1);
    });

    it('maps ResourceNotFoundException to WR_ERR_FUNCTION_NOT_FOUND, keeping the SDK error as cause', async () => {
      const { server, backend } = await setup(
        () => lambdaError(404, 'ResourceNotFoundException', 'Function not found'),
        {
          pipeline,
        },
      );
      const err = await rejection(
        backend.invoke({
          functionName: 'nope',
          payload: enc.encode('{}'),
          deadline: Date.now() + 5_000,
        }),
      );
      expect(err.code).toBe('WR_ERR_FUNCTION_NOT_FOUND');
      expect(err.details).toEqual({ upstream: 'ResourceNotFoundException' });
      const cause = err.cause as { name: string; $metadata: { httpStatusCode: number } };
      expect(cause.name).toBe('ResourceNotFoundException');
      expect(cause.$metadata.httpStatusCode).toBe(404);
      expect(server.requests).toHaveLength(1);
    });

    it('maps InvalidParameterValueException (tenancy mismatch) to WR_ERR_BACKEND with the upstream name', async () => {
      const { backend } = await setup(
        () =>
          lambdaError(
            400,
            'InvalidParameterValueException',
            'Add a valid tenant ID in your request',
          ),
        { pipeline },
      );
      const err = await rejection(
        backend.invoke({
          functionName: 'f',
          payload: enc.encode('{}'),
          deadline: Date.now() + 5_000,
        }),
      );
      expect(err.code).toBe('WR_ERR_BACKEND');
      expect(err.details).toEqual({ upstream: 'InvalidParameterValueException' });
    });

    it('aborts a slow attempt at the deadline and never retries it (the function may be running)', async () => {
      const { server, backend } = await setup(() => ({ ...ok({ late: true }), delayMs: 3_000 }), {
        pipeline,
      });
      const err = await rejection(
        backend.invoke({
          functionName: 'f',
          payload: enc.encode('{}'),
          deadline: Date.now() + 200,
        }),
      );
      expect(err.code).toBe('WR_ERR_DEADLINE');
      expect(server.requests).toHaveLength(1);
    });

    it('starts no attempt once the deadline has passed', async () => {
      const { server, backend } = await setup(() => ok({}), { pipeline });
      const err = await rejection(
        backend.invoke({ functionName: 'f', payload: enc.encode('{}'), deadline: Date.now() - 1 }),
      );
      expect(err.code).toBe('WR_ERR_DEADLINE');
      expect(server.requests).toHaveLength(0);
    });

    it('does not retry a request whose connection broke after sending', async () => {
      const server = await startInvokeServer(() => ({ ...ok({}), delayMs: 2_000 }));
      onTestFinished(() => server.close());
      // Destroy the connection while the "function" runs: the request was delivered.
      const backend = createLambdaBackend({
        region: 'us-east-1',
        endpoint: server.url,
        pipeline,
        connections: defaults.globalConcurrency,
        random: () => 0,
      });
      onTestFinished(() => backend.close());
      const p = backend.invoke({
        functionName: 'f',
        payload: enc.encode('{}'),
        deadline: Date.now() + 5_000,
      });
      // Wait until the server has the request (not a fixed sleep: under load it may arrive late).
      for (let i = 0; i < 200 && server.requests.length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      await server.close();
      const err = await rejection(p);
      expect(err.code).toBe('WR_ERR_BACKEND');
      expect(server.requests).toHaveLength(1);
    });
  });
}
