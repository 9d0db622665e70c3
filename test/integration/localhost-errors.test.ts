import { describe, expect, it } from 'vitest';
import { MISSING_TENANT_MESSAGE } from '../../src/localhost/invoke-request.js';
import {
  eventually,
  invoke,
  json,
  lambdaClient,
  logTail,
  sdkError,
  startTestHost,
} from '../helpers/localhost-host.js';

describe('local host: Invoke API errors raise the SDK exceptions Lambda would', () => {
  it('rejects a PER_TENANT invoke without a tenant ID (InvalidParameterValueException, 400)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const err = await sdkError(invoke(client, { FunctionName: 'counter', Payload: '{}' }));

    expect(err.name).toBe('InvalidParameterValueException');
    expect(err.message).toBe(MISSING_TENANT_MESSAGE);
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(host.stats().invocations.counter ?? 0).toBe(0);
  });

  it('rejects a tenant ID sent to a function without tenancy (InvalidParameterValueException)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const err = await sdkError(
      invoke(client, { FunctionName: 'counter-shared', TenantId: 'BlueTenant', Payload: '{}' }),
    );

    expect(err.name).toBe('InvalidParameterValueException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it.each([
    ['a character outside the set', 'blue!tenant'],
    ['more than 256 characters', 'x'.repeat(257)],
    ['a newline', 'blue\ntenant'.replace('\n', '\t')],
  ])(
    'rejects a malformed tenant ID (%s) with a 400 ValidationException',
    async (_label, tenantId) => {
      const host = await startTestHost();
      const client = lambdaClient(host);

      const err = await sdkError(
        invoke(client, { FunctionName: 'counter', TenantId: tenantId, Payload: '{}' }),
      );

      expect(err.name).toBe('ValidationException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(host.environments()).toHaveLength(0);
    },
  );

  it('accepts every character Lambda allows in a tenant ID, 256 of them', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    const tenantId = 'aZ09._:/=+-@ '.repeat(20).slice(0, 255) + 'x';

    const out = json(
      await invoke(client, { FunctionName: 'echo', TenantId: tenantId, Payload: '{}' }),
    ) as {
      context: { tenantId: string };
    };

    expect(tenantId).toHaveLength(256);
    expect(out.context.tenantId).toBe(tenantId);
  });

  it('answers an unknown function or qualifier with ResourceNotFoundException (404)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const unknown = await sdkError(
      invoke(client, { FunctionName: 'no-such-function', Payload: '{}' }),
    );
    const version = await sdkError(
      invoke(client, { FunctionName: 'counter', Qualifier: '7', TenantId: 'a', Payload: '{}' }),
    );
    const byArn = await invoke(client, {
      FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:counter',
      Qualifier: '$LATEST',
      TenantId: 'a',
      Payload: '{}',
    });

    expect(unknown.name).toBe('ResourceNotFoundException');
    expect(unknown.$metadata?.httpStatusCode).toBe(404);
    expect(version.name).toBe('ResourceNotFoundException');
    expect(byArn.StatusCode).toBe(200);
    expect(byArn.ExecutedVersion).toBe('$LATEST');
  });

  it('answers a request over 6 MB with RequestTooLargeException (413)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    const payload = JSON.stringify({ data: 'x'.repeat(6 * 1024 * 1024) });

    const err = await sdkError(
      invoke(client, { FunctionName: 'counter', TenantId: 'a', Payload: payload }),
    );

    expect(err.name).toBe('RequestTooLargeException');
    expect(err.$metadata?.httpStatusCode).toBe(413);
    expect(host.stats().invocations.counter ?? 0).toBe(0);
  });

  it('answers a payload that is not JSON with InvalidRequestContentException', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const err = await sdkError(
      invoke(client, { FunctionName: 'counter', TenantId: 'a', Payload: 'not json' }),
    );

    expect(err.name).toBe('InvalidRequestContentException');
  });

  it('rejects a client context that is not base64 JSON, or too long (InvalidParameterValueException)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const notJson = await sdkError(
      invoke(client, {
        FunctionName: 'echo',
        TenantId: 'a',
        Payload: '{}',
        ClientContext: Buffer.from('nope').toString('base64'),
      }),
    );
    const tooLong = await sdkError(
      invoke(client, {
        FunctionName: 'echo',
        TenantId: 'a',
        Payload: '{}',
        ClientContext: Buffer.from(JSON.stringify({ custom: { pad: 'x'.repeat(3000) } })).toString(
          'base64',
        ),
      }),
    );

    expect(notJson.name).toBe('InvalidParameterValueException');
    expect(tooLong.name).toBe('InvalidParameterValueException');
    expect(host.stats().invocations.echo ?? 0).toBe(0);
  });

  it('throttles beyond reserved concurrency with TooManyRequestsException, Reason and Retry-After', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const running = invoke(client, {
      FunctionName: 'limited',
      TenantId: 'a',
      Payload: '{"sleepMs":2500}',
    });
    await eventually(() => host.environments().some((e) => e.function === 'limited'));
    const err = (await sdkError(
      invoke(client, { FunctionName: 'limited', TenantId: 'b', Payload: '{}' }),
    )) as Awaited<ReturnType<typeof sdkError>> & { Reason?: string; retryAfterSeconds?: string };
    const zero = await sdkError(invoke(client, { FunctionName: 'throttled', Payload: '{}' }));
    await running;

    expect(err.name).toBe('TooManyRequestsException');
    expect(err.$metadata?.httpStatusCode).toBe(429);
    expect(err.Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded');
    expect(err.retryAfterSeconds).toBe('1');
    expect(zero.name).toBe('TooManyRequestsException');
  });

  it('throttles a new tenant once the function has 2,500 environments per 1,000 concurrency', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    // reservedConcurrency 1 → at most 2 tenant environments, idle ones included.
    await invoke(client, { FunctionName: 'limited', TenantId: 'a', Payload: '{"sleepMs":0}' });
    await invoke(client, { FunctionName: 'limited', TenantId: 'b', Payload: '{"sleepMs":0}' });

    const err = (await sdkError(
      invoke(client, { FunctionName: 'limited', TenantId: 'c', Payload: '{"sleepMs":0}' }),
    )) as Awaited<ReturnType<typeof sdkError>> & { Reason?: string; message?: string };
    const known = await invoke(client, {
      FunctionName: 'limited',
      TenantId: 'a',
      Payload: '{"sleepMs":0}',
    });

    expect(err.name).toBe('TooManyRequestsException');
    // As AWS documents this throttle: "Rate exceeded" and no Reason (the gateway counts it
    // `unattributed`, the signature its tenant-environment-cap alert looks for).
    expect(err.message).toBe('Rate exceeded');
    expect(err.Reason).toBeUndefined();
    expect(known.StatusCode).toBe(200);
  });

  it('throttles when the host-wide environment cap is reached and nothing is idle', async () => {
    const host = await startTestHost({ maxEnvironments: 1 });
    const client = lambdaClient(host);

    const running = invoke(client, {
      FunctionName: 'sleepy',
      TenantId: 'a',
      Payload: '{"sleepMs":2500}',
    });
    await eventually(() => host.environments().length === 1);
    const err = await sdkError(
      invoke(client, { FunctionName: 'counter', TenantId: 'b', Payload: '{}' }),
    );
    await running;

    expect(err.name).toBe('TooManyRequestsException');
  });
});

