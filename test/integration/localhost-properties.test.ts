import fc from 'fast-check';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { LocalHost } from '../../src/localhost/index.js';
import { startTestHost } from '../helpers/localhost-host.js';
import { rawExchange, type RawResponse } from '../helpers/raw-http.js';

/**
 * Property tests of the local host's input surfaces: whatever a client puts
 * in an Invoke request, and whatever a function throws, returns or writes to
 * its Runtime API, the host answers (200 or a 4xx) and stays up. Seeded and
 * bounded so a failure reproduces.
 */

const TENANT_RE = /^[a-zA-Z0-9._:/=+\-@ ]{1,256}$/;
const MAX_CLIENT_CONTEXT = 3583;

/** Strings with what breaks headers: any code point, lone surrogates, NUL, CR/LF, U+0100+. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc
    .array(
      fc.constantFrom(
        '\u0000',
        '\r',
        '\n',
        '\r\n',
        '\ud800',
        '\udfff',
        '€',
        '\u0100',
        'é',
        'a',
        ' ',
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join('')),
);

const jsonLeaf = fc.oneof(nasty, fc.integer(), fc.boolean(), fc.constant(null));
const clientContextObject = fc.dictionary(
  nasty,
  fc.oneof(
    jsonLeaf,
    fc.dictionary(nasty, jsonLeaf, { maxKeys: 3 }),
    fc.array(jsonLeaf, { maxLength: 3 }),
  ),
  { maxKeys: 5 },
);

/** The request as raw bytes: header values go out as the UTF-8 of the string, unchecked. */
function invokeBytes(fn: string, headers: Record<string, string>, body = '{}'): Buffer {
  const head =
    `POST /2015-03-31/functions/${fn}/invocations HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
    `content-type: application/octet-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    'connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from(body, 'utf8')]);
}

async function healthy(host: LocalHost): Promise<number> {
  const res = await fetch(`${host.url}/_local/healthz`);
  await res.arrayBuffer();
  return res.status;
}

function expectAnswer(res: RawResponse): void {
  expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
  if (res.status >= 400) {
    // Lambda's error shape, so the SDK builds its exception.
    expect(res.headers['x-amzn-errortype']).toMatch(/^[A-Za-z]+$/);
    expect(JSON.parse(res.body.toString('utf8'))).toMatchObject({
      message: expect.any(String) as unknown,
    });
  }
}

/** A plain HTTP client call, for JSON payloads (the payload itself is always valid JSON). */
function post(
  host: LocalHost,
  fn: string,
  payload: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${host.url}/2015-03-31/functions/${fn}/invocations`,
      { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('local host: property tests of the Invoke API', () => {
  it('round-trips any client context object and never falls over on arbitrary tenant IDs', async () => {
    const host = await startTestHost({ bodyTimeoutMs: 2000 });

    await fc.assert(
      fc.asyncProperty(
        clientContextObject,
        fc.oneof(fc.constantFrom('t-1', 'tenant.two'), nasty),
        async (context, tenantId) => {
          const json = JSON.stringify(context);
          const encoded = Buffer.from(json, 'utf8').toString('base64');
          const res = await rawExchange(
            host.url,
            invokeBytes('echo', { 'x-amz-tenant-id': tenantId, 'x-amz-client-context': encoded }),
            { firstResponseOnly: true },
          );

          expectAnswer(res);
          // Node trims header whitespace; CR/LF can end the header early.
          const sentTenant = tenantId.replace(/^[ \t]+|[ \t]+$/g, '');
          const splitByNewline = /[\r\n]/.test(tenantId);
          if (
            !splitByNewline &&
            TENANT_RE.test(sentTenant) &&
            encoded.length <= MAX_CLIENT_CONTEXT
          ) {
            expect(res.status).toBe(200);
            const out = JSON.parse(res.body.toString('utf8')) as {
              context: { clientContext: unknown; tenantId: string };
            };
            // The function got the same JSON value that was sent (lone surrogates and all).
            expect(JSON.stringify(out.context.clientContext)).toBe(
              JSON.stringify(JSON.parse(json)),
            );
            expect(out.context.tenantId).toBe(sentTenant);
          }
          if (!splitByNewline && !TENANT_RE.test(sentTenant)) expect(res.status).toBe(400);
          if (TENANT_RE.test(sentTenant) && !splitByNewline && encoded.length > MAX_CLIENT_CONTEXT)
            expect(res.status).toBe(400);
        },
      ),
      { seed: 1101, numRuns: 200 },
    );

    expect(await healthy(host)).toBe(200);
  }, 120_000);

  it('answers raw header bytes (non-Latin-1, NUL, CR/LF, lone surrogates) in every header it reads with 200 or a 4xx', async () => {
    const host = await startTestHost({ bodyTimeoutMs: 2000 });
    const header = fc.constantFrom(
      'x-amz-client-context',
      'x-amz-tenant-id',
      'x-amz-invocation-type',
      'x-amz-log-type',
      'x-amzn-trace-id',
    );

    await fc.assert(
      fc.asyncProperty(header, nasty, fc.boolean(), async (name, value, withTenant) => {
        const headers: Record<string, string> = { [name]: value };
        if (withTenant && name !== 'x-amz-tenant-id') headers['x-amz-tenant-id'] = 't-1';

        const res = await rawExchange(host.url, invokeBytes('echo', headers), {
          firstResponseOnly: true,
        });

        expectAnswer(res);
      }),
      { seed: 1102, numRuns: 200 },
    );
    // Path, query and Qualifier are client input too.
    await fc.assert(
      fc.asyncProperty(nasty, nasty, async (name, qualifier) => {
        const path = `/2015-03-31/functions/${name.replace(/[\s]/g, '%20')}/invocations?Qualifier=${qualifier.replace(/[\s#]/g, '%20')}`;
        const res = await rawExchange(
          host.url,
          Buffer.from(
            `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`,
            'utf8',
          ),
          { firstResponseOnly: true },
        );

        expectAnswer(res);
      }),
      { seed: 1103, numRuns: 200 },
    );

    expect(await healthy(host)).toBe(200);
    expect(host.stats().functions.echo?.crashes ?? 0).toBe(0);
  }, 120_000);
});

