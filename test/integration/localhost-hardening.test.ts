import { describe, expect, it } from 'vitest';
import { startLocalHost } from '../../src/localhost/index.js';
import {
  invoke,
  json,
  lambdaClient,
  logTail,
  startTestHost,
  testFunctionsFile,
} from '../helpers/localhost-host.js';
import { rawExchange } from '../helpers/raw-http.js';

function maxMemoryUsed(tail: string): number {
  const m = /Max Memory Used: (\d+) MB/.exec(tail);
  if (m?.[1] === undefined) throw new Error(`no Max Memory Used in ${tail}`);
  return Number(m[1]);
}

const hasProcfs = process.platform === 'linux';

describe('local host: memory is limited and measured as Lambda does (the whole process)', () => {
  it.runIf(hasProcfs)(
    'kills a 128 MB function holding 300 MB in Buffers with Runtime.OutOfMemory and replaces its environment',
    async () => {
      const host = await startTestHost();
      const client = lambdaClient(host);

      const out = await invoke(client, {
        FunctionName: 'hog',
        TenantId: 'a',
        Payload: '{"mb":300}',
        LogType: 'Tail',
      });
      const next = await invoke(client, {
        FunctionName: 'hog',
        TenantId: 'a',
        Payload: '{"mb":0}',
        LogType: 'Tail',
      });

      expect(out.FunctionError).toBe('Unhandled');
      expect(json(out)).toMatchObject({
        errorType: 'Runtime.OutOfMemory',
        errorMessage: expect.stringContaining(
          'Error: Runtime exited with error: signal: killed',
        ) as unknown,
      });
      const tail = logTail(out);
      expect(tail).toContain(
        'Error: Runtime exited with error: signal: killed\nRuntime.OutOfMemory',
      );
      expect(tail).toContain('Status: error\tError Type: Runtime.OutOfMemory');
      expect(maxMemoryUsed(tail)).toBeGreaterThan(128);
      // A new environment: module state starts over.
      expect(json(next)).toEqual({ heldMb: 0 });
      expect(logTail(next)).toContain('Init Duration');
      expect(host.stats().functions.hog?.crashes).toBe(1);
    },
    30_000,
  );

  it.runIf(hasProcfs)(
    'kills a function over its memory without a log tail too (no procfs reading is skipped for it)',
    async () => {
      const host = await startTestHost();
      const client = lambdaClient(host);

      // Warm first: the limit check of a warm invoke without a tail is the path that saves the read.
      const warm = await invoke(client, {
        FunctionName: 'hog',
        TenantId: 'b',
        Payload: '{"mb":0}',
      });
      const out = await invoke(client, {
        FunctionName: 'hog',
        TenantId: 'b',
        Payload: '{"mb":300}',
      });
      const next = await invoke(client, {
        FunctionName: 'hog',
        TenantId: 'b',
        Payload: '{"mb":0}',
      });

      expect(warm.FunctionError).toBeUndefined();
      expect(out.FunctionError).toBe('Unhandled');
      expect(json(out)).toMatchObject({ errorType: 'Runtime.OutOfMemory' });
      expect(json(next)).toEqual({ heldMb: 0 });
      expect(host.stats().functions.hog?.crashes).toBe(1);
    },
    30_000,
  );

  it.runIf(hasProcfs)(
    'reports a plausible Max Memory Used for a function within its memory',
    async () => {
      const host = await startTestHost();
      const client = lambdaClient(host);

      const out = await invoke(client, {
        FunctionName: 'hog',
        TenantId: 'a',
        Payload: '{"mb":16}',
        LogType: 'Tail',
      });

      expect(out.FunctionError).toBeUndefined();
      const used = maxMemoryUsed(logTail(out));
      // Node alone is ~40 MB resident; the 16 MB held comes on top.
      expect(used).toBeGreaterThan(16);
      expect(used).toBeLessThanOrEqual(128);
    },
    30_000,
  );

  it.runIf(hasProcfs)(
    'reports the measured peak, not 0 MB, for a timed-out invocation',
    async () => {
      const host = await startTestHost();
      const client = lambdaClient(host);

      const out = await invoke(client, {
        FunctionName: 'hog-slow',
        TenantId: 'a',
        Payload: '{"mb":8,"sleepMs":5000}',
        LogType: 'Tail',
      });

      const tail = logTail(out);
      expect(tail).toContain('Status: timeout');
      expect(maxMemoryUsed(tail)).toBeGreaterThan(8);
    },
    30_000,
  );
});