describe('local host: function failures as Lambda reports them', () => {
  it('returns a thrown error as 200 + X-Amz-Function-Error: Unhandled with {errorType, errorMessage, trace}', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const out = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{"fail":"throw"}',
    });
    const str = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{"fail":"string"}',
    });
    const after = json(
      await invoke(client, { FunctionName: 'echo', TenantId: 'a', Payload: '{}' }),
    ) as { calls: number };

    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const body = json(out) as { errorType: string; errorMessage: string; trace: string[] };
    expect(body.errorType).toBe('TypeError');
    expect(body.errorMessage).toBe('echo was asked to fail');
    expect(body.trace[0]).toContain('TypeError: echo was asked to fail');
    expect(json(str)).toMatchObject({ errorType: 'string', errorMessage: 'plain string failure' });
    // A handled error keeps the environment: the third call is warm.
    expect(after.calls).toBe(3);
  });

  it('times out with "Task timed out after N.NN seconds" and discards the environment', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const out = await invoke(client, {
      FunctionName: 'slow',
      TenantId: 'a',
      Payload: '{"sleepMs":20000}',
      LogType: 'Tail',
    });
    const afterTimeout = host.environments();
    const next = await invoke(client, {
      FunctionName: 'slow',
      TenantId: 'a',
      Payload: '{"sleepMs":0}',
      LogType: 'Tail',
    });

    expect(out.FunctionError).toBe('Unhandled');
    expect((json(out) as { errorMessage: string }).errorMessage).toMatch(
      /Task timed out after 0\.50 seconds$/,
    );
    expect(logTail(out)).toMatch(/Task timed out after 0\.50 seconds\n/);
    expect(logTail(out)).toContain('Status: timeout');
    expect(host.stats().functions.slow?.timeouts).toBe(1);
    // The next call is cold: a new environment with fresh module state.
    expect(json(next)).toMatchObject({ counter: 0 });
    expect(logTail(next)).toContain('Init Duration');
    expect(afterTimeout).toHaveLength(0);
  });

  it('reports a handler that exits the process, and the next call is cold', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const out = await invoke(client, {
      FunctionName: 'crash',
      TenantId: 'a',
      Payload: '{}',
      LogType: 'Tail',
    });
    const next = await invoke(client, {
      FunctionName: 'crash',
      TenantId: 'a',
      Payload: '{"crash":false}',
      LogType: 'Tail',
    });

    expect(out.FunctionError).toBe('Unhandled');
    expect(json(out)).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect((json(out) as { errorMessage: string }).errorMessage).toContain('exit status 3');
    expect(logTail(out)).toContain('crashing now');
    expect(json(next)).toEqual({ counter: 0 });
    expect(logTail(next)).toContain('Init Duration');
    expect(host.environments()).toHaveLength(1);
  });

  it('reports an unhandled promise rejection and replaces the environment', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const out = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{"fail":"reject"}',
    });
    const next = json(
      await invoke(client, { FunctionName: 'echo', TenantId: 'a', Payload: '{}' }),
    ) as { calls: number };

    expect(out.FunctionError).toBe('Unhandled');
    expect(json(out)).toMatchObject({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'nobody catches this',
    });
    expect(next.calls).toBe(1);
  });

  it('reports a handler that cannot be loaded as an init error (Runtime.HandlerNotFound / ImportModuleError)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const notExported = await invoke(client, { FunctionName: 'broken', Payload: '{}' });
    const noModule = await invoke(client, { FunctionName: 'missing-module', Payload: '{}' });

    expect(notExported.FunctionError).toBe('Unhandled');
    expect(json(notExported)).toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
    expect(json(noModule)).toMatchObject({ errorType: 'Runtime.ImportModuleError' });
    expect(host.environments()).toHaveLength(0);
  });

  it('fails a response over 6 MB with Function.ResponseSizeTooLarge', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const out = await invoke(client, { FunctionName: 'big', Payload: '{}' });

    expect(out.FunctionError).toBe('Unhandled');
    expect(json(out)).toMatchObject({ errorType: 'Function.ResponseSizeTooLarge' });
  });
});
