import { randomBytes } from 'node:crypto';
import { freePort } from './ports.js';
import { runRedisServer } from './redis-server-process.js';

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
  await runRedisServer(
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
    'redis-server did not start (is redis-server installed?)',
  );
  return { url: `redis://127.0.0.1:${String(port)}`, password };
}
