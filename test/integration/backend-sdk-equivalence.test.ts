import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { FastInvoker, type FastInvokeOutput } from '../../src/backend/fast-path/fast-invoke.js';
import { lambdaSdkVersion } from '../../src/backend/fast-path/sdk-internals.js';
import {
  lambdaError,
  ok,
  startInvokeServer,
  throttled,
  type RecordedInvoke,
  type ScriptedResponse,
} from '../helpers/backend-invoke-server.js';
import { expectedAuthorization } from '../helpers/backend-sigv4-verify.js';

/**
 * The same Invoke through the unmodified SDK (`client.send(new InvokeCommand())`,
 * its default handler) and through the fast path (`FastInvoker` on the same
 * client), against one Invoke API server: the same request on the wire (method,
 * path, body, every header Lambda reads, a signature that verifies) and the
 * same parsed result or exception. When an SDK upgrade changes what it sends or
 * how it parses, this fails; the fix is in src/backend/fast-path/ (or run the
 * SDK path meanwhile: WARMROUTE_LAMBDA_PIPELINE=sdk).
 */

const version = lambdaSdkVersion();
const enc = new TextEncoder();
const region = 'eu-west-3';
const identity = {
  accessKeyId: 'ASIATEST',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
  sessionToken: 'FwoGZXIvYXdzE+/=token',
};

/** Headers whose value must be the same on both paths (absent on both counts as the same). */
const SAME_VALUE = [
  'host',
  'content-type',
  'content-length',
  'x-amz-invocation-type',
  'x-amz-tenant-id',
  'x-amz-client-context',
  'x-amz-log-type',
  'x-amz-content-sha256',
  'x-amz-security-token',
] as const;
/**
 * What the SDK sends that the fast path does not: its retry-strategy and
 * telemetry bookkeeping, which Lambda does not need. Any other difference (a
 * header a new SDK starts to send) fails the test.
 */
const SDK_ONLY_HEADERS = ['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-user-agent'];
/** The SDK also signs those, and content-length; the fast path signs the rest alike. */
const SDK_ONLY_SIGNED = [...SDK_ONLY_HEADERS, 'content-length'];

interface Call {
  readonly functionName: string;
  readonly tenantId?: string;
  readonly payload: Uint8Array;
  readonly clientContext?: string;
  readonly logTail?: boolean;
}

