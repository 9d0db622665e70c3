import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { freePort } from '../helpers/ports.js';

/**
 * SIGTERM to `warmroute start` (what Kubernetes and ECS send before they
 * wait): requests in flight get until the shutdown grace to finish; those
 * still running then are answered 503 WR_ERR_SHUTTING_DOWN with Retry-After,
 * and the process closes everything and exits 0, long before the hard-stop
 * backstop (grace + 5 s, exit 1). Runs the built CLI (dist/), like npm start.
 */

// `hang` never answers (its 30 s timeout is far past the test); `sleep` answers after `ms`.
const HANG = 'export const handler = () => new Promise(() => { setInterval(() => {}, 1000); });';
const SLEEP =
  'export const handler = async (event) => { const ms = JSON.parse(event.body ?? "{}").ms ?? 0; await new Promise((r) => setTimeout(r, ms)); return { statusCode: 200, body: "slept " + ms }; };';

const GRACE_MS = 1_500;

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: string;
}

async function startGateway(): Promise<{
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  terminate(): void;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'wr-shutdown-'));
  await mkdir(join(dir, 'hang'));
  await mkdir(join(dir, 'sleep'));
  await writeFile(join(dir, 'hang', 'index.mjs'), HANG);
  await writeFile(join(dir, 'sleep', 'index.mjs'), SLEEP);
  await writeFile(
    join(dir, 'functions.json'),
    JSON.stringify({
      functions: [
        { name: 'hang', codeDir: 'hang', tenancy: 'PER_TENANT', timeoutSeconds: 30 },
        { name: 'sleep', codeDir: 'sleep', tenancy: 'PER_TENANT', timeoutSeconds: 30 },
      ],
    }),
  );
  const port = await freePort();
  const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      WARMROUTE_LOCAL_PORT: String(await freePort()),
      WARMROUTE_FUNCTIONS_FILE: join(dir, 'functions.json'),
      WARMROUTE_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      WARMROUTE_LOG_LEVEL: 'silent',
      WARMROUTE_ROUTES: JSON.stringify([
        { prefix: '/h', function: 'hang', mode: 'affinity' },
        { prefix: '/s', function: 'sleep', mode: 'affinity' },
      ]),
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('warmroute gateway on')) resolve();
    });
    void exited.then(({ code }) => {
      reject(new Error(`warmroute start exited (${String(code)}) before listening`));
    });
  });
  return {
    url: `http://127.0.0.1:${String(port)}`,
    exited,
    terminate: () => child.kill('SIGTERM'),
  };
}

function send(url: string, body = ''): Promise<Answer> {
  return fetch(url, { method: 'POST', headers: { 'x-affinity-key': 'k' }, body }).then(
    async (res) => ({
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: await res.text(),
    }),
    // A dropped connection is an answer too (the wrong one): the assertions say so.
    (err: unknown) => ({
      status: 0,
      retryAfter: null,
      body: `${String(err)} (${String((err as { cause?: unknown }).cause)})`,
    }),
  );
}

/** Resolves once a proxied call has reached its function (the gateway answered a probe request). */
async function warmUp(url: string): Promise<void> {
  const res = await send(`${url}/s/warm`, JSON.stringify({ ms: 0 }));
  expect(res.status).toBe(200);
}

describe('warmroute start: SIGTERM honours the shutdown grace', () => {
  it('answers a request still running when the grace ends with 503 WR_ERR_SHUTTING_DOWN and exits 0', async () => {
    // Prepare: a gateway with a function that never answers, and a call in flight.
    const gw = await startGateway();
    await warmUp(gw.url);
    const hung = send(`${gw.url}/h/x`);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Act
    const signalled = Date.now();
    gw.terminate();
    const res = await hung;
    const answeredAfterMs = Date.now() - signalled;
    const exit = await gw.exited;

    // Assess: the contract body, not a reset connection; a clean exit, not the backstop's.
    expect(res.status, res.body).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'WR_ERR_SHUTTING_DOWN' } });
    expect(res.retryAfter).toMatch(/^\d+$/);
    // Not before the grace; and well before the hard stop at grace + 5 s (generous bound).
    expect(answeredAfterMs).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(answeredAfterMs).toBeLessThan(GRACE_MS + 4_000);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('lets a request that finishes within the grace keep its normal answer, then exits 0', async () => {
    // Prepare
    const gw = await startGateway();
    await warmUp(gw.url);
    const quick = send(`${gw.url}/s/x`, JSON.stringify({ ms: 600 }));
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Act
    gw.terminate();
    const res = await quick;
    const exit = await gw.exited;

    // Assess
    expect(res.status, res.body).toBe(200);
    expect(res.body).toBe('slept 600');
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);
});
