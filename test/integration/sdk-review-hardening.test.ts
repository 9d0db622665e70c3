import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createAffinityClient } from '../../src/sdk/client.js';
import { clientOptionsFromEnv } from '../../src/sdk/env-options.js';
import { AffinityError, TransportError } from '../../src/sdk/errors.js';
import { MAX_RESPONSE_BYTES } from '../../src/sdk/http-transport.js';
import type { InvokeOptions } from '../../src/sdk/types.js';
import { startEmbeddedTarget, startHttpTarget, type SdkTarget } from '../helpers/sdk-targets.js';

/**
 * Second outside review, SDK findings: an oversized gateway answer, close()
 * with calls in flight, the env reader's timeout bound, the keyHeader option
 * and a signal that is not an AbortSignal.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function outcomeOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (r) => r,
    (err: unknown) => err,
  );
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (condition()) return;
    await delay(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('SDK review hardening: oversized gateway answers', () => {
  it('refuses a chunked answer far larger than any Lambda result, counting bytes as they arrive', async () => {
    // Prepare: 32 MiB, chunked (no content-length), from a server that
    // records whether the client stopped reading before the end.
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let sent = 0;
    let finished = false;
    const url = await listen(
      createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'x-affinity-tenant': 't', 'content-type': 'application/json' });
        const pump = (): void => {
          while (sent < 32) {
            sent++;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
          finished = true;
        };
        pump();
      }),
    );
    const client = createAffinityClient({ url, functionName: 'f', timeoutMs: 20_000 });
    cleanups.push(() => client.close());

    // Act
    const outcome = await outcomeOf(client.invoke('k', {}, { idempotent: true }));

    // Assess: a transport error saying the function ran, not a deadline,
    // and the connection was dropped well before the 32 MiB were sent.
    expect(outcome).toBeInstanceOf(TransportError);
    const err = outcome as TransportError;
    expect(err.code).toBe('WR_ERR_TRANSPORT');
    expect(err.causeCode).toBe('RESPONSE_TOO_LARGE');
    expect(err.mayHaveRun).toBe(true);
    expect(finished).toBe(false);
  }, 30_000);

  it('refuses an answer by its content-length before reading the body', async () => {
    // Prepare: a declared length just over the limit, and a body that never comes.
    let requests = 0;
    const url = await listen(
      createServer((req, res) => {
        requests++;
        req.resume();
        res.writeHead(200, {
          'x-affinity-tenant': 't',
          'content-length': String(MAX_RESPONSE_BYTES + 1),
        });
        res.write('{');
      }),
    );
    const client = createAffinityClient({ url, functionName: 'f', timeoutMs: 10_000 });
    cleanups.push(() => client.close());

    // Act: idempotent, so a retry would be allowed if the policy chose one.
    const outcome = await outcomeOf(client.invoke('k', {}, { idempotent: true }));

    // Assess: refused at once (not the deadline), and not retried.
    expect(outcome).toBeInstanceOf(TransportError);
    expect((outcome as TransportError).causeCode).toBe('RESPONSE_TOO_LARGE');
    expect(requests).toBe(1);
  });

  it('still reads an answer of Lambda-maximum size', async () => {
    // Prepare: a 6 MB JSON string result, the most a Lambda function can return.
    const body = JSON.stringify('a'.repeat(6_291_456 - 2));
    const url = await listen(
      createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'x-affinity-tenant': 't', 'content-type': 'application/json' });
        res.end(body);
      }),
    );
    const client = createAffinityClient({ url, functionName: 'f' });
    cleanups.push(() => client.close());

    // Act
    const result = await client.invoke<string>('k', {});

    // Assess
    expect(result.result.length).toBe(6_291_456 - 2);
  });
});

describe('SDK review hardening: close() with a call to a hung gateway', () => {
  it('ends the call at once with WR_ERR_SHUTTING_DOWN instead of waiting for its deadline', async () => {
    // Prepare: a gateway that never answers; the call would wait 60 s.
    let received = 0;
    const url = await listen(
      createServer((req) => {
        received++;
        req.resume();
      }),
    );
    const client = createAffinityClient({ url, functionName: 'f', timeoutMs: 60_000 });
    const call = outcomeOf(client.invoke('k', {}));
    await waitFor(() => received > 0, 'the request to arrive');

    // Act: close() resolves only after the call ended, so the test's own
    // timeout (well under the 60 s deadline) bounds it.
    await client.close();
    const err = await call;

    // Assess
    expect(err).toBeInstanceOf(AffinityError);
    expect((err as AffinityError).code).toBe('WR_ERR_SHUTTING_DOWN');
  }, 15_000);
});

const targets: readonly [string, () => Promise<SdkTarget>][] = [
  ['http transport → gateway → local host', startHttpTarget],
  ['embedded transport → local host', startEmbeddedTarget],
];

describe.each(targets)('SDK review hardening: close() in flight, %s', (_name, start) => {
  it('ends a call to a slow function with WR_ERR_SHUTTING_DOWN, well before its deadline', async () => {
    // Prepare: the function sleeps 3 s; the call's deadline is 60 s. Without
    // the fix the call would succeed after 3 s, so the code below tells.
    const target = await start();
    cleanups.push(() => target.close());
    const client = target.client({ functionName: 'slow', timeoutMs: 60_000 });
    const before = target.localHost.stats().invocations['slow'] ?? 0;
    const call = outcomeOf(client.invoke(`close-${randomUUID()}`, { ms: 3_000 }));
    await waitFor(
      () => (target.localHost.stats().invocations['slow'] ?? 0) > before,
      'the call to start',
    );

    // Act
    await client.close();
    const err = await call;

    // Assess
    expect(err).toBeInstanceOf(AffinityError);
    expect((err as AffinityError).code).toBe('WR_ERR_SHUTTING_DOWN');
    // A closed client refuses new calls with the same code.
    const later = await outcomeOf(client.invoke('k', {}));
    expect((later as AffinityError).code).toBe('WR_ERR_SHUTTING_DOWN');
  }, 15_000);
});

describe('SDK review hardening: options checked up front', () => {
  it('refuses WARMROUTE_TIMEOUT_MS beyond the client bound in the env reader, as a config error', () => {
    // Prepare
    const env = { WARMROUTE_URL: 'http://127.0.0.1:1', WARMROUTE_TIMEOUT_MS: '2147483648' };

    // Act
    const thrown = thrownBy(() => createAffinityClient(clientOptionsFromEnv(env)));

    // Assess: refused by clientOptionsFromEnv itself, naming the variable.
    expect(thrown).toBeInstanceOf(AffinityError);
    expect((thrown as AffinityError).code).toBe('WR_ERR_CONFIG');
    expect((thrown as AffinityError).message).toContain('WARMROUTE_TIMEOUT_MS');
    // The bound itself is accepted by both.
    const ok = clientOptionsFromEnv({ ...env, WARMROUTE_TIMEOUT_MS: '2147483647' });
    const client = createAffinityClient(ok);
    cleanups.push(() => client.close());
  });

  it.each(['x key', 'content-type', 'Content-Length', 'host', 'authorization', 'x-affinity-mode'])(
    'refuses keyHeader %j when the client is created, as WARMROUTE_KEY_HEADER is',
    (keyHeader) => {
      // Act
      const fromOption = thrownBy(() =>
        createAffinityClient({ url: 'http://127.0.0.1:1', functionName: 'f', keyHeader }),
      );
      const fromEnv = thrownBy(() =>
        clientOptionsFromEnv({
          WARMROUTE_URL: 'http://127.0.0.1:1',
          WARMROUTE_KEY_HEADER: keyHeader,
        }),
      );

      // Assess
      expect(fromOption).toBeInstanceOf(AffinityError);
      expect((fromOption as AffinityError).code).toBe('WR_ERR_BAD_REQUEST');
      expect((fromOption as AffinityError).message).toContain('keyHeader');
      expect(fromEnv).toBeInstanceOf(AffinityError);
      expect((fromEnv as AffinityError).code).toBe('WR_ERR_CONFIG');
    },
  );

  it('sends the key in a valid custom keyHeader', async () => {
    // Prepare
    let seen: string | string[] | undefined;
    let contentType: string | undefined;
    const url = await listen(
      createServer((req, res) => {
        seen = req.headers['x-session'];
        contentType = req.headers['content-type'];
        req.resume();
        res.writeHead(200, { 'x-affinity-tenant': 't' });
        res.end('1');
      }),
    );
    const client = createAffinityClient({ url, functionName: 'f', keyHeader: 'X-Session' });
    cleanups.push(() => client.close());

    // Act
    await client.invoke('blue', {});

    // Assess
    expect(seen).toBe('blue');
    expect(contentType).toBe('application/json');
  });

  it.each([{}, 'abort', { aborted: false }])(
    'refuses a signal that is not an AbortSignal (%j) as WR_ERR_BAD_REQUEST',
    async (signal) => {
      // Prepare: no server is needed; the check happens before any I/O.
      const client = createAffinityClient({ url: 'http://127.0.0.1:1', functionName: 'f' });
      cleanups.push(() => client.close());
      const options = { signal } as unknown as InvokeOptions;

      // Act
      const err = await outcomeOf(client.invoke('k', {}, options));

      // Assess
      expect(err).toBeInstanceOf(AffinityError);
      expect((err as AffinityError).code).toBe('WR_ERR_BAD_REQUEST');
    },
  );
});
