import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createMetrics } from '../../src/metrics.js';
import { freePort } from './ports.js';

/** Every series name the gateway's registry exports (histograms as their three series). */
export async function exportedSeries(): Promise<Set<string>> {
  const metrics = createMetrics({ coldStartPricePerGb: 0.0001 });
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    else names.add(m.name);
  }
  return names;
}

/** How to get the tools: CI installs them (.ci/run); a missing tool must fail, never pass as a skip. */
const INSTALL_HINT =
  '`apt-get install -y --no-install-recommends prometheus` (Debian; .ci/run does this)';

/** `promtool check metrics` on a scrape: its findings (empty when clean), one per line. */
export async function promtoolCheckMetrics(exposition: string): Promise<string[]> {
  const { code, output } = await new Promise<{ code: number | null; output: string }>(
    (resolve, reject) => {
      const child = execFile(
        'promtool',
        ['check', 'metrics'],
        { timeout: 30_000 },
        (err, stdout, stderr) => {
          if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
            reject(new Error(`promtool is not installed: ${INSTALL_HINT}`, { cause: err }));
            return;
          }
          const exit = (err as { code?: unknown } | null)?.code;
          resolve({
            code: err === null ? 0 : typeof exit === 'number' ? exit : null,
            output: stdout + stderr,
          });
        },
      );
      child.stdin?.end(exposition);
    },
  );
  const findings = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // promtool exits 3 on lint findings, 1 on a parse error, 0 when clean.
  if (code !== 0 && findings.length === 0)
    throw new Error(`promtool check metrics exited ${String(code)} with no output`);
  return findings;
}

/** One sample of an instant vector. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface RunningPrometheus {
  readonly url: string;
  readonly pid: number;
  /** `/api/v1/query` at `time` (seconds, default now): the instant vector (scalars as one sample). */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** Everything prometheus printed (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's `prometheus` on 127.0.0.1:<free port>, a fresh TSDB in a temp
 * directory, scraping `targets` every `scrapeIntervalSeconds` with
 * `ruleFiles` loaded. Stopped by its own PID.
 */
export async function startPrometheus(options: {
  targets: readonly { job: string; hostPort: string }[];
  ruleFiles: readonly string[];
  scrapeIntervalSeconds: number;
}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'wr-prometheus-'));
  const interval = `${String(options.scrapeIntervalSeconds)}s`;
  // JSON is YAML: no YAML writer needed for the config.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles,
    scrape_configs: options.targets.map((t) => ({
      job_name: t.job,
      static_configs: [{ targets: [t.hostPort] }],
    })),
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${String(port)}`;

  let output = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--web.listen-address=127.0.0.1:${String(port)}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'ENOENT'
            ? new Error(`prometheus is not installed: ${INSTALL_HINT}`, { cause: err })
            : err,
        );
      });
      child.once('exit', (code) => {
        reject(new Error(`prometheus exited ${String(code)} before it was ready:\n${output}`));
      });
      const started = Date.now();
      const poll = (): void => {
        request(`${url}/-/ready`)
          .then(async (res) => {
            await res.body.text();
            if (res.statusCode === 200) resolve();
            else retry();
          })
          .catch(retry);
      };
      const retry = (): void => {
        if (Date.now() - started > 20_000)
          reject(new Error(`prometheus was not ready in 20 s:\n${output}`));
        else setTimeout(poll, 100);
      };
      poll();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  if (child.pid === undefined) throw new Error('prometheus has no pid');

  return {
    url,
    pid: child.pid,
    log: () => output,
    stop,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', String(time));
      const res = await request(`${url}/api/v1/query?${params.toString()}`);
      const body = (await res.body.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== 'success' || body.data === undefined)
        throw new Error(`query failed (${body.error ?? res.statusCode}): ${expr}`);
      const { resultType, result } = body.data;
      if (resultType === 'scalar') {
        const [, v] = result as [number, string];
        return [{ metric: {}, value: Number(v) }];
      }
      if (resultType !== 'vector') throw new Error(`unexpected ${resultType} for ${expr}`);
      return (result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
        metric: s.metric,
        value: Number(s.value[1]),
      }));
    },
  };
}
