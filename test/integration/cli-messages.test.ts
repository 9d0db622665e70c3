import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { runCli, type CliExit } from '../helpers/run-cli.js';

/**
 * What the built CLI (dist/) says when it cannot start, and its help: a port
 * already taken names the listener and the setting that moves it, and
 * `warmroute --help` shows `warmroute local`'s options as `warmroute local
 * --help` does.
 */

function cli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliExit> {
  return runCli(args, { WARMROUTE_LOG_LEVEL: 'silent', ...env });
}

/** A port on 127.0.0.1 some other process (this one) listens on for the test. */
async function takenPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

describe('warmroute CLI messages', () => {
  it('warmroute --help includes every option of warmroute local --help', async () => {
    // Act
    const top = await cli(['--help']);
    const local = await cli(['local', '--help']);

    // Assess
    expect(top.code).toBe(0);
    expect(local.code).toBe(0);
    for (const flag of ['--idle-timeout', '--max-environments', '--control-token']) {
      expect(local.stdout).toContain(flag);
    }
    expect(top.stdout).toContain(local.stdout);
  });

  it('warmroute local on a taken port names its port and settings, exit 1', async () => {
    // Prepare
    const port = await takenPort();

    // Act
    const result = await cli(['local', '--port', String(port)]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `warmroute local: cannot listen on 127.0.0.1:${port}, the local Lambda host's port (--port / WARMROUTE_LOCAL_PORT): address already in use (another process listens there; stop it or choose another port)\n`,
    );
  });

  it.each([
    ['PORT', "the gateway's port (HOST / PORT)"],
    ['WARMROUTE_LOCAL_PORT', "the local Lambda host's port (WARMROUTE_LOCAL_PORT)"],
    ['WARMROUTE_ADMIN_PORT', 'the admin port (WARMROUTE_ADMIN_HOST / WARMROUTE_ADMIN_PORT)'],
  ])('warmroute start with %s taken names that listener, exit 1', async (variable, named) => {
    // Prepare: every listener on a port of its own, the one under test taken.
    const port = await takenPort();
    const env = {
      PORT: String(await freePort()),
      WARMROUTE_LOCAL_PORT: String(await freePort()),
      WARMROUTE_ADMIN_PORT: String(await freePort()),
      [variable]: String(port),
    };

    // Act
    const result = await cli(['start'], env);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `warmroute: cannot listen on 127.0.0.1:${port}, ${named}: address already in use`,
    );
  });
});
