import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * The gateway's default logger censors the key header the gateway is
 * configured with (keys may be session ids), not only the default
 * `x-affinity-key`. The default logger writes to stdout, so the gateway runs
 * in a child process (the built package, as `createGateway` users get it)
 * and the test reads its log lines.
 */

const SESSION = 'session-id-that-must-not-be-logged';
const ADMIN = 'admin-bearer-that-must-not-be-logged';

const CHILD = `
const { createGateway } = await import('warmroute');
const gw = await createGateway({
  WARMROUTE_SECRET: 'log-redaction-secret-0123456789',
  WARMROUTE_KEY_HEADER: 'x-session',
  WARMROUTE_BACKEND: 'endpoint',
  // Nothing listens there: the call fails and the gateway logs the error.
  AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:1',
  WARMROUTE_LOG_LEVEL: 'info',
  PORT: '0',
});
// An embedder's error log that carries the request's headers, through the gateway's logger.
gw.app.addHook('onError', async (request, _reply, err) => {
  gw.dependencies.logger.error(
    { err, req: { method: request.method, url: request.url, headers: request.headers } },
    'request failed',
  );
});
const res = await gw.app.inject({
  method: 'POST',
  url: '/v1/functions/counter/invoke',
  headers: {
    'x-session': ${JSON.stringify(SESSION)},
    authorization: 'Bearer ${ADMIN}',
    'content-type': 'application/json',
  },
  payload: '{}',
});
await gw.close();
process.stdout.write('STATUS ' + res.statusCode + '\\n');
`;

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Bounded: a child that hangs fails the test instead of holding it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("the gateway's default logger", () => {
  it('redacts a custom WARMROUTE_KEY_HEADER in the error logged for a request', async () => {
    // Act
    const child = await runChild();

    // Assess
    expect(child.code, child.stderr).toBe(0);
    expect(child.stdout).toContain('STATUS 502');
    const lines = child.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The gateway's own line for the failed call, then the embedder's.
    expect(lines.some((l) => l['msg'] === 'WR_ERR_BACKEND')).toBe(true);
    const failed = lines.find((l) => l['msg'] === 'request failed') as
      { req: { headers: Record<string, unknown> } } | undefined;
    expect(failed?.req.headers['x-session']).toBe('[redacted]');
    expect(failed?.req.headers['authorization']).toBe('[redacted]');
    expect(failed?.req.headers['content-type']).toBe('application/json');
    expect(child.stdout).not.toContain(SESSION);
    expect(child.stdout).not.toContain(ADMIN);
  });
});
