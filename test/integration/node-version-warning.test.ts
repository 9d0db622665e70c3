import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { freePort } from '../helpers/ports.js';

/**
 * Under Node 20 the AWS SDK prints a multi-line NodeVersionSupportWarning
 * when a client is created. `warmroute start` turns it off with the SDK's
 * documented switch (src/cli.ts); other warnings still print. The children
 * here run without the switch that vitest.config.ts sets for the test
 * workers, so they show what a user's terminal shows.
 */

const run = promisify(execFile);
const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** The test process's environment without the switch (and without settings of the runner's). */
function userEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === SWITCH || /^(WARMROUTE_|AWS_|REDIS_URL$)/.test(name))
      continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

describe('the AWS SDK Node version warning', { timeout: 60_000 }, () => {
  it('is printed by a bare SDK client on Node < 22 (so the check below can see it)', async () => {
    // Act
    const { stderr } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { LambdaClient } from '@aws-sdk/client-lambda'; new LambdaClient({ region: 'us-east-1' });",
      ],
      { cwd: packageRoot, env: userEnv({}) },
    );

    // Assess
    if (nodeMajor < 22) expect(stderr).toContain('NodeVersionSupportWarning');
    else expect(stderr).not.toContain('NodeVersionSupportWarning');
  });

  it('is not printed by `warmroute start`, which still prints other warnings', async () => {
    // Prepare
    const port = await freePort();
    const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'start'], {
      env: userEnv({
        PORT: String(port),
        WARMROUTE_LOCAL_PORT: String(await freePort()),
        WARMROUTE_LOG_LEVEL: 'silent',
        // A warning of another kind, emitted at start: it must still reach stderr.
        NODE_OPTIONS: '--import=data:text/javascript,process.emitWarning(`warmroute-test-warning`)',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('warmroute gateway on')) resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`warmroute start exited (${String(code)}) before listening: ${stderr}`));
      });
    });

    // Act: one invocation, so the Lambda client has certainly been created.
    const res = await fetch(`http://127.0.0.1:${String(port)}/v1/functions/counter/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': 'blue', 'content-type': 'application/json' },
      body: '{}',
    });
    await res.text();

    // Assess
    expect(res.status).toBe(200);
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    expect(stderr).toContain('warmroute-test-warning');
  });
});
