import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  createLambdaBackend,
  type LambdaBackendOptions,
} from '../../src/backend/lambda-backend.js';
import { defaults } from '../../src/config/schema.js';
import { WarmrouteError } from '../../src/errors.js';
import { startLocalHost } from '../../src/localhost/index.js';
import { distDir, examplesDir } from '../../src/paths.js';
import { ok, startInvokeServer } from '../helpers/backend-invoke-server.js';
import { expectedAuthorization } from '../helpers/backend-sigv4-verify.js';

/**
 * The Lambda backend against the real local host (one child process per
 * tenant environment, the example `counter` function), on both pipelines;
 * and the fast path's SigV4 verified server-side the way Lambda checks it.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

async function rejection(p: Promise<unknown>): Promise<WarmrouteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WarmrouteError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** The counter example answers an API Gateway proxy result whose body is `{ counter, tenantId }`. */
function counterBody(payload: Uint8Array): { counter: number; tenantId: string | undefined } {
  const result = JSON.parse(dec.decode(payload)) as { statusCode: number; body: string };
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body) as { counter: number; tenantId: string | undefined };
}

async function setup(options: Partial<Omit<LambdaBackendOptions, 'region'>>) {
  expect(
    existsSync(join(distDir, 'src', 'localhost', 'bootstrap.js')),
    'run npm run build first',
  ).toBe(true);
  const host = await startLocalHost({
    port: 0,
    functionsFile: join(examplesDir, 'functions.json'),
  });
  onTestFinished(() => host.close());
  const backend = createLambdaBackend({
    region: 'us-east-1',
    endpoint: host.url,
    connections: defaults.globalConcurrency,
    pipeline: defaults.lambdaPipeline,
    ...options,
  });
  onTestFinished(() => backend.close());
  return { host, backend };
}

for (const pipeline of ['fast', 'sdk'] as const) {
  describe(`lambda backend on the local host (${pipeline} pipeline)`, () => {
    it('routes each tenant to its own environment: counters 0,1,2 per tenant, TenantId reaches the function', async () => {
      // Prepare
      const { host, backend } = await setup({ pipeline });
      const invoke = async (tenantId: string) =>
        counterBody(
          (
            await backend.invoke({
              functionName: 'counter',
              tenantId,
              payload: enc.encode('{"path":"/"}'),
              deadline: Date.now() + 10_000,
            })
          ).payload,
        );
      // Act: interleave two tenants, one with characters that need no escaping in a header but matter to SigV4.
      const seen: [string, number][] = [];
      for (const tenantId of ['blue', 'blue', 'tenant a+=/@:', 'blue', 'tenant a+=/@:']) {
        const body = await invoke(tenantId);
        expect(body.tenantId).toBe(tenantId);
        seen.push([tenantId, body.counter]);
      }
      // Assess
      expect(seen).toEqual([
        ['blue', 0],
        ['blue', 1],
        ['tenant a+=/@:', 0],
        ['blue', 2],
        ['tenant a+=/@:', 1],
      ]);
      const tenants = host
        .environments()
        .filter((e) => e.function === 'counter')
        .map((e) => e.tenant)
        .sort();
      expect(tenants).toEqual(['blue', 'tenant a+=/@:']);
    });

    it('returns the log tail when asked', async () => {
      const { backend } = await setup({ pipeline });
      const result = await backend.invoke({
        functionName: 'counter',
        tenantId: 't-log',
        payload: enc.encode('{}'),
        deadline: Date.now() + 10_000,
        logTail: true,
      });
      expect(result.functionError).toBeUndefined();
      expect(result.logTail).toMatch(/REPORT RequestId: \S+/);
    });

    it('maps ResourceNotFoundException to WR_ERR_FUNCTION_NOT_FOUND (the SDK error class as cause)', async () => {
      const { host, backend } = await setup({ pipeline });
      const err = await rejection(
        backend.invoke({
          functionName: 'no-such-function',
          tenantId: 't',
          payload: enc.encode('{}'),
          deadline: Date.now() + 10_000,
        }),
      );
      expect(err.code).toBe('WR_ERR_FUNCTION_NOT_FOUND');
      expect(err.details).toEqual({ upstream: 'ResourceNotFoundException' });
      expect((err.cause as { name: string }).name).toBe('ResourceNotFoundException');
      expect(host.environments()).toHaveLength(0);
    });

    it('signs with a session token and the local host runs the function', async () => {
      const { backend } = await setup({
        pipeline,
        credentials: {
          accessKeyId: 'ASIATEST',
          secretAccessKey: 'secret',
          sessionToken: 'session-token/+=',
        },
      });
      const result = await backend.invoke({
        functionName: 'counter',
        tenantId: 'with-token',
        payload: enc.encode('{}'),
        deadline: Date.now() + 10_000,
      });
      expect(counterBody(result.payload)).toEqual({ counter: 0, tenantId: 'with-token' });
    });
  });
}

