import { spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';

/**
 * Starts `redis-server` with `args` for the running test and resolves once it
 * accepts connections; SIGKILLed by its own PID when the test ends (the
 * shared server is never touched). Rejects with `notReadyMessage` when it is
 * not ready within 10 s, e.g. a build without the feature `args` ask for.
 */
export async function runRedisServer(
  args: readonly string[],
  notReadyMessage: string,
): Promise<void> {
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(new Error(notReadyMessage));
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
}
