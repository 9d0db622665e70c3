import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { collect, openSocket, type Collected } from '../helpers/raw-http.js';

const HEADERS_TIMEOUT_MS = 300;
const BODY_TIMEOUT_MS = 600;
const KEEP_ALIVE_TIMEOUT_MS = 200;
/**
 * Safety net only: a stalled connection must be answered or closed before
 * this; without the bounds it stays open forever (issue 11, defect 5: still
 * open after 95 s). Generous so a loaded machine cannot fail the test.
 */
const LIMIT_MS = 20 * BODY_TIMEOUT_MS;

function expectTimeoutAnswer(answer: Collected): void {
  expect(answer.closed, 'the gateway closed the connection').toBe(true);
  expect(answer.response?.status).toBe(408);
  const body = JSON.parse(answer.response?.body.toString('utf8') ?? '') as {
    error: { code: string; message: string };
  };
  expect(body.error.code).toBe('WR_ERR_REQUEST_TIMEOUT');
}

describe('gateway: slow and idle clients are bounded', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      WARMROUTE_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      WARMROUTE_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
      WARMROUTE_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('a chunked body that stalls gets 408 and is closed; nothing is invoked', async () => {
    // Prepare
    const before = gw.invocations('counter');
    const socket = await openSocket(gw.url);
    const answer = collect(socket, LIMIT_MS);
    // Act: complete headers, one chunk, then nothing.
    socket.write(
      'POST /v1/functions/counter/invoke HTTP/1.1\r\nHost: a\r\nx-affinity-key: slow-body\r\n' +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n',
    );
    // Assess
    expectTimeoutAnswer(await answer);
    expect(gw.invocations('counter')).toBe(before);
  });

  it('a Content-Length body that never arrives in full on a proxy route gets 408', async () => {
    const before = gw.invocations('counter');
    const socket = await openSocket(gw.url);
    const answer = collect(socket, LIMIT_MS);
    socket.write(
      'POST /anything HTTP/1.1\r\nHost: a\r\nx-affinity-key: slow-body\r\nContent-Length: 1000\r\n\r\nabc',
    );
    expectTimeoutAnswer(await answer);
    expect(gw.invocations('counter')).toBe(before);
  });

  it('headers that stall get 408 and are closed', async () => {
    const socket = await openSocket(gw.url);
    const answer = collect(socket, LIMIT_MS);
    socket.write('GET /anything HTTP/1.1\r\nHost: a\r\nx-affinity-key: sl');
    expectTimeoutAnswer(await answer);
  });

  it('a body dripping a byte at a time is still cut at the whole-request bound', async () => {
    const before = gw.invocations('counter');
    const socket = await openSocket(gw.url);
    const answer = collect(socket, LIMIT_MS);
    socket.write(
      'POST /anything HTTP/1.1\r\nHost: a\r\nx-affinity-key: drip\r\nContent-Length: 100000\r\n\r\n',
    );
    // A byte every 50 ms keeps the socket busy, so only the whole-request bound can stop it.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, 50);
    try {
      expectTimeoutAnswer(await answer);
    } finally {
      clearInterval(drip);
    }
    expect(gw.invocations('counter')).toBe(before);
  });

  it('many stalled connections are all closed', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => openSocket(gw.url)));
    const answers = sockets.map((socket) => collect(socket, LIMIT_MS));
    for (const socket of sockets) {
      socket.write(
        'POST /anything HTTP/1.1\r\nHost: a\r\nx-affinity-key: many\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
    }
    const results = await Promise.all(answers);
    expect(results.filter((r) => r.closed)).toHaveLength(50);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const socket = await openSocket(gw.url);
    const answer = collect(socket, LIMIT_MS);
    socket.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    const result = await answer;
    expect(result.response?.status).toBe(200);
    expect(result.closed).toBe(true);
  });
});

describe('gateway: WARMROUTE_MAX_CONNECTIONS caps open connections', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ WARMROUTE_MAX_CONNECTIONS: '3' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('closes a connection over the cap at once, and serves again once some close', async () => {
    // Prepare: three open (idle) connections fill the cap.
    const held = await Promise.all([openSocket(gw.url), openSocket(gw.url), openSocket(gw.url)]);
    const heldClosed = held.map((socket) => collect(socket, LIMIT_MS));
    // Act
    const extra = await openSocket(gw.url);
    const refused = collect(extra, LIMIT_MS);
    extra.write('GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    // Assess: closed without an answer (the cap is enforced before any byte is read).
    const result = await refused;
    expect(result.closed).toBe(true);
    expect(result.response?.status).toBeUndefined();

    for (const socket of held) socket.destroy();
    await Promise.all(heldClosed);
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      try {
        const res = await request(`${gw.url}/healthz`, { reset: true });
        status = res.statusCode;
        await res.body.dump();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    expect(status).toBe(200);
  });
});
