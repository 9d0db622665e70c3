import { afterEach, describe, expect, it } from 'vitest';
import { createAffinityClient } from '../../src/sdk/client.js';
import { AffinityError, FunctionError, TransportError } from '../../src/sdk/errors.js';
import type { RetryOptions } from '../../src/sdk/retry-loop.js';
import { defaultSdkRetryPolicy } from '../../src/sdk/retry-policy.js';
import type { AffinityClient } from '../../src/sdk/types.js';
import { freePort } from '../helpers/ports.js';
import {
  gatewayError,
  hang,
  ok,
  resetAfterRequest,
  startScriptedServer,
  type ScriptedServer,
  type Step,
} from '../helpers/sdk-scripted-server.js';

/**
 * HTTP transport faults against real servers on loopback: what is retried
 * (and after how long), what never is, keep-alive, and what goes on the wire.
 * Waits between attempts go through an injected sleep that records the
 * delay, so nothing here depends on wall-clock time.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function server(steps: readonly Step[], port?: number): Promise<ScriptedServer> {
  const s = await startScriptedServer(steps, port === undefined ? {} : { port });
  cleanups.push(() => s.close());
  return s;
}

function recordingSleep(): { waits: number[]; retry: RetryOptions } {
  const waits: number[] = [];
  return {
    waits,
    retry: {
      random: () => 0.5,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    },
  };
}

function client(
  url: string,
  retry?: RetryOptions,
  extra: { timeoutMs?: number } = {},
): AffinityClient {
  const c = createAffinityClient({
    url,
    functionName: 'counter',
    ...(retry === undefined ? {} : { retry }),
    ...extra,
  });
  cleanups.push(() => c.close());
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<AffinityError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AffinityError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('SDK HTTP transport', () => {
  it('honours 429 Retry-After: waits at least that long, then succeeds', async () => {
    // Prepare
    const gw = await server([
      gatewayError(429, 'WR_ERR_THROTTLED', {}, { 'retry-after': '1' }),
      ok({ n: 1 }),
    ]);
    const { waits, retry } = recordingSleep();
    // Act
    const res = await client(gw.url, retry).invoke<{ n: number }>('blue', {});
    // Assess
    expect(res.result).toEqual({ n: 1 });
    expect(res.attempts).toBe(2);
    expect(gw.requests).toHaveLength(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1_000);
  });

  it('gives up at once when Retry-After would pass the deadline, and reports it', async () => {
    const gw = await server([gatewayError(429, 'WR_ERR_KEY_BUSY', {}, { 'retry-after': '5' })]);
    const { waits, retry } = recordingSleep();
    const err = await rejection(client(gw.url, retry).invoke('blue', {}, { timeoutMs: 2_000 }));
    expect(err.code).toBe('WR_ERR_KEY_BUSY');
    expect(err.status).toBe(429);
    expect(err.retryAfterSeconds).toBe(5);
    expect(gw.requests).toHaveLength(1);
    expect(waits).toHaveLength(0);
  });

  it('retries 503 (refused before running) with backoff, up to maxAttempts', async () => {
    const gw = await server([gatewayError(503, 'WR_ERR_SHUTTING_DOWN')]);
    const { waits, retry } = recordingSleep();
    const err = await rejection(client(gw.url, retry).invoke('blue', {}));
    expect(err.code).toBe('WR_ERR_SHUTTING_DOWN');
    expect(gw.requests).toHaveLength(defaultSdkRetryPolicy.maxAttempts);
    // Full jitter at random 0.5: half of each doubling window.
    expect(waits).toEqual([25, 50, 100, 200]);
  });

  it('never retries a 502/504 (the function may have run) unless the call is idempotent', async () => {
    const backend = await server([gatewayError(502, 'WR_ERR_BACKEND'), ok({ n: 2 })]);
    const { retry } = recordingSleep();
    const err = await rejection(client(backend.url, retry).invoke('blue', {}));
    expect(err.code).toBe('WR_ERR_BACKEND');
    expect(err.status).toBe(502);
    expect(backend.requests).toHaveLength(1);

    const deadline = await server([gatewayError(504, 'WR_ERR_DEADLINE')]);
    expect((await rejection(client(deadline.url, retry).invoke('blue', {}))).code).toBe(
      'WR_ERR_DEADLINE',
    );
    expect(deadline.requests).toHaveLength(1);

    // Act: the same failure, but the caller says a second run is harmless.
    const idem = await server([gatewayError(502, 'WR_ERR_BACKEND'), ok({ n: 2 })]);
    const res = await client(idem.url, retry).invoke('blue', {}, { idempotent: true });
    expect(res.result).toEqual({ n: 2 });
    expect(idem.requests).toHaveLength(2);
  });

  it('never retries a function error, even for an idempotent call', async () => {
    const gw = await server([
      (req, res) => {
        gatewayError(
          502,
          'WR_ERR_FUNCTION_ERROR',
          { errorType: 'QuotaExceeded' },
          { 'x-affinity-tenant': 'wr-t', 'x-affinity-state': 'hit' },
        )(req, res);
      },
      ok({}),
    ]);
    const err = await rejection(
      client(gw.url, recordingSleep().retry).invoke('blue', {}, { idempotent: true }),
    );
    expect(err).toBeInstanceOf(FunctionError);
    expect(err).toMatchObject({ errorType: 'QuotaExceeded', tenantId: 'wr-t', state: 'hit' });
    expect(gw.requests).toHaveLength(1);
  });

  it('does not retry a connection reset after the request was sent, unless idempotent', async () => {
    const gw = await server([resetAfterRequest, ok({ n: 3 })]);
    const err = await rejection(client(gw.url, recordingSleep().retry).invoke('blue', {}));
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'WR_ERR_TRANSPORT', mayHaveRun: true });
    expect(gw.requests).toHaveLength(1);

    const idem = await server([resetAfterRequest, ok({ n: 3 })]);
    const res = await client(idem.url, recordingSleep().retry).invoke(
      'blue',
      {},
      { idempotent: true },
    );
    expect(res.result).toEqual({ n: 3 });
    expect(idem.requests).toHaveLength(2);
  });

  it('retries a refused connection (nothing was sent) and succeeds once the gateway is up', async () => {
    // Prepare: a port with nothing listening; the first wait starts the gateway on it.
    const port = await freePort();
    const waits: number[] = [];
    let gw: ScriptedServer | undefined;
    const retry: RetryOptions = {
      sleep: async (ms) => {
        waits.push(ms);
        gw ??= await server([ok({ up: true })], port);
      },
    };
    // Act
    const res = await client(`http://127.0.0.1:${port}`, retry).invoke('blue', {});
    // Assess
    expect(res.result).toEqual({ up: true });
    expect(res.attempts).toBe(2);
    expect(waits).toHaveLength(1);
    expect(gw?.requests).toHaveLength(1);
  });

  it('reports a gateway that stays down as a TransportError that proves nothing ran', async () => {
    const port = await freePort();
    const { waits, retry } = recordingSleep();
    const err = await rejection(client(`http://127.0.0.1:${port}`, retry).invoke('blue', {}));
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({
      code: 'WR_ERR_TRANSPORT',
      mayHaveRun: false,
      causeCode: 'ECONNREFUSED',
    });
    expect(waits).toHaveLength(defaultSdkRetryPolicy.maxAttempts - 1);
  });

  it('stops waiting at the deadline and drops the request', async () => {
    const gw = await server([hang]);
    const err = await rejection(client(gw.url).invoke('blue', {}, { timeoutMs: 200 }));
    expect(err.code).toBe('WR_ERR_DEADLINE');
    expect(err.details).toMatchObject({ source: 'client', timeoutMs: 200 });
    expect(gw.requests).toHaveLength(1);
  });

  it('sends the RPC request the gateway expects and reads what happened from the headers', async () => {
    const gw = await server([ok({ counter: 0 }, 'rehydrated')]);
    const c = createAffinityClient({
      url: `${gw.url}/prefix/`,
      keyHeader: 'X-Session',
      headers: { Authorization: 'Bearer t' },
    });
    cleanups.push(() => c.close());
    const res = await c.invoke(
      'café',
      { n: 1 },
      {
        functionName: 'my.fn',
        mode: 'fresh',
        headers: { 'x-trace': 'abc', 'x-session': 'spoofed' },
      },
    );
    expect(res).toMatchObject({
      result: { counter: 0 },
      state: 'rehydrated',
      tenantId: 'wr-test',
      envId: 'env-1',
      attempts: 1,
    });
    const seen = gw.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/prefix/v1/functions/my.fn/invoke');
    expect(seen.body).toBe('{"n":1}');
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      // The key's UTF-8 bytes, which Node shows one Latin-1 character per byte
      // (the gateway decodes them back: src/http/http-text.ts).
      'x-session': Buffer.from('café', 'utf8').toString('latin1'),
      'x-affinity-mode': 'fresh',
      authorization: 'Bearer t',
      'x-trace': 'abc',
    });
  });

  it('reuses kept-alive connections across sequential calls', async () => {
    const gw = await server([ok({})]);
    const c = client(gw.url);
    for (let i = 0; i < 10; i++) await c.invoke('blue', {});
    expect(gw.requests).toHaveLength(10);
    // undici's pool may open a second socket while the first finishes its
    // bookkeeping, then alternates between the two: never one per call.
    expect(gw.connections()).toBeLessThanOrEqual(2);
  });

  it('sends a key above U+00FF as its UTF-8 bytes (any key the gateway accepts crosses the header)', async () => {
    const gw = await server([ok({}), ok({})]);
    await client(gw.url).invoke('日本 🙂', {});
    expect(gw.requests[0]!.headers['x-affinity-key']).toBe(
      Buffer.from('日本 🙂', 'utf8').toString('latin1'),
    );
    // Normalised as the gateway normalises: spaces at the ends, NFD → NFC.
    await client(gw.url).invoke(' cafe\u0301 ', {});
    expect(gw.requests[1]!.headers['x-affinity-key']).toBe(
      Buffer.from('caf\u00e9', 'utf8').toString('latin1'),
    );
  });

  it('rejects an invalid key before connecting', async () => {
    const gw = await server([ok({})]);
    for (const key of ['a\nb', '\ud800', '   ', 'é'.repeat(513)]) {
      const err = await rejection(client(gw.url).invoke(key, {}));
      expect(err.code, JSON.stringify(key)).toBe('WR_ERR_KEY_INVALID');
    }
    expect(gw.connections()).toBe(0);
  });

  it("treats a response that is not the gateway's as a transport error", async () => {
    const gw = await server([
      (_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>Bad Gateway</h1>');
      },
    ]);
    const err = await rejection(client(gw.url, recordingSleep().retry).invoke('blue', {}));
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ status: 502, mayHaveRun: true, causeCode: 'BAD_RESPONSE' });
    expect(gw.requests).toHaveLength(1);
  });
});
