import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * Starts the built CLI (dist/) with `args`, in `env` only (plus PATH and a
 * silent log), and resolves with its stdout once `lastLine` matches it: the
 * banner's last line. Rejects, with the CLI's stderr, if it exits first. The
 * process is stopped when the test finishes.
 */
export async function startCliBanner(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  lastLine: RegExp,
): Promise<string> {
  const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', WARMROUTE_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (lastLine.test(out)) resolve();
    });
    void exited.then((code) => {
      reject(
        new Error(`warmroute ${args.join(' ')} exited (${String(code)}) before its banner: ${err}`),
      );
    });
  });
  return out;
}
