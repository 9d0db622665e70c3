import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { startCliBanner } from '../helpers/cli-banner.js';
import { freePort } from '../helpers/ports.js';
import { runCli, type CliExit } from '../helpers/run-cli.js';

/**
 * `warmroute healthcheck`, the container image's HEALTHCHECK (deploy/docker/Dockerfile): it
 * reads the same settings as `warmroute start`, GETs /readyz on the listener that serves it (the
 * admin port when WARMROUTE_ADMIN_PORT is set) and exits 0 for a 200, 1 for anything else —
 * never 2, which Docker reserves. Runs the built CLI (dist/) against a real gateway.
 */

function healthcheck(env: Readonly<Record<string, string>>): Promise<CliExit> {
  return runCli(['healthcheck'], env);
}

/** `warmroute start` on free ports with `env`, once its banner is out (it listens then). */
async function startGateway(env: Readonly<Record<string, string>>): Promise<void> {
  await startCliBanner(
    ['start'],
    { WARMROUTE_LOCAL_PORT: String(await freePort()), ...env },
    /\/metrics' \| grep \S+\n/,
  );
}

describe('warmroute healthcheck', () => {
  it('a running gateway on one port: exit 0, reports its /readyz', async () => {
    // Prepare
    const env = { PORT: String(await freePort()) };
    await startGateway(env);

    // Act
    const result = await healthcheck(env);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`http://127.0.0.1:${env.PORT}/readyz: 200 {"status":"ok"`);
    expect(result.code).toBe(0);
  });

  it('the container settings (0.0.0.0, admin port): checks the admin port, not the public one', async () => {
    // Prepare
    const env = {
      HOST: '0.0.0.0',
      PORT: String(await freePort()),
      WARMROUTE_ADMIN_HOST: '0.0.0.0',
      WARMROUTE_ADMIN_PORT: String(await freePort()),
    };
    await startGateway(env);

    // Act
    const healthy = await healthcheck(env);
    // The same public port, the admin port moved to where nothing listens.
    const adminDown = await healthcheck({ ...env, WARMROUTE_ADMIN_PORT: String(await freePort()) });

    // Assess
    expect(healthy.stdout).toContain(`http://127.0.0.1:${env.WARMROUTE_ADMIN_PORT}/readyz: 200`);
    expect(healthy.code).toBe(0);
    expect(adminDown.stderr).toMatch(/ECONNREFUSED/);
    expect(adminDown.code).toBe(1);
  });

  it('nothing listening: exit 1 at once (connection refused), naming the URL', async () => {
    // Prepare
    const port = String(await freePort());

    // Act
    const result = await healthcheck({ PORT: port });

    // Assess
    expect(result.stderr).toContain(`warmroute healthcheck: http://127.0.0.1:${port}/readyz:`);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.code).toBe(1);
  });

  it('a listener that never answers: exit 1 after its own time limit, saying so', async () => {
    // Prepare: accepts connections, never writes a byte.
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const address = silent.address();
    if (typeof address !== 'object' || address === null) throw new Error('no port');

    // Act
    const result = await healthcheck({ PORT: String(address.port) });

    // Assess
    expect(result.stderr).toMatch(/readyz: no answer within \d+ ms/);
    expect(result.code).toBe(1);
  });

  it('a 503 from /readyz (a draining gateway) is unhealthy: exit 1, status and body reported', async () => {
    // Prepare: a stand-in answering as /readyz does while shutting down; it records the path.
    const paths: string[] = [];
    const draining = createHttpServer((request, response) => {
      paths.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end('{"status":"shutting_down"}');
    });
    await new Promise<void>((resolve) => draining.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      draining.close();
    });
    const address = draining.address();
    if (typeof address !== 'object' || address === null) throw new Error('no port');

    // Act
    const result = await healthcheck({ PORT: String(address.port) });

    // Assess
    expect(paths).toEqual(['GET /readyz']);
    expect(result.stderr).toContain('/readyz: 503 {"status":"shutting_down"}');
    expect(result.code).toBe(1);
  });

  it('settings the gateway would refuse: exit 1 (not 2) with the config error', async () => {
    // Act: production without WARMROUTE_SECRET, as the image's NODE_ENV=production would be.
    const result = await healthcheck({ NODE_ENV: 'production', PORT: '3000' });

    // Assess
    expect(result.stderr).toMatch(
      /^warmroute healthcheck: [^]*WARMROUTE_SECRET: required in production/,
    );
    expect(result.code).toBe(1);
  });

  it('is listed in warmroute --help', async () => {
    // Act
    const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), '--help'], {
      env: { PATH: process.env['PATH'] ?? '' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}healthcheck +GET \/readyz/m);
  });
});