describe('local host: the log of a failed invocation', () => {
  it('has the runtime\'s "ERROR\\tInvoke Error \\t{json}" line for a thrown error', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const out = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{"fail":"throw"}',
      LogType: 'Tail',
    });

    const line = logTail(out)
      .split('\n')
      .find((l) => l.includes('Invoke Error'));
    expect(line).toBeDefined();
    const [timestamp, requestId, level, message, detail] = (line ?? '').split('\t');
    expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(requestId).toBe(out.$metadata.requestId);
    expect(level).toBe('ERROR');
    expect(message).toBe('Invoke Error ');
    const error = JSON.parse(detail ?? '') as {
      errorType: string;
      errorMessage: string;
      stack: string[];
    };
    expect(error.errorType).toBe('TypeError');
    expect(error.errorMessage).toBe('echo was asked to fail');
    expect(error.stack[0]).toBe('TypeError: echo was asked to fail');
    // Before END: it belongs to the invocation.
    expect(logTail(out).indexOf('Invoke Error')).toBeLessThan(
      logTail(out).indexOf('END RequestId'),
    );
  });
});

describe('local host: the control API off loopback', () => {
  it('refuses to start on a non-loopback address without a control token, before listening', async () => {
    let error: unknown;
    try {
      const host = await startLocalHost({
        host: '0.0.0.0',
        port: 0,
        functionsFile: testFunctionsFile,
        env: {},
      });
      await host.close();
    } catch (err) {
      error = err;
    }

    expect(error).toMatchObject({ code: 'WR_ERR_CONFIG' });
    expect((error as Error).message).toMatch(
      /refusing to listen on 0\.0\.0\.0 without a control token/,
    );
  });

  it('requires Authorization: Bearer <token> on the control API when a token is set', async () => {
    const token = 'a-long-enough-control-token';
    const host = await startTestHost({ controlToken: token });

    const none = await fetch(`${host.url}/_local/environments`);
    const wrong = await fetch(`${host.url}/_local/environments`, {
      headers: { authorization: 'Bearer not-the-token-at-all' },
    });
    const evict = await fetch(`${host.url}/_local/evict`, { method: 'POST', body: '{}' });
    const right = await fetch(`${host.url}/_local/environments`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const health = await fetch(`${host.url}/_local/healthz`);

    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toMatchObject({ error: { code: 'WR_ERR_UNAUTHORIZED' } });
    expect(wrong.status).toBe(401);
    expect(evict.status).toBe(401);
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ environments: [] });
    // Liveness stays open, without the environment count.
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
  });

  it('takes the token from its controlToken option only, not from the host environment', async () => {
    // WARMROUTE_LOCAL_CONTROL_TOKEN is read by the config loader (`warmroute local` and
    // createGateway pass it as controlToken: test/unit/localhost-command-args.test.ts).
    // Loopback: binding a public address is not needed to see the token in force.
    const host = await startTestHost({
      controlToken: 'token-from-the-option',
      env: { WARMROUTE_LOCAL_CONTROL_TOKEN: 'token-from-the-environment' },
    });

    const none = await fetch(`${host.url}/_local/stats`);
    const fromEnv = await fetch(`${host.url}/_local/stats`, {
      headers: { authorization: 'Bearer token-from-the-environment' },
    });
    const right = await fetch(`${host.url}/_local/stats`, {
      headers: { authorization: 'Bearer token-from-the-option' },
    });

    expect(none.status).toBe(401);
    expect(fromEnv.status).toBe(401);
    expect(right.status).toBe(200);
  });
});