describe('lambda backend fast path: SigV4 as Lambda verifies it', () => {
  it('sends requests whose signature verifies with @smithy/signature-v4, with and without a session token', async () => {
    // Prepare
    const server = await startInvokeServer(() => ok({ ok: true }));
    onTestFinished(() => server.close());
    const identities = [
      {
        accessKeyId: 'ASIATEST',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
        sessionToken: 'FwoGZXIvYXdzE+/=token',
      },
      { accessKeyId: 'AKIATEST', secretAccessKey: 'other-secret' },
    ];
    const calls = [
      { functionName: 'counter', tenantId: 'blue', payload: enc.encode('{"a":1}') },
      {
        functionName: 'my-fn:prod',
        tenantId: 'tenant  a +=/@:',
        payload: new Uint8Array(0),
        logTail: true,
      },
      {
        functionName: 'arn:aws:lambda:us-east-1:123456789012:function:f',
        payload: new Uint8Array([0, 255, 10, 13]),
      },
      {
        functionName: 'counter',
        tenantId: 't',
        payload: enc.encode('{}'),
        clientContext: { custom: { k: 'v w' } },
      },
    ];
    for (const identity of identities) {
      const backend = createLambdaBackend({
        endpoint: server.url,
        connections: defaults.globalConcurrency,
        pipeline: defaults.lambdaPipeline,
        region: 'eu-west-3',
        credentials: identity,
      });
      onTestFinished(() => backend.close());
      // Act
      for (const call of calls) await backend.invoke({ ...call, deadline: Date.now() + 5_000 });
    }
    // Assess
    expect(server.requests).toHaveLength(identities.length * calls.length);
    for (const [i, wire] of server.requests.entries()) {
      const identity = identities[Math.floor(i / calls.length)];
      if (identity === undefined) throw new Error('unreachable');
      expect(await expectedAuthorization(wire, identity, 'eu-west-3')).toBe(
        wire.headers.authorization,
      );
      expect(wire.headers['x-amz-content-sha256']).toBe(
        createHash('sha256').update(wire.body).digest('hex'),
      );
      expect(wire.headers['x-amz-security-token']).toBe(identity.sessionToken);
      expect(wire.headers.authorization).toContain(
        identity.sessionToken === undefined ? 'x-amz-invocation-type' : 'x-amz-security-token',
      );
    }
    // And a wrong secret does not verify (the check can fail).
    const first = server.requests[0];
    if (first === undefined) throw new Error('no request');
    expect(
      await expectedAuthorization(
        first,
        { accessKeyId: 'ASIATEST', secretAccessKey: 'wrong' },
        'eu-west-3',
      ),
    ).not.toBe(first.headers.authorization);
  });

  it('refreshes an expiring identity from the credential provider before it expires', async () => {
    const server = await startInvokeServer(() => ok({ ok: true }));
    onTestFinished(() => server.close());
    let calls = 0;
    // Expires in 4 minutes: inside the 5-minute refresh margin, so every invoke must ask again.
    const backend = createLambdaBackend({
      region: 'us-east-1',
      endpoint: server.url,
      connections: defaults.globalConcurrency,
      pipeline: defaults.lambdaPipeline,
      credentials: () => {
        calls++;
        return Promise.resolve({
          accessKeyId: `AK${String(calls)}`,
          secretAccessKey: 's',
          expiration: new Date(Date.now() + 240_000),
        });
      },
    });
    onTestFinished(() => backend.close());
    for (let i = 0; i < 3; i++)
      await backend.invoke({
        functionName: 'f',
        payload: enc.encode('{}'),
        deadline: Date.now() + 5_000,
      });
    const keys = server.requests.map(
      (r) => /Credential=([^/]+)\//.exec(String(r.headers.authorization))?.[1],
    );
    expect(new Set(keys).size).toBe(3);
  });

  it('caches an identity that is far from expiry (the provider is asked once)', async () => {
    const server = await startInvokeServer(() => ok({ ok: true }));
    onTestFinished(() => server.close());
    let calls = 0;
    const backend = createLambdaBackend({
      region: 'us-east-1',
      endpoint: server.url,
      connections: defaults.globalConcurrency,
      pipeline: defaults.lambdaPipeline,
      credentials: () => {
        calls++;
        return Promise.resolve({
          accessKeyId: 'AK',
          secretAccessKey: 's',
          expiration: new Date(Date.now() + 3_600_000),
        });
      },
    });
    onTestFinished(() => backend.close());
    for (let i = 0; i < 5; i++)
      await backend.invoke({
        functionName: 'f',
        payload: enc.encode('{}'),
        deadline: Date.now() + 5_000,
      });
    expect(server.requests).toHaveLength(5);
    expect(calls).toBe(1);
  });
});