describe('local host: property tests of the Runtime API side', () => {
  it('returns any error a function throws, name and message intact, and stays up', async () => {
    const host = await startTestHost({ bodyTimeoutMs: 2000 });

    await fc.assert(
      fc.asyncProperty(nasty, nasty, async (name, message) => {
        const res = await post(host, 'weird', JSON.stringify({ mode: 'throw', name, message }), {
          'x-amz-log-type': 'Tail',
        });

        expect(res.status).toBe(200);
        expect(res.headers['x-amz-function-error']).toBe('Unhandled');
        const body = JSON.parse(res.body) as { errorType: string; errorMessage: string };
        expect(body.errorType).toBe(name);
        expect(body.errorMessage).toBe(message);
        const tail = Buffer.from(String(res.headers['x-amz-log-result']), 'base64').toString(
          'utf8',
        );
        // The tail is the log's last 4 KB: a huge error pushes the line's start out of it.
        if (Buffer.byteLength(JSON.stringify({ name, message })) < 500)
          expect(tail).toContain('\tERROR\tInvoke Error \t{"errorType":');
      }),
      { seed: 1104, numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(jsonLeaf, clientContextObject),
        fc.constantFrom('throw-value', 'return'),
        async (value, mode) => {
          const res = await post(host, 'weird', JSON.stringify({ mode, value }));

          expect(res.status).toBe(200);
          const body = JSON.parse(res.body) as unknown;
          if (mode === 'return') {
            expect(res.headers['x-amz-function-error']).toBeUndefined();
            expect(JSON.stringify(body)).toBe(JSON.stringify({ value }));
          } else {
            expect(res.headers['x-amz-function-error']).toBe('Unhandled');
          }
        },
      ),
      { seed: 1105, numRuns: 200 },
    );

    expect(await healthy(host)).toBe(200);
  }, 180_000);

  it('survives a function writing arbitrary bytes to its Runtime API (bad ids, bad headers, garbage)', async () => {
    const host = await startTestHost({ bodyTimeoutMs: 2000 });
    const requestBytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc
        .tuple(nasty, nasty, fc.constantFrom('response', 'error'))
        .map(([id, type, kind]) =>
          Buffer.from(
            `POST /2018-06-01/runtime/invocation/${id}/${kind} HTTP/1.1\r\nhost: x\r\n` +
              `lambda-runtime-function-error-type: ${type}\r\ncontent-length: 2\r\n\r\n{}`,
            'utf8',
          ),
        ),
      // Its own request id, with error types Node refuses in outgoing headers.
      fc
        .tuple(nasty, fc.constantFrom('%E0%A4%A', '{ID}'))
        .map(([type, id]) =>
          Buffer.from(
            `POST /2018-06-01/runtime/invocation/${id}/error HTTP/1.1\r\nhost: x\r\n` +
              `lambda-runtime-function-error-type: ${type}\r\ncontent-length: 2\r\n\r\n{}`,
            'utf8',
          ),
        ),
      fc.constantFrom(
        Buffer.from('GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n'),
        Buffer.from(
          'POST /2018-06-01/runtime/init/error HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n{',
        ),
        Buffer.from(
          `POST /2018-06-01/runtime/invocation/{ID}/response HTTP/1.1\r\nhost: x\r\nx: ${'y'.repeat(20_000)}\r\n\r\n`,
        ),
      ),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(requestBytes, { minLength: 1, maxLength: 3 }), async (requests) => {
        const res = await post(
          host,
          'weird',
          JSON.stringify({ mode: 'garbage', requests: requests.map((b) => b.toString('base64')) }),
        );

        // The function may have answered (or failed) its own invocation
        // through the garbage; either way the host answers normally.
        expect(res.status).toBe(200);
        expect(() => JSON.parse(res.body) as unknown).not.toThrow();
      }),
      { seed: 1106, numRuns: 200 },
    );

    expect(await healthy(host)).toBe(200);
  }, 240_000);
});
