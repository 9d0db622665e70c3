import { pino } from 'pino';
import { INVOCATION_STATES } from '../../lambda/protocol.js';
import { Agent, request } from 'undici';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createDependencies } from '../../src/create-dependencies.js';
import { driveWorkload, type DriveResult, type RequestRecord } from '../workload/drive.js';
import { WRAPPED_FUNCTION, type ScenarioHost } from './scenario-host.js';
import type { Outcome } from './summarize.js';

export interface GatewayScenarioOptions {
  readonly trace: ArrayLike<number>;
  readonly concurrency: number;
  readonly keyName: (key: number) => string;
  /** Called as each request settles (progress). */
  readonly onSettled?: (record: RequestRecord<Outcome>) => void;
}

export interface GatewayScenarioResult extends DriveResult<Outcome> {
  /** Time requests spent waiting for their key's turn (the cost of per-key serialization). */
  readonly queueWait: {
    readonly count: number;
    readonly sumMs: number;
    readonly maxBucketMs: number | undefined;
  };
  /** Why calls were not hits, as the gateway counted them from the reports (reason → count). */
  readonly missReasons: Record<string, number>;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * warmroute with its defaults (memory directory, per-key serialization,
 * default queue and concurrency limits) in this process, in front of the
 * scenario's host; clients call the RPC route over HTTP with
 * `x-affinity-key`, and read the state the function reported from
 * `x-affinity-state` / `x-affinity-env`.
 */
export async function runGatewayScenario(
  scenario: ScenarioHost,
  options: GatewayScenarioOptions,
): Promise<GatewayScenarioResult> {
  const config = loadConfig(
    {
      WARMROUTE_SECRET: 'bench-secret-0123456789abcdef',
      AWS_ENDPOINT_URL_LAMBDA: scenario.host.url,
      PORT: '0',
      WARMROUTE_LOG_LEVEL: 'silent',
    },
    {
      overrides: {
        functions: {
          [WRAPPED_FUNCTION]: {
            timeoutSeconds: scenario.shape.timeoutSeconds,
            memoryMb: scenario.shape.memoryMb,
            tenancy: 'PER_TENANT',
          },
        },
      },
    },
  );
  const logger = pino({ level: 'silent' });
  const deps = await createDependencies(config, {
    logger,
    endpoint: scenario.host.url,
    defaultMetrics: false,
  });
  const { app } = buildApp(config, { ...deps, logger });
  const agent = new Agent({ connections: options.concurrency * 2, pipelining: 1 });
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const path = `/v1/functions/${WRAPPED_FUNCTION}/invoke`;
    const result = await driveWorkload<Outcome>({
      trace: options.trace,
      concurrency: options.concurrency,
      onSettled: options.onSettled,
      request: async (k) => {
        const res = await request(`${url}${path}`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'x-affinity-key': options.keyName(k) },
          body: '{}',
        });
        const text = await res.body.text();
        if (res.statusCode !== 200)
          throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        const state = header(res.headers['x-affinity-state']);
        return {
          state: INVOCATION_STATES.find((s) => s === state) ?? 'unknown',
          env: header(res.headers['x-affinity-env']),
        };
      },
    });
    const queueWait = await readQueueWait(deps.metrics);
    const missReasons: Record<string, number> = {};
    for (const v of (await deps.metrics.misses.get()).values) {
      const reason = String(v.labels['reason'] ?? 'unknown');
      missReasons[reason] = (missReasons[reason] ?? 0) + v.value;
    }
    return { ...result, queueWait, missReasons };
  } finally {
    await agent.close();
    await app.close();
    await deps.close();
  }
}

type Metrics = Awaited<ReturnType<typeof createDependencies>>['metrics'];

/** Count and sum of the gateway's queue-wait histogram, and the bucket bounding the longest wait (seconds → ms). */
async function readQueueWait(metrics: Metrics): Promise<GatewayScenarioResult['queueWait']> {
  const data = await metrics.queueWait.get();
  let count = 0;
  let sum = 0;
  const buckets: { le: number; cumulative: number }[] = [];
  for (const v of data.values) {
    const name = v.metricName ?? '';
    if (name.endsWith('_count')) count = v.value;
    else if (name.endsWith('_sum')) sum = v.value;
    else if (name.endsWith('_bucket') && typeof v.labels['le'] === 'number') {
      buckets.push({ le: v.labels['le'], cumulative: v.value });
    }
  }
  const bound = buckets.find((b) => b.cumulative >= count);
  return {
    count,
    sumMs: sum * 1000,
    maxBucketMs: count === 0 || bound === undefined ? undefined : bound.le * 1000,
  };
}
