import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { startChildProcess, type ChildServer } from './lib/child-server.js';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { distDir, examplesDir } from '../src/paths.js';

/**
 * Local host costs, measured side by side in one run:
 * - a warm invoke through the host (raw HTTP POST with undici, and the
 *   unmodified SDK's InvokeCommand) against a raw HTTP round trip to a
 *   trivial node:http server returning the same body — interleaved in
 *   rounds, sequential (concurrency 1). The host and the trivial server each
 *   run in their own process, so both paths cross a process boundary the
 *   same way; the host's extra cost is its own work plus the hop to the
 *   environment's process and back;
 * - cold start: evict the tenant's environment, then invoke (median of N),
 *   with the `Init Duration` the host reports.
 */

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
      ? (s[mid] ?? NaN)
      : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function p(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

type Child = ChildServer;

/** Runs an ES module snippet in its own node process; it prints `{"url":…}` when listening. */
function startChild(code: string): Promise<Child> {
  return startChildProcess(['--input-type=module', '-e', code]);
}

const rawServerCode = (body: string): string => `
import { createServer } from 'node:http';
const body = ${JSON.stringify(body)};
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: 'http://127.0.0.1:' + server.address().port })));
process.once('SIGTERM', () => process.exit(0));
`;

const hostCode = (): string => `
import { startLocalHost } from ${JSON.stringify(pathToFileURL(join(distDir, 'src', 'localhost', 'index.js')).href)};
const host = await startLocalHost({ port: 0, functionsFile: ${JSON.stringify(join(examplesDir, 'functions.json'))} });
console.log(JSON.stringify({ url: host.url }));
process.once('SIGTERM', () => void host.close().then(() => process.exit(0)));
`;

async function timed(samples: number[], f: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await f();
  samples.push(performance.now() - t0);
}

export async function bench(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const rounds = opts.quick ? 6 : 20;
  const perRound = opts.quick ? 50 : 150;
  const coldRuns = opts.quick ? 5 : 15;

  const body = JSON.stringify({
    statusCode: 200,
    body: JSON.stringify({ counter: 1, tenantId: 'BenchTenant' }),
  });
  const [host, raw] = await Promise.all([startChild(hostCode()), startChild(rawServerCode(body))]);
  const rawUrl = raw.url;
  const rawPool = new Pool(rawUrl, { connections: 1, pipelining: 1 });
  const hostPool = new Pool(host.url, { connections: 1, pipelining: 1 });
  const client = new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const invokePath = '/2015-03-31/functions/counter/invocations';
  const payload = '{}';

  try {
    const rawCall = async (): Promise<void> => {
      const r = await rawPool.request({ path: '/', method: 'POST', body: payload });
      await r.body.text();
    };
    const hostCall = async (): Promise<void> => {
      const r = await hostPool.request({
        path: invokePath,
        method: 'POST',
        body: payload,
        headers: { 'x-amz-tenant-id': 'BenchTenant', 'content-type': 'application/octet-stream' },
      });
      const text = await r.body.text();
      if (r.statusCode !== 200 || r.headers['x-amz-function-error'] !== undefined)
        throw new Error(`invoke failed: ${text}`);
    };
    const sdkCall = async (): Promise<void> => {
      await client.send(
        new InvokeCommand({ FunctionName: 'counter', TenantId: 'BenchTenant', Payload: payload }),
      );
    };

    // Warm-up: start the tenant's environment, JIT the paths.
    for (let i = 0; i < 50; i++) {
      await rawCall();
      await hostCall();
      await sdkCall();
    }
    const rawMs: number[] = [];
    const hostMs: number[] = [];
    const sdkMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Rotate the order so no kind always runs first in a round.
      const kinds: [number[], () => Promise<void>][] = [
        [rawMs, rawCall],
        [hostMs, hostCall],
        [sdkMs, sdkCall],
      ];
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + r) % kinds.length];
        if (kind === undefined) continue;
        const [samples, call] = kind;
        for (let i = 0; i < perRound; i++) await timed(samples, call);
      }
    }
    const envs = (await fetch(`${host.url}/_local/environments`).then((r) => r.json())) as {
      environments: { tenant: string | null }[];
    };
    const warmEnvs = envs.environments.filter((e) => e.tenant === 'BenchTenant').length;

    // Cold starts: recycle the tenant's environment, then invoke.
    const coldMs: number[] = [];
    const initMs: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      await fetch(`${host.url}/_local/evict`, {
        method: 'POST',
        body: JSON.stringify({ function: 'counter', tenant: 'BenchTenant' }),
      }).then((r) => r.text());
      const t0 = performance.now();
      const out = await client.send(
        new InvokeCommand({
          FunctionName: 'counter',
          TenantId: 'BenchTenant',
          Payload: payload,
          LogType: 'Tail',
        }),
      );
      coldMs.push(performance.now() - t0);
      const tail = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
      const m = /Init Duration: ([\d.]+) ms/.exec(tail);
      if (m?.[1] === undefined) throw new Error('cold invoke without Init Duration');
      initMs.push(Number(m[1]));
    }

    const figures = {
      rawHttpMedianMs: median(rawMs),
      hostInvokeMedianMs: median(hostMs),
      sdkInvokeMedianMs: median(sdkMs),
      hostInvokeP99Ms: p(hostMs, 0.99),
      rawHttpP99Ms: p(rawMs, 0.99),
      warmInvokeVsRawRatio: median(hostMs) / median(rawMs),
      sdkInvokeVsRawRatio: median(sdkMs) / median(rawMs),
      warmSamplesPerKind: rawMs.length,
      environmentsUsedWarm: warmEnvs,
      coldStartMedianMs: median(coldMs),
      initDurationMedianMs: median(initMs),
      coldRuns,
      coldVsWarmRatio: median(coldMs) / median(hostMs),
    };
    const f = (n: number): string => n.toFixed(3);
    console.log(
      '\nlocal host: warm invoke vs raw HTTP round trip (sequential, interleaved; each server in its own process)',
    );
    console.table([
      {
        path: 'raw node:http round trip (undici)',
        medianMs: f(figures.rawHttpMedianMs),
        p99Ms: f(figures.rawHttpP99Ms),
        ratio: '1.00',
      },
      {
        path: 'host warm invoke (undici POST)',
        medianMs: f(figures.hostInvokeMedianMs),
        p99Ms: f(figures.hostInvokeP99Ms),
        ratio: figures.warmInvokeVsRawRatio.toFixed(2),
      },
      {
        path: 'host warm invoke (SDK InvokeCommand)',
        medianMs: f(figures.sdkInvokeMedianMs),
        p99Ms: f(p(sdkMs, 0.99)),
        ratio: figures.sdkInvokeVsRawRatio.toFixed(2),
      },
    ]);
    console.log(
      `cold start (evict + invoke, SDK, median of ${coldRuns}): ${figures.coldStartMedianMs.toFixed(1)} ms end to end, ` +
        `Init Duration ${figures.initDurationMedianMs.toFixed(1)} ms; ${figures.coldVsWarmRatio.toFixed(0)}x a warm invoke`,
    );
    return figures;
  } finally {
    client.destroy();
    await rawPool.close();
    await hostPool.close();
    await Promise.all([raw.stop(), host.stop()]);
  }
}
