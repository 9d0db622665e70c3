import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * A benchmark server in its own process, so the load generator and the
 * server under test do not share an event loop. The child prints one JSON
 * line `{ "url": … }` when it listens.
 */
export interface ChildServer {
  readonly url: string;
  readonly pid: number;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const TICKS_PER_SECOND = 100;

export function readCpuSeconds(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function startChildServer(
  script: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  return startChildProcess([script], env);
}

/** The same for any node arguments, e.g. `['--input-type=module', '-e', code]`. */
export async function startChildProcess(
  nodeArgs: readonly string[],
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const script = nodeArgs.includes('-e') ? 'inline module' : nodeArgs.join(' ');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stdout = child.stdout;
  if (stdout === null) throw new Error('no stdout');
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: stdout });
    const timer = setTimeout(() => {
      // Do not leave it running behind the failed benchmark.
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start`));
    }, 20_000);
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (typeof parsed.url === 'string') {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      } catch {
        // not our line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${String(code)}`));
    });
  });
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    cpuSeconds: () => readCpuSeconds(pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
