import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { onTestFinished } from 'vitest';
import { freePort } from './ports.js';

export interface PasswordRedis {
  /** `redis://127.0.0.1:<port>`, without the password (as a deployment sets `REDIS_URL`). */
  readonly url: string;
  /** What `--requirepass` was given. */
  readonly password: string;
}

/**
 * A private `redis-server` that demands AUTH (`--requirepass`), on a free
 * loopback port, stopped by its own PID when the running test ends. The
 * shared server has no password and must not be given one, so tests of
 * `WARMROUTE_REDIS_PASSWORD` and `WARMROUTE_SNAPSHOT_REDIS_PASSWORD` start
 * their own.
 */
export async function passwordRedis(): Promise<PasswordRedis> {
  const port = await freePort();
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          resolve();
          return;
        }
        proc.once('exit', () => {
          resolve();
        });
        proc.kill('SIGKILL');
      }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('redis-server did not start (is redis-server installed?)'));
    }, 10_000);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { url: `redis://127.0.0.1:${String(port)}`, password };
}
