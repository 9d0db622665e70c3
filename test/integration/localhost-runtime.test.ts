import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import {
  eventually,
  invoke,
  json,
  lambdaClient,
  logTail,
  startTestHost,
} from '../helpers/localhost-host.js';

interface Echo {
  calls: number;
  event: unknown;
  context: Record<string, unknown>;
  env: Record<string, string | undefined>;
  tmpdir: string;
  tmpFiles: string[];
  pid: number;
}

describe("local host: the runtime inside an environment behaves like Lambda's Node runtime", () => {
  it("builds a Lambda context and sets Lambda's environment variables", async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    const clientContext = { custom: { warmroute: { key: 'k1' } }, client: { app_title: 't' } };

    const out = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'BlueTenant',
      Payload: JSON.stringify({ hello: 'world' }),
      ClientContext: Buffer.from(JSON.stringify(clientContext)).toString('base64'),
    });
    const echo = json(out) as Echo;

    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(echo.event).toEqual({ hello: 'world' });
    expect(echo.context).toMatchObject({
      functionName: 'echo',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/echo',
      tenantId: 'BlueTenant',
      clientContext,
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(echo.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo.context.logStreamName).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    // Timeout 5 s: the remaining time is positive and below it.
    expect(echo.context.remaining).toBeGreaterThan(0);
    expect(echo.context.remaining).toBeLessThanOrEqual(5000);
    expect(echo.env).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'echo',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/echo',
      AWS_LAMBDA_LOG_STREAM_NAME: echo.context.logStreamName,
      AWS_REGION: 'us-east-1',
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: join(packageRoot, 'test', 'helpers', 'localhost-functions', 'echo'),
      TZ: ':UTC',
      GREETING: 'hello',
    });
    expect(echo.env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(echo.env._X_AMZN_TRACE_ID).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}/);
  });

  it('gives no tenantId to functions without tenancy', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const echo = json(await invoke(client, { FunctionName: 'echo-shared', Payload: '{}' })) as Echo;

    expect(echo.context.hasTenantIdProperty).toBe(false);
  });

  it('gives each environment a private TMPDIR that persists between its calls and goes with it', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const blue1 = json(
      await invoke(client, {
        FunctionName: 'echo',
        TenantId: 'blue',
        Payload: '{"writeTmp":"blue.txt"}',
      }),
    ) as Echo;
    const blue2 = json(
      await invoke(client, { FunctionName: 'echo', TenantId: 'blue', Payload: '{}' }),
    ) as Echo;
    const green = json(
      await invoke(client, { FunctionName: 'echo', TenantId: 'green', Payload: '{}' }),
    ) as Echo;
    host.evict({ tenant: 'blue' });

    expect(blue2.tmpdir).toBe(blue1.tmpdir);
    expect(blue2.tmpFiles).toEqual(['blue.txt']);
    expect(green.tmpdir).not.toBe(blue1.tmpdir);
    expect(green.tmpFiles).toEqual([]);
    expect(await eventually(() => !existsSync(blue1.tmpdir))).toBe(true);
  });

  it('runs callback-style handlers, waiting for the event loop to empty unless told not to', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const waited = await invoke(client, {
      FunctionName: 'callback',
      TenantId: 'a',
      Payload: '{}',
      LogType: 'Tail',
    });
    const failed = await invoke(client, {
      FunctionName: 'callback',
      TenantId: 'a',
      Payload: '{"error":true}',
    });
    const noWait = await invoke(client, {
      FunctionName: 'callback',
      TenantId: 'a',
      Payload: '{"noWait":true}',
      LogType: 'Tail',
    });
    const after = await invoke(client, {
      FunctionName: 'callback',
      TenantId: 'a',
      Payload: '{}',
      LogType: 'Tail',
    });

    expect(json(waited)).toEqual({ counter: 0, style: 'callback' });
    // The timer set after callback() ran before the response was sent.
    expect(logTail(waited)).toContain('timer after callback ran 0');
    expect(failed.FunctionError).toBe('Unhandled');
    expect(json(failed)).toMatchObject({ errorType: 'RangeError', errorMessage: 'callback error' });
    // callbackWaitsForEmptyEventLoop = false: answered at once; the timer's
    // line shows up later, in the next invocation's log (as on Lambda).
    expect(json(noWait)).toEqual({ counter: 2, style: 'callback' });
    expect(logTail(noWait)).not.toContain('timer after callback ran 2');
    expect(logTail(after)).toContain('timer after callback ran 2');
    expect(logTail(after)).toContain('timer after callback ran 3');
  });

  it('loads CommonJS handlers', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const first = json(
      await invoke(client, { FunctionName: 'cjs', TenantId: 't1', Payload: '{"x":1}' }),
    );
    const second = json(
      await invoke(client, { FunctionName: 'cjs', TenantId: 't1', Payload: '{}' }),
    );

    expect(first).toEqual({ counter: 0, style: 'cjs', tenantId: 't1', event: { x: 1 } });
    expect(second).toMatchObject({ counter: 1 });
  });

  it('returns the log tail like Lambda: START, function output, END, REPORT with tabs', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const cold = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{"log":"raw line\\n"}',
      LogType: 'Tail',
    });
    const warm = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: '{}',
      LogType: 'Tail',
    });
    const noTail = await invoke(client, { FunctionName: 'echo', TenantId: 'a', Payload: '{}' });
    const big = await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'a',
      Payload: JSON.stringify({ log: 'y'.repeat(10_000) }),
      LogType: 'Tail',
    });

    const id = (json(cold) as Echo).context.awsRequestId as string;
    const lines = logTail(cold).split('\n');
    // Init output comes first (as in the log stream), then the invocation.
    expect(lines[0]).toMatch(/\tundefined\tINFO\tinit: echo loaded$/);
    expect(lines[1]).toBe(`START RequestId: ${id} Version: $LATEST`);
    expect(lines[2]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${id}\\tINFO\\techo handling \\{"log":"raw line\\\\n"\\}$`,
      ),
    );
    expect(lines[3]).toBe('raw line');
    expect(lines[4]).toBe(`END RequestId: ${id}`);
    expect(lines[5]).toMatch(
      new RegExp(
        `^REPORT RequestId: ${id}\\tDuration: \\d+\\.\\d\\d ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB\\tInit Duration: \\d+\\.\\d\\d ms\\t$`,
      ),
    );
    expect(logTail(warm)).not.toContain('Init Duration');
    expect(logTail(warm)).not.toContain('init: echo loaded');
    expect(logTail(warm)).toMatch(/^START RequestId: /);
    expect(noTail.LogResult).toBeUndefined();
    // At most the last 4 KB, ending with the REPORT line.
    expect(Buffer.from(big.LogResult ?? '', 'base64').length).toBe(4096);
    expect(logTail(big)).toMatch(/REPORT RequestId: [^\n]*\n$/);
  });

  it('hands every line of function output to onFunctionOutput with its function, tenant and environment', async () => {
    const seen: {
      source: { function: string; tenant: string | undefined; environment: string };
      text: string;
    }[] = [];
    const host = await startTestHost({
      onFunctionOutput: (source, text) => {
        seen.push({ source, text });
      },
    });
    const client = lambdaClient(host);

    await invoke(client, {
      FunctionName: 'echo',
      TenantId: 'BlueTenant',
      Payload: '{"log":"hello output\\n"}',
    });
    const got = await eventually(() => seen.some((s) => s.text.includes('hello output')));

    expect(got).toBe(true);
    const line = seen.find((s) => s.text.includes('hello output'));
    expect(line?.source).toEqual({
      function: 'echo',
      tenant: 'BlueTenant',
      environment: host.environments()[0]?.id,
    });
    expect(seen.some((s) => s.text.includes('\u0000'))).toBe(false);
  });
});
