import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { distDir } from '../../src/paths.js';
import {
  counterOf,
  eventually,
  invoke,
  isRunning,
  json,
  testFunctionsFile,
} from '../helpers/localhost-host.js';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/** `warmroute local --port 0` as a user runs it; resolves with its URL once it prints it. */
async function startCli(
  args: string[],
): Promise<{ url: string; pid: number; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [join(distDir, 'src', 'cli.js'), 'local', '--port', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WARMROUTE_LOG_LEVEL: 'silent' },
    },
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /local Lambda host on (http:\/\/\S+)/.exec(line);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    void exited.then((code) => {
      reject(new Error(`warmroute local exited with ${String(code)}`));
    });
  });
  return { url, pid: child.pid!, exited };
}

async function environmentPids(url: string): Promise<number[]> {
  const body = (await fetch(`${url}/_local/environments`).then((r) => r.json())) as {
    environments: { pid: number }[];
  };
  return body.environments.map((e) => e.pid);
}

function client(url: string): LambdaClient {
  const c = new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  onTestFinished(() => {
    c.destroy();
  });
  return c;
}

describe('warmroute local (CLI)', () => {
  it('serves the shipped examples and stops every environment on SIGTERM', async () => {
    const cli = await startCli([]);
    const c = client(cli.url);
    const blue = counterOf(
      await c.send(
        new InvokeCommand({ FunctionName: 'counter', TenantId: 'BlueTenant', Payload: '{}' }),
      ),
    );
    await invoke(c, { FunctionName: 'counter', TenantId: 'GreenTenant', Payload: '{}' });
    const pids = await environmentPids(cli.url);

    process.kill(cli.pid, 'SIGTERM');
    const code = await cli.exited;

    expect(blue).toEqual({ counter: 0, tenantId: 'BlueTenant' });
    expect(pids).toHaveLength(2);
    expect(code).toBe(0);
    expect(await eventually(() => pids.every((pid) => !isRunning(pid)))).toBe(true);
  });

  it('leaves no environment behind even when the host process is killed outright', async () => {
    const cli = await startCli(['--functions', testFunctionsFile]);
    const c = client(cli.url);
    const echo = json(await invoke(c, { FunctionName: 'echo', TenantId: 'a', Payload: '{}' })) as {
      tmpdir: string;
    };
    await invoke(c, { FunctionName: 'counter-shared', Payload: '{}' });
    const pids = await environmentPids(cli.url);
    const tmpExisted = existsSync(echo.tmpdir);

    process.kill(cli.pid, 'SIGKILL');
    await cli.exited;

    expect(pids).toHaveLength(2);
    expect(tmpExisted).toBe(true);
    // The environments lose their Runtime API, remove their TMPDIR and exit on their own.
    expect(await eventually(() => pids.every((pid) => !isRunning(pid)))).toBe(true);
    expect(existsSync(echo.tmpdir)).toBe(false);
  });

  it('rejects bad arguments with exit code 2', async () => {
    const child = spawn(
      process.execPath,
      [join(distDir, 'src', 'cli.js'), 'local', '--port', 'nope'],
      { stdio: 'pipe' },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(2);
    expect(stderr).toContain('--port');
  });
});
