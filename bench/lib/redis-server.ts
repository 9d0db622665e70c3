import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { parseCommandStats } from './command-stats.js';
import { freePort } from './free-port.js';

/**
 * A private standalone `redis-server` on a free loopback port, so a
 * benchmark's INFO commandstats count only its own gateway's commands (the
 * shared server on 6379 serves other work too). Stopped by its own PID.
 */
export interface OwnRedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** INFO commandstats `calls` per command (lower-case, e.g. 'evalsha'). */
  commandStats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

export async function startRedisServer(): Promise<OwnRedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  // If the benchmark dies first, take the server with it.
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killNow);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    process.removeListener('exit', killNow);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`redis-server on port ${String(port)} did not start`));
      }, START_TIMEOUT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`redis-server is not runnable (${err.message}): install redis-server`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${String(port)} exited with ${String(code)}`));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  child.stdout?.resume(); // keep draining its log so the server never blocks on a full pipe
  const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  return {
    port,
    url: `redis://127.0.0.1:${String(port)}`,
    pid: child.pid ?? 0,
    commandStats: async () => parseCommandStats(await admin.info('commandstats')),
    stop: async () => {
      admin.disconnect();
      await stop();
    },
  };
}
