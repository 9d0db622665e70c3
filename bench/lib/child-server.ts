import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  /**
   * CPU seconds of the process and all its descendants (the local host's
   * environments are child processes): see `readTreeCpuSeconds`.
   */
  treeCpuSeconds(): number;
  stop(): Promise<void>;
}

const TICKS_PER_SECOND = 100;

/**
 * The fields of a `/proc/<pid>/stat` (or `/proc/<pid>/task/<tid>/stat`) after
 * "pid (comm) ": index 0 is the state; utime, stime, cutime, cstime (clock
 * ticks) are indexes 11–14.
 */
export function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime and stime of a process or thread in seconds, from its stat fields. */
export function cpuOf(fields: readonly string[]): { user: number; system: number } {
  return {
    user: Number(fields[11]) / TICKS_PER_SECOND,
    system: Number(fields[12]) / TICKS_PER_SECOND,
  };
}

export function readCpuSeconds(pid: number): number {
  const { user, system } = cpuOf(statFields(`/proc/${pid}/stat`));
  return user + system;
}

/** Child PIDs of every thread of `pid` (Linux /proc/<pid>/task/<tid>/children). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // gone
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') for (const c of text.split(' ')) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * CPU seconds of `pid` and every live descendant, each counted with the CPU
 * of its children that have already exited and been waited for (cutime +
 * cstime): an environment evicted during a measurement moves its CPU from
 * its own entry to its parent's, so the total stays whole. A process that
 * ends between the directory walk and its read is left out (its CPU
 * reappears in its parent's cutime once waited for).
 */
export function readTreeCpuSeconds(pid: number): number {
  let ticks = 0;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    try {
      const f = statFields(`/proc/${next}/stat`);
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      continue; // gone
    }
    pending.push(...childPids(next));
  }
  return ticks / TICKS_PER_SECOND;
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
    treeCpuSeconds: () => readTreeCpuSeconds(pid),
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
