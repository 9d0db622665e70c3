import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { errorCatalogue } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/raw-http.js';

/** The gateway's error contract: JSON `{ error: { code, message } }`, a catalogue code, its status. */
function expectContract(status: number | undefined, body: string, code: string): void {
  const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
  expect(parsed.error?.code, body.slice(0, 300)).toBe(code);
  expect(typeof parsed.error?.message).toBe('string');
  expect(Object.hasOwn(errorCatalogue, code)).toBe(true);
  expect(status).toBe(errorCatalogue[code as keyof typeof errorCatalogue].status);
}

// Issue 11, defect 6: answers written below the routes (Node's parser, Fastify's router,
// Fastify's shutdown) used Node's or Fastify's bodies, not the gateway's contract.
describe('gateway: every answer the gateway writes itself follows the error contract', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const rawCases: { name: string; bytes: string; code: string }[] = [
    {
      name: 'a control character in a header value',
      bytes: 'GET /x HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nx-note: a\x01b\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'a space in a header name',
      bytes: 'GET /x HTTP/1.1\r\nHost: a\r\nx affinity-key: k\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'malformed percent-encoding in a proxied path',
      bytes: 'GET /a%zz HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nConnection: close\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'malformed percent-encoding in an RPC path',
      bytes:
        'POST /v1/functions/%E2%82/invoke HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'headers over the size limit',
      bytes: `GET /x HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nx-pad: ${'p'.repeat(20_000)}\r\n\r\n`,
      code: 'WR_ERR_HEADERS_TOO_LARGE',
    },
    {
      name: 'a method that is not an HTTP token',
      bytes: 'GE(T /x HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'an unknown method',
      bytes: 'BREW /x HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'Content-Length and Transfer-Encoding together',
      bytes:
        'POST /x HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'a malformed chunk size',
      bytes:
        'POST /x HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
      code: 'WR_ERR_BAD_REQUEST',
    },
    {
      name: 'a content type that does not parse',
      bytes:
        'POST /v1/functions/counter/invoke HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nContent-Type: ;;;\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      code: 'WR_ERR_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a wrong method on the RPC route',
      bytes:
        'GET /v1/functions/counter/invoke HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nConnection: close\r\n\r\n',
      code: 'WR_ERR_METHOD_NOT_ALLOWED',
    },
  ];

  for (const c of rawCases) {
    it(`${c.name} → ${c.code}, nothing invoked`, async () => {
      // Prepare
      const before = gw.invocations('counter');
      // Act
      const answer = await rawExchange(gw.url, c.bytes, { firstResponseOnly: true });
      // Assess
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expectContract(answer.status, answer.body.toString('utf8'), c.code);
      expect(gw.invocations('counter')).toBe(before);
    });
  }

  it('inject(): a bad URL and an over-long path parameter get the contract too', async () => {
    const badUrl = await gw.app.inject({ method: 'GET', url: '/v1/keys/%zz' });
    expectContract(badUrl.statusCode, badUrl.body, 'WR_ERR_BAD_REQUEST');
    const longKey = await gw.app.inject({
      method: 'GET',
      url: `/v1/keys/${'k'.repeat(20_000)}`,
    });
    expectContract(longKey.statusCode, longKey.body, 'WR_ERR_URI_TOO_LONG');
  });

  it('the process keeps serving after all of it', async () => {
    const res = await request(`${gw.url}/healthz`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});

describe('gateway: while it shuts down, requests get 503 WR_ERR_SHUTTING_DOWN with Retry-After', () => {
  it('answers new requests with the contract while in-flight ones drain', async () => {
    // Prepare: an invocation that keeps the drain busy.
    const gw = await startTestGateway();
    let closing: Promise<void> | undefined;
    try {
      const inFlight = request(`${gw.url}/v1/functions/slow/invoke`, {
        method: 'POST',
        headers: { 'x-affinity-key': 'drain-me', 'content-type': 'application/json' },
        body: JSON.stringify({ sleepMs: 1_500 }),
      });
      await waitFor(() => gw.deps.scheduler.stats().running === 1);

      // Act: start closing, then send requests while the drain waits.
      closing = gw.close();
      // Probes keep being answered while closing: poll until /readyz reports it.
      let ready = await readyz(gw.url);
      for (let i = 0; i < 500 && ready.status !== 503; i++) ready = await readyz(gw.url);
      const rpc = await rawExchange(
        gw.url,
        'POST /v1/functions/counter/invoke HTTP/1.1\r\nHost: a\r\nx-affinity-key: k\r\nContent-Length: 2\r\n\r\n{}',
        { firstResponseOnly: true },
      );

      // Assess
      expectContract(rpc.status, rpc.body.toString('utf8'), 'WR_ERR_SHUTTING_DOWN');
      expect(rpc.headers['retry-after']).toBe('1');
      expect(ready.status).toBe(503);
      const readyBody = JSON.parse(ready.body.toString('utf8')) as {
        status: string;
        error: { code: string };
      };
      expect(readyBody.status).toBe('shutting_down');
      expect(readyBody.error.code).toBe('WR_ERR_SHUTTING_DOWN');
      const drained = await inFlight;
      expect(drained.statusCode).toBe(200);
      await drained.body.dump();
    } finally {
      await (closing ?? gw.close());
    }
  });
});

function readyz(url: string): ReturnType<typeof rawExchange> {
  return rawExchange(url, 'GET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', {
    firstResponseOnly: true,
  });
}

async function waitFor(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