const calls: readonly { call: Call; answer: ScriptedResponse }[] = [
  {
    call: {
      functionName: 'my-fn:prod',
      tenantId: 'tenant  a +=/@:',
      payload: enc.encode('{"a":1}'),
      clientContext: Buffer.from('{"custom":{"k":"v w"}}').toString('base64'),
      logTail: true,
    },
    answer: ok(
      { n: 1 },
      { 'x-amz-log-result': Buffer.from('REPORT RequestId: 1').toString('base64') },
    ),
  },
  {
    call: { functionName: 'counter', payload: new Uint8Array(0) },
    answer: {
      ...ok({ errorType: 'TypeError', errorMessage: 'boom' }),
      headers: { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' },
    },
  },
  {
    call: {
      functionName: 'arn:aws:lambda:us-east-1:123456789012:function:f',
      tenantId: 't',
      payload: new Uint8Array([0, 255, 10, 13]),
    },
    answer: ok({ ok: true }, { 'x-amz-executed-version': '7' }),
  },
];

const failures: readonly ScriptedResponse[] = [
  throttled(7),
  lambdaError(404, 'ResourceNotFoundException', 'Function not found: f'),
  lambdaError(500, 'ServiceException', 'internal'),
  lambdaError(502, 'SomethingNewException', 'unmodelled'),
].map((r) => ({ ...r, headers: { ...r.headers, 'x-amzn-requestid': 'req-1' } }));

async function setup(answers: readonly ScriptedResponse[]) {
  // Each answer twice in a row: first for the SDK's request, then for the fast path's.
  const server = await startInvokeServer((_r, i) => answers[Math.floor(i / 2)] ?? ok({}));
  onTestFinished(() => server.close());
  const client = new LambdaClient({
    endpoint: server.url,
    region,
    credentials: identity,
    maxAttempts: 1,
  });
  onTestFinished(() => {
    client.destroy();
  });
  const fast = new FastInvoker(client, {
    connections: 1,
    keepAliveTimeout: 1_000,
    connectTimeout: 1_000,
  });
  onTestFinished(() => fast.close());
  return { server, client, fast };
}

function viaSdk(client: LambdaClient, c: Call): Promise<InvokeCommandOutput> {
  return client.send(
    new InvokeCommand({
      FunctionName: c.functionName,
      InvocationType: 'RequestResponse',
      Payload: c.payload,
      ...(c.tenantId === undefined ? {} : { TenantId: c.tenantId }),
      ...(c.logTail === true ? { LogType: 'Tail' as const } : {}),
      ...(c.clientContext === undefined ? {} : { ClientContext: c.clientContext }),
    }),
  );
}

function viaFast(fast: FastInvoker, c: Call): Promise<FastInvokeOutput> {
  return fast.invoke({
    functionName: c.functionName,
    tenantId: c.tenantId,
    payload: c.payload,
    clientContext: c.clientContext,
    logTail: c.logTail === true,
    timeoutMs: 5_000,
  });
}

function signedHeaders(headers: IncomingHttpHeaders): string[] {
  return /SignedHeaders=([^,]+),/.exec(String(headers.authorization))?.[1]?.split(';') ?? [];
}

const without = (xs: readonly string[], ys: readonly string[]) =>
  xs.filter((x) => !ys.includes(x)).sort();

/** Asserts the fast path's request says to Lambda what the SDK's says. */
async function expectSameWire(sdk: RecordedInvoke, fast: RecordedInvoke, where: string) {
  const why = `${where}: the fast path's request differs from @aws-sdk/client-lambda ${version}'s; update src/backend/fast-path/`;
  expect(fast.method, why).toBe(sdk.method);
  expect(fast.url, why).toBe(sdk.url);
  expect(Buffer.compare(fast.body, sdk.body), why).toBe(0);
  for (const name of SAME_VALUE)
    expect(fast.headers[name], `${why} (${name})`).toBe(sdk.headers[name]);
  const sdkNames = Object.keys(sdk.headers).filter((n) => n !== 'connection');
  const fastNames = Object.keys(fast.headers).filter((n) => n !== 'connection');
  expect(without(fastNames, sdkNames), `${why} (headers only the fast path sends)`).toEqual([]);
  expect(without(sdkNames, fastNames), `${why} (headers only the SDK sends)`).toEqual(
    [...SDK_ONLY_HEADERS].sort(),
  );
  expect(without(signedHeaders(fast.headers), signedHeaders(sdk.headers)), why).toEqual([]);
  expect(without(signedHeaders(sdk.headers), signedHeaders(fast.headers)), why).toEqual(
    [...SDK_ONLY_SIGNED].sort(),
  );
  // Both signatures verify as Lambda checks them, with the same credential scope.
  for (const wire of [sdk, fast]) {
    expect(String(wire.headers['x-amz-date']), why).toMatch(/^\d{8}T\d{6}Z$/);
    expect(await expectedAuthorization(wire, identity, region), why).toBe(
      wire.headers.authorization,
    );
  }
  const scope = (w: RecordedInvoke) =>
    /Credential=([^,]+),/.exec(String(w.headers.authorization))?.[1];
  expect(scope(fast)?.replace(/\/\d{8}\//, '/DATE/'), why).toBe(
    scope(sdk)?.replace(/\/\d{8}\//, '/DATE/'),
  );
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** What the backend's retry decision and error mapping read from an SDK exception. */
function errorView(err: Error) {
  const e = err as Error & {
    $fault?: unknown;
    $metadata?: { httpStatusCode?: number; requestId?: string };
    retryAfterSeconds?: unknown;
    Type?: unknown;
  };
  return {
    class: Object.getPrototypeOf(err) as unknown,
    name: e.name,
    message: e.message,
    fault: e.$fault,
    httpStatusCode: e.$metadata?.httpStatusCode,
    requestId: e.$metadata?.requestId,
    retryAfterSeconds: e.retryAfterSeconds,
    type: e.Type,
  };
}

describe(`fast path ≡ @aws-sdk/client-lambda ${version} InvokeCommand, on the wire and parsed`, () => {
  it('sends the same Invoke requests and parses the same results', async () => {
    // Prepare
    const { server, client, fast } = await setup(calls.map((c) => c.answer));
    for (const [i, { call }] of calls.entries()) {
      // Act
      const sdkOut = await viaSdk(client, call);
      const fastOut = await viaFast(fast, call);
      // Assess
      const where = `call ${String(i)} (${call.functionName})`;
      expect(
        {
          StatusCode: fastOut.StatusCode,
          Payload: Buffer.from(fastOut.Payload).toString('base64'),
          FunctionError: fastOut.FunctionError,
          LogResult: fastOut.LogResult,
          ExecutedVersion: fastOut.ExecutedVersion,
        },
        where,
      ).toEqual({
        StatusCode: sdkOut.StatusCode,
        Payload: Buffer.from(sdkOut.Payload ?? new Uint8Array(0)).toString('base64'),
        FunctionError: sdkOut.FunctionError,
        LogResult: sdkOut.LogResult,
        ExecutedVersion: sdkOut.ExecutedVersion,
      });
      const [sdkWire, fastWire] = server.requests.slice(2 * i, 2 * i + 2);
      if (sdkWire === undefined || fastWire === undefined) throw new Error(`${where}: no request`);
      await expectSameWire(sdkWire, fastWire, where);
    }
    expect(server.requests).toHaveLength(2 * calls.length);
  });

  it("throws the SDK's own exception for each error answer, with the same status, request id and Retry-After", async () => {
    // Prepare
    const { server, client, fast } = await setup(failures);
    const call: Call = { functionName: 'f', tenantId: 't', payload: enc.encode('{}') };
    for (const [i, answer] of failures.entries()) {
      // Act
      const sdkErr = await rejection(viaSdk(client, call));
      const fastErr = await rejection(viaFast(fast, call));
      // Assess
      const where = `HTTP ${String(answer.status)}`;
      const why = `${where}: the fast path's exception differs from @aws-sdk/client-lambda ${version}'s; update src/backend/fast-path/`;
      expect(errorView(fastErr), why).toEqual(errorView(sdkErr));
      expect(errorView(fastErr).httpStatusCode, why).toBe(answer.status);
      expect(errorView(fastErr).requestId, why).toBe('req-1');
      if (answer.status === 429) expect(errorView(fastErr).retryAfterSeconds, why).toBe('7');
      const [sdkWire, fastWire] = server.requests.slice(2 * i, 2 * i + 2);
      if (sdkWire === undefined || fastWire === undefined) throw new Error(`${where}: no request`);
      await expectSameWire(sdkWire, fastWire, where);
    }
    expect(server.requests).toHaveLength(2 * failures.length);
  });
});
