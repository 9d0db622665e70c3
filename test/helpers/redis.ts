import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { freePort } from './ports.js';

/** The machine's shared Redis. Never stop it; use a unique prefix and clean up. */
export const SHARED_REDIS_URL = process.env['WARMROUTE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test (or earlier run) uses. */
export function uniquePrefix(label: string): string {
  return `wrtest:${label}:${randomBytes(4).toString('hex')}:`;
}

/** Delete every key under `prefix` (SCAN, never KEYS). */
export async function deleteByPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** PID of the running server (undefined while it is down). */
  readonly pid: number | undefined;
  /** Kill the server (SIGKILL: a crash, not a clean shutdown). */
  kill(): Promise<void>;
  /** Start a new server on the same port (empty: it keeps nothing on disk). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private `redis-server` on a free port, for tests that kill or restart
 * Redis. Stopped by its own PID; the shared server is never touched.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('redis-server did not start'));
      }, 10_000);
      proc.once('error', reject);
      proc.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc?.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => {
        resolve();
      });
      proc.kill('SIGKILL');
    });
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: launch,
    stop: kill,
  };
}

/**
 * A private server for the running test, stopped (by its PID) when the test
 * ends. Anything server-wide (SCRIPT FLUSH, CONFIG, DEBUG, FLUSHALL, CLIENT
 * PAUSE, killing the server) belongs here, never on {@link SHARED_REDIS_URL}:
 * test/unit/test-hygiene-shared-redis.test.ts enforces it.
 */
export async function privateRedis(): Promise<OwnRedis> {
  const redis = await startOwnRedis();
  onTestFinished(() => redis.stop());
  return redis;
}