describe('lambda backend fast path, unsigned for the embedded local host', () => {
  it('runs functions on the local host with no signature: tenants apart, the log tail when asked', async () => {
    // Prepare
    const { backend } = await setup({ pipeline: 'fast', signing: 'none' });
    const invoke = async (tenantId: string, logTail = false) =>
      backend.invoke({
        functionName: 'counter',
        tenantId,
        payload: enc.encode('{"path":"/"}'),
        deadline: Date.now() + 10_000,
        logTail,
      });
    // Act
    const seen: [string, number][] = [];
    for (const tenantId of ['blue', 'tenant a+=/@:', 'blue'])
      seen.push([tenantId, counterBody((await invoke(tenantId)).payload).counter]);
    const tailed = await invoke('blue', true);
    // Assess
    expect(seen).toEqual([
      ['blue', 0],
      ['tenant a+=/@:', 0],
      ['blue', 1],
    ]);
    expect(counterBody(tailed.payload)).toEqual({ counter: 2, tenantId: 'blue' });
    expect(tailed.logTail).toMatch(/REPORT RequestId: \S+/);
  });

  it('sends only what the local host reads: no SigV4, user agent, content type or invocation type', async () => {
    // Prepare
    const server = await startInvokeServer(() => ok({ ok: true }));
    onTestFinished(() => server.close());
    const backend = createLambdaBackend({
      endpoint: server.url,
      connections: 2,
      pipeline: 'fast',
      region: 'eu-west-3',
      signing: 'none',
    });
    onTestFinished(() => backend.close());
    const clientContext = Buffer.from('{"custom":{"k":"v"}}').toString('base64');
    // Act
    await backend.invoke({
      functionName: 'my-fn:prod',
      tenantId: 'tenant  a +=/@:',
      payload: enc.encode('{"a":1}'),
      clientContextBase64: clientContext,
      logTail: true,
      deadline: Date.now() + 5_000,
    });
    await backend.invoke({
      functionName: 'counter',
      payload: new Uint8Array(0),
      deadline: Date.now() + 5_000,
    });
    // Assess
    const [first, second] = server.requests;
    expect(first?.method).toBe('POST');
    expect(first?.url).toBe('/2015-03-31/functions/my-fn%3Aprod/invocations');
    expect(first?.body.toString()).toBe('{"a":1}');
    expect(first?.headers).toMatchObject({
      'x-amz-tenant-id': 'tenant  a +=/@:',
      'x-amz-client-context': clientContext,
      'x-amz-log-type': 'Tail',
      'content-length': '7',
    });
    for (const wire of [first, second]) {
      for (const name of [
        'authorization',
        'x-amz-date',
        'x-amz-content-sha256',
        'x-amz-security-token',
        'user-agent',
        'content-type',
        'x-amz-invocation-type',
      ])
        expect(wire?.headers[name], name).toBeUndefined();
    }
    expect(second?.url).toBe('/2015-03-31/functions/counter/invocations');
    expect(second?.headers['x-amz-tenant-id']).toBeUndefined();
    expect(second?.headers['x-amz-log-type']).toBeUndefined();
  });

  it('is refused for an endpoint that is not loopback, or with credentials given', () => {
    for (const options of [
      { endpoint: 'https://lambda.eu-west-3.amazonaws.com' },
      { endpoint: undefined },
      {
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'secret' },
      },
    ])
      expect(() =>
        createLambdaBackend({
          ...options,
          connections: 1,
          pipeline: 'fast',
          region: 'eu-west-3',
          signing: 'none',
        }),
      ).toThrow(/unsigned Invokes are only for the embedded local host/);
  });
});
