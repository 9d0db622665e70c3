import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { freePort } from '../helpers/ports.js';
import { runRedisServer } from '../helpers/redis-server-process.js';

/**
 * `rediss://` really is TLS, with the server's certificate verified: a
 * private `redis-server --tls-port` with a certificate for `localhost`
 * signed by a CA made here (openssl), which the client process trusts
 * through NODE_EXTRA_CA_CERTS (as a deployment trusts its Redis's CA). What
 * it proves: the gateway's command client (src/redis/client.ts) connects
 * over TLS to `rediss://localhost` and runs commands; it refuses
 * `rediss://127.0.0.1` (the certificate does not name that address), so
 * verification is on. What it cannot prove: TLS to a Redis Cluster (the
 * cluster harness has no TLS mode; the cluster's TLS options are checked in
 * test/unit/redis-client-options.test.ts). Needs `npm run build` (the
 * probe runs dist/), openssl and redis-server built with TLS.
 */

const run = promisify(execFile);

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A CA and a server certificate for DNS:localhost signed by it, in `dir`. */
async function certificates(dir: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=warmroute-test-ca',
  ]);
  await openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost\n');
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ]);
}

/** redis-server with TLS only (no plain port), stopped by its PID when the test ends. */
async function tlsRedis(dir: string): Promise<number> {
  const port = await freePort();
  await runRedisServer(
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(dir, 'server.crt'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    'redis-server --tls-port did not start (built without TLS?)',
  );
  return port;
}

interface ProbeResult {
  readonly ok: boolean;
  readonly value?: string;
  readonly tls?: boolean;
  readonly error?: string;
  readonly errors?: string[];
}

async function probe(target: unknown, caFile: string): Promise<ProbeResult> {
  const script = join(packageRoot, 'test', 'helpers', 'tls-redis-probe.mjs');
  const { stdout } = await run(process.execPath, [script, JSON.stringify(target)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as ProbeResult;
}

describe('rediss:// is TLS with the certificate verified', () => {
  it('connects to rediss://localhost, refuses rediss://127.0.0.1 (not in the certificate)', async () => {
    // Prepare
    expect(
      existsSync(join(packageRoot, 'dist', 'src', 'redis', 'client.js')),
      'run npm run build first',
    ).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'wr-tls-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await certificates(dir);
    const port = await tlsRedis(dir);
    const ca = join(dir, 'ca.crt');

    // Act
    const good = await probe({ mode: 'standalone', url: `rediss://localhost:${port}` }, ca);
    const wrongName = await probe({ mode: 'standalone', url: `rediss://127.0.0.1:${port}` }, ca);
    const plain = await probe({ mode: 'standalone', url: `redis://localhost:${port}` }, ca);

    // Assess
    expect(good).toEqual({ ok: true, value: 'over-tls', tls: true });
    expect(wrongName.ok).toBe(false);
    expect(JSON.stringify(wrongName)).toMatch(
      /IP: 127\.0\.0\.1 is not in the cert's list|ERR_TLS_CERT_ALTNAME_INVALID|altnames/i,
    );
    // A plain client gets no answer it understands from a TLS-only port.
    expect(plain.ok).toBe(false);
  });
});