describe('local host: hostile requests get a 4xx and the host stays up', () => {
  it('answers a body that stalls with 408 and closes the connection', async () => {
    const host = await startTestHost({ bodyTimeoutMs: 300 });

    const res = await rawExchange(
      host.url,
      'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nhost: x\r\n' +
        'x-amz-tenant-id: a\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"a":',
      { firstResponseOnly: true },
    );

    expect(res.status).toBe(408);
    expect(res.headers['x-amzn-errortype']).toBe('RequestTimeoutException');
    expect(res.headers.connection).toBe('close');
    expect(host.stats().invocations.echo ?? 0).toBe(0);
  });

  it('answers headers that never finish with 408 JSON', async () => {
    const host = await startTestHost({ headersTimeoutMs: 300 });

    const res = await rawExchange(
      host.url,
      'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nhost: x\r\nx-amz-tenant-id: a',
      { firstResponseOnly: true },
    );
    const health = await fetch(`${host.url}/_local/healthz`);

    expect(res.status).toBe(408);
    expect(res.headers['x-amzn-errortype']).toBe('RequestTimeoutException');
    expect(health.status).toBe(200);
  });

  it('answers a stalled control API body with a 400 and closes the connection', async () => {
    const host = await startTestHost({ bodyTimeoutMs: 300 });

    const res = await rawExchange(
      host.url,
      'POST /_local/evict HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"function":',
      { firstResponseOnly: true },
    );

    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString('utf8'))).toMatchObject({
      error: { code: 'WR_ERR_BAD_REQUEST' },
    });
  });

  it('answers an invalid percent-encoding in the function name with 400 ValidationException', async () => {
    const host = await startTestHost();

    const res = await rawExchange(
      host.url,
      'POST /2015-03-31/functions/ech%E0%A4%A/invocations HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}',
      { firstResponseOnly: true },
    );
    const health = await fetch(`${host.url}/_local/healthz`);

    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(health.status).toBe(200);
  });

  it('answers huge header values with 431 JSON, not a crash or plain text', async () => {
    const host = await startTestHost();

    const res = await rawExchange(
      host.url,
      'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nhost: x\r\n' +
        `x-amz-tenant-id: ${'a'.repeat(64 * 1024)}\r\ncontent-length: 2\r\n\r\n{}`,
      { firstResponseOnly: true },
    );
    const health = await fetch(`${host.url}/_local/healthz`);

    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body.toString('utf8'))).toMatchObject({ Type: 'User' });
    expect(health.status).toBe(200);
  });

  it('validates Qualifier and ignores an unusable X-Amzn-Trace-Id', async () => {
    const host = await startTestHost();

    const badQualifier = await rawExchange(
      host.url,
      'POST /2015-03-31/functions/echo/invocations?Qualifier=%E2%82%AC HTTP/1.1\r\nhost: x\r\n' +
        'x-amz-tenant-id: a\r\ncontent-length: 2\r\n\r\n{}',
      { firstResponseOnly: true },
    );
    const badTrace = await rawExchange(
      host.url,
      Buffer.concat([
        Buffer.from(
          'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nhost: x\r\nx-amz-tenant-id: a\r\n',
        ),
        Buffer.from('x-amzn-trace-id: Root=\u20ac\u0100\r\ncontent-length: 2\r\n\r\n{}', 'utf8'),
      ]),
      { firstResponseOnly: true },
    );

    expect(badQualifier.status).toBe(400);
    expect(badQualifier.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(badTrace.status).toBe(200);
    const out = JSON.parse(badTrace.body.toString('utf8')) as { env: { _X_AMZN_TRACE_ID: string } };
    expect(out.env._X_AMZN_TRACE_ID).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};/);
  });

  it('survives a client context with characters above U+00FF, handing the function the same object', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    const context = { custom: { key: '€ \u4e2d \ud83d\ude00 \ud800 \u0000 \r\n' } };

    const out = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{}',
      ClientContext: Buffer.from(JSON.stringify(context), 'utf8').toString('base64'),
    });
    const health = await fetch(`${host.url}/_local/healthz`);

    expect((json(out) as { context: { clientContext: unknown } }).context.clientContext).toEqual(
      context,
    );
    expect(health.status).toBe(200);
  });

  it('refuses a client context that is not strict base64 or not UTF-8', async () => {
    const host = await startTestHost();

    const send = (value: string): Promise<{ status: number; headers: Record<string, string> }> =>
      rawExchange(
        host.url,
        'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nhost: x\r\nx-amz-tenant-id: a\r\n' +
          `x-amz-client-context: ${value}\r\ncontent-length: 2\r\n\r\n{}`,
        { firstResponseOnly: true },
      );
    const notBase64 = await send('e30=!!');
    const notUtf8 = await send(
      Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64'),
    );
    const array = await send(Buffer.from('[1]').toString('base64'));

    expect(notBase64.status).toBe(400);
    expect(notUtf8.status).toBe(400);
    expect(array.status).toBe(400);
    expect(notBase64.headers['x-amzn-errortype']).toBe('InvalidParameterValueException');
  });
});
