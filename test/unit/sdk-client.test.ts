import { afterEach, describe, expect, it, vi } from 'vitest';
import { WarmrouteError } from '../../src/errors.js';
import { affinityInvoke, closeDefaultClient } from '../../src/sdk/default-client.js';
import { createAffinityClient } from '../../src/sdk/client.js';
import { clientOptionsFromEnv } from '../../src/sdk/env-options.js';
import { AffinityError } from '../../src/sdk/errors.js';
import { fakeTransport } from '../helpers/sdk-fake-transport.js';

async function caught(promise: Promise<unknown>): Promise<AffinityError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AffinityError);
    return err as AffinityError;
  }
  throw new Error('expected a rejection');
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('SDK client', () => {
  it('rejects a bad key before the transport sees anything', async () => {
    // Prepare
    const transport = fakeTransport();
    const client = createAffinityClient({ transport, functionName: 'counter' });
    // Act + Assess
    for (const key of ['', 'a\nb', 'tab\there', 'x'.repeat(1025), '\uD800', 'c1\u0085']) {
      const err = await caught(client.invoke(key, {}));
      expect(err.code, JSON.stringify(key)).toBe('WR_ERR_KEY_INVALID');
      expect(err.status).toBe(400);
    }
    await expect(client.invoke(42 as unknown as string)).rejects.toMatchObject({
      code: 'WR_ERR_KEY_INVALID',
    });
    expect(transport.requests).toHaveLength(0);
    // The boundary: 1024 bytes of UTF-8 is fine.
    await client.invoke('é'.repeat(512));
    expect(transport.requests).toHaveLength(1);
  });

  it('needs a function name and a valid mode, checked before any I/O', async () => {
    const transport = fakeTransport();
    const client = createAffinityClient({ transport });
    expect((await caught(client.invoke('blue'))).code).toBe('WR_ERR_BAD_REQUEST');
    expect(
      (await caught(client.invoke('blue', {}, { functionName: 'f', mode: 'pooled' as 'fresh' })))
        .code,
    ).toBe('WR_ERR_BAD_REQUEST');
    expect(
      (await caught(client.invoke('blue', {}, { functionName: 'f', timeoutMs: 0 }))).code,
    ).toBe('WR_ERR_BAD_REQUEST');
    expect(transport.requests).toHaveLength(0);
    expect(() => createAffinityClient({ transport, timeoutMs: -1 })).toThrow(AffinityError);
    // A missing or non-http URL fails when the client is made, with the SDK's error class.
    for (const url of ['not a url', 'ftp://127.0.0.1/', undefined as unknown as string]) {
      expect(() => createAffinityClient({ url })).toThrow(AffinityError);
    }
  });

  it('encodes the payload as JSON (no payload is {}) and passes options through', async () => {
    const transport = fakeTransport();
    const client = createAffinityClient({ transport, functionName: 'counter', mode: 'fresh' });
    await client.invoke('blue');
    await client.invoke(
      'blue',
      { n: 1, s: 'ü' },
      { functionName: 'other', mode: 'affinity', headers: { 'x-extra': '1' }, idempotent: true },
    );
    const [first, second] = transport.requests;
    expect(Buffer.from(first!.payload).toString()).toBe('{}');
    expect(first).toMatchObject({
      functionName: 'counter',
      key: 'blue',
      mode: 'fresh',
      idempotent: false,
    });
    expect(Buffer.from(second!.payload).toString()).toBe('{"n":1,"s":"ü"}');
    expect(second).toMatchObject({
      functionName: 'other',
      mode: 'affinity',
      idempotent: true,
      headers: { 'x-extra': '1' },
    });
    expect(Buffer.from((await transport.invoke(second!)).body).toString()).toBe('{"ok":true}');
  });

  it('refuses payloads that are not JSON or too large, without calling the transport', async () => {
    const transport = fakeTransport();
    const client = createAffinityClient({ transport, functionName: 'f' });
    expect((await caught(client.invoke('k', () => 1))).code).toBe('WR_ERR_BAD_REQUEST');
    expect((await caught(client.invoke('k', { n: 1n }))).code).toBe('WR_ERR_BAD_REQUEST');
    const big = await caught(client.invoke('k', 'x'.repeat(6_291_456)));
    expect(big.code).toBe('WR_ERR_PAYLOAD_TOO_LARGE');
    expect(big.status).toBe(413);
    expect(transport.requests).toHaveLength(0);
  });

  it('returns the parsed result with what happened', async () => {
    const transport = fakeTransport(() =>
      Promise.resolve({
        body: Buffer.from('{"statusCode":200,"body":"{\\"counter\\":2}"}'),
        state: 'rehydrated',
        tenantId: 'wr-x',
        envId: undefined,
        attempts: 2,
      }),
    );
    const client = createAffinityClient({ transport, functionName: 'counter' });
    const res = await client.invoke<{ statusCode: number; body: string }>('blue', {});
    expect(res.result.statusCode).toBe(200);
    expect(res).toMatchObject({
      state: 'rehydrated',
      tenantId: 'wr-x',
      envId: undefined,
      attempts: 2,
    });
    expect(res.durationMs).toBeGreaterThanOrEqual(0);
    const empty = fakeTransport(() =>
      Promise.resolve({
        body: new Uint8Array(0),
        state: 'unknown',
        tenantId: 't',
        envId: undefined,
        attempts: 1,
      }),
    );
    expect(
      (await createAffinityClient({ transport: empty, functionName: 'f' }).invoke('k')).result,
    ).toBeUndefined();
  });

  it('fails with WR_ERR_DEADLINE at timeoutMs even if the transport never answers, and aborts the transport', async () => {
    // Prepare: a transport that ignores its signal entirely.
    vi.useFakeTimers();
    const transport = fakeTransport(() => new Promise(() => undefined));
    const client = createAffinityClient({ transport, functionName: 'slow', timeoutMs: 60_000 });
    // Act
    const pending = caught(client.invoke('blue', {}, { timeoutMs: 250 }));
    await vi.advanceTimersByTimeAsync(249);
    expect(transport.requests[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await pending;
    // Assess
    expect(err.code).toBe('WR_ERR_DEADLINE');
    expect(err.status).toBe(504);
    expect(err.details).toMatchObject({ timeoutMs: 250, source: 'client' });
    expect(transport.requests[0]!.signal.aborted).toBe(true);
    expect(transport.requests[0]!.deadline).toBe(Date.now());
  });

  it("reports the caller's abort as WR_ERR_ABORTED, before or during the call", async () => {
    const transport = fakeTransport(
      (request) =>
        new Promise((_resolve, reject) => {
          request.signal.addEventListener('abort', () => {
            reject(new Error('socket aborted'));
          });
        }),
    );
    const client = createAffinityClient({ transport, functionName: 'f' });
    const controller = new AbortController();
    const pending = caught(client.invoke('k', {}, { signal: controller.signal }));
    controller.abort(new Error('user navigated away'));
    const err = await pending;
    expect(err.code).toBe('WR_ERR_ABORTED');
    expect((err.cause as Error).message).toBe('user navigated away');
    expect(transport.requests).toHaveLength(1);
    expect((await caught(client.invoke('k', {}, { signal: controller.signal }))).code).toBe(
      'WR_ERR_ABORTED',
    );
    expect(transport.requests).toHaveLength(1);
  });

  it('passes transport errors through and wraps anything else as WR_ERR_INTERNAL', async () => {
    const own = new AffinityError('WR_ERR_THROTTLED', 'throttled', { retryAfterSeconds: 2 });
    const throwing = createAffinityClient({
      transport: fakeTransport(() => Promise.reject(own)),
      functionName: 'f',
    });
    expect(await caught(throwing.invoke('k'))).toBe(own);
    const wr = createAffinityClient({
      transport: fakeTransport(() =>
        Promise.reject(new WarmrouteError('WR_ERR_STORE_UNAVAILABLE', ['down'])),
      ),
      functionName: 'f',
    });
    expect(await caught(wr.invoke('k'))).toMatchObject({
      code: 'WR_ERR_STORE_UNAVAILABLE',
      status: 503,
    });
    const buggy = createAffinityClient({
      transport: fakeTransport(() => Promise.reject(new TypeError('bug'))),
      functionName: 'f',
    });
    expect((await caught(buggy.invoke('k'))).code).toBe('WR_ERR_INTERNAL');
  });

  it('closes the transport once and refuses calls afterwards', async () => {
    const transport = fakeTransport();
    const client = createAffinityClient({ transport, functionName: 'f' });
    await client.close();
    await client.close();
    expect(transport.closed).toBe(1);
    expect((await caught(client.invoke('k'))).code).toBe('WR_ERR_SHUTTING_DOWN');
    expect(transport.requests).toHaveLength(0);
  });
});

describe('SDK default client from the environment', () => {
  it('tells the user to set WARMROUTE_URL or create a client', async () => {
    vi.stubEnv('WARMROUTE_URL', '');
    await closeDefaultClient();
    const err = await caught(affinityInvoke('blue', {}, { functionName: 'counter' }));
    expect(err.code).toBe('WR_ERR_NOT_CONFIGURED');
    expect(err.message).toContain('WARMROUTE_URL');
    expect(err.message).toContain('createAffinityClient');
  });

  it('reads URL, function, timeout and key header, and reports every bad value at once', () => {
    expect(
      clientOptionsFromEnv({
        WARMROUTE_URL: 'http://127.0.0.1:3000',
        WARMROUTE_FUNCTION: 'counter',
        WARMROUTE_TIMEOUT_MS: '1500',
        WARMROUTE_KEY_HEADER: 'x-session',
      }),
    ).toEqual({
      transport: 'http',
      url: 'http://127.0.0.1:3000',
      functionName: 'counter',
      timeoutMs: 1500,
      keyHeader: 'x-session',
    });
    let err: unknown;
    try {
      clientOptionsFromEnv({
        WARMROUTE_URL: 'ftp://x',
        WARMROUTE_TIMEOUT_MS: 'soon',
        WARMROUTE_KEY_HEADER: 'bad header',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'WR_ERR_CONFIG' });
    const message = (err as Error).message;
    expect(message).toContain('WARMROUTE_URL');
    expect(message).toContain('WARMROUTE_TIMEOUT_MS');
    expect(message).toContain('WARMROUTE_KEY_HEADER');
  });
});
