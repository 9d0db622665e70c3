import { Agent as HttpAgent } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import {
  INVOCATION_STATES,
  PROTOCOL_VERSION,
  buildClientContext,
  parseEnvelope,
} from '../../lambda/protocol.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createDependencies } from '../../src/create-dependencies.js';
import {
  driveTimed,
  type TimedArrival,
  type TimedDriveResult,
  type TimedRecord,
} from '../workload/timed-drive.js';
import { WRAPPED_FUNCTION, type ScenarioHost } from './scenario-host.js';
import type { Outcome } from './summarize.js';

/**
 * The timed replays of the budget bench (bench/budget.ts), each against a
 * scenario host in its Lambda-like mode: key-as-tenant through the
 * unmodified SDK, and warmroute in front of the host with a given gateway
 * configuration (strict, budget, budget + keep-warm).
 */

/** A request that did not answer 200, with the HTTP status it ended with (429: throttled). */
export class RequestFailure extends Error {
  override readonly name = 'RequestFailure';
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface TimedRunOptions {
  readonly arrivals: readonly TimedArrival[];
  readonly keyName: (key: number) => string;
  readonly requestTimeoutMs: number;
  readonly onSettled?: (record: TimedRecord<Outcome>) => void;
}

/**
 * Key-as-tenant: what a user of tenant isolation writes by hand — the SDK's
 * InvokeCommand with `TenantId` = the key, the SDK's default retries (its
 * standard mode retries a 429 twice, with backoff). The client context asks
 * the function for its warm-state report, so each answer says hit or cold by
 * the function's own evidence (a measurement aid: the report changes nothing
 * the host does). The socket pool is raised so the client, not the host,
 * never is what queues requests.
 */
export async function runKeyAsTenant(
  scenario: ScenarioHost,
  options: TimedRunOptions,
): Promise<TimedDriveResult<Outcome>> {
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 512 });
  const client = new LambdaClient({
    endpoint: scenario.host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: { httpAgent, requestTimeout: options.requestTimeoutMs },
  });
  const versions = new Map<string, number>();
  try {
    return await driveTimed<Outcome>({
      arrivals: options.arrivals,
      onSettled: options.onSettled,
      request: async (k) => {
        const key = options.keyName(k);
        const context = buildClientContext({
          v: PROTOCOL_VERSION,
          key,
          mode: 'affinity',
          stateVersion: versions.get(key) ?? 0,
          wrap: true,
        });
        let out;
        try {
          out = await client.send(
            new InvokeCommand({
              FunctionName: WRAPPED_FUNCTION,
              TenantId: key,
              Payload: Buffer.from('{}'),
              ClientContext: Buffer.from(JSON.stringify(context)).toString('base64'),
            }),
          );
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
            ?.httpStatusCode;
          throw new RequestFailure(
            status,
            err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          );
        }
        const payload = out.Payload ?? new Uint8Array();
        if (out.FunctionError !== undefined)
          throw new RequestFailure(200, `function error ${out.FunctionError}`);
        const envelope = parseEnvelope(payload);
        if (envelope === undefined) return { state: 'unknown' };
        const { report } = envelope;
        versions.set(key, Math.max(versions.get(key) ?? 0, report.stateVersion));
        return { state: report.state, env: report.env, reason: report.reason };
      },
    });
  } finally {
    client.destroy();
    httpAgent.destroy();
  }
}

/** What the gateway is configured with for one row, beyond its defaults. */
export interface GatewayVariant {
  /**
   * Top-level config fields (`rpcBudget`, …) and per-function fields
   * (`tenantEnvironmentCap`, `idleLifetimeMs`, …), written to a config file
   * (WARMROUTE_CONFIG): plain JSON, so a field this build's schema lacks is
   * refused by the config loader, which is how the bench learns a feature is
   * not there — never by guessing.
   */
  readonly config: Readonly<Record<string, unknown>>;
  readonly functionFields: Readonly<Record<string, unknown>>;
  /** Path requests go to; default the RPC route of the wrapped function. */
  readonly path?: string;
  /** Request headers besides the key (e.g. the isolation domain the budget's `pool` reads). */
  readonly headers?: (key: number) => Readonly<Record<string, string>>;
  /**
   * Evidence the feature ran: a metric the gateway must export for the
   * function after the replay. A config the loader accepts proves only
   * that the setting parses; without this series the row is reported not
   * available rather than shown as the feature's figures.
   */
  readonly expects?: {
    readonly feature: string;
    /** A metric name, or a prefix ending in `*` (any metric of a family). */
    readonly metric: string;
    /** The series' value must equal this (e.g. the cap); default: any series. */
    readonly value?: number;
  };
}

export type GatewayRun =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true;
      readonly result: TimedDriveResult<Outcome>;
      /** Every series of every warmroute_* metric the run moved, by metric name (for the JSON). */
      readonly metrics: Record<
        string,
        { labels: Record<string, string | number | undefined>; value: number }[]
      >;
    };

type MetricSeries = Extract<GatewayRun, { available: true }>['metrics'];

/** Whether `metrics` holds a series of `expected.metric` for the wrapped function (with its value, if given). */
export function featureRan(
  metrics: MetricSeries,
  expected: NonNullable<GatewayVariant['expects']>,
): boolean {
  const prefix = expected.metric.endsWith('*') ? expected.metric.slice(0, -1) : undefined;
  return Object.entries(metrics)
    .filter(([name]) => (prefix === undefined ? name === expected.metric : name.startsWith(prefix)))
    .flatMap(([, values]) => values)
    .some(
      (v) =>
        v.labels['function'] === WRAPPED_FUNCTION &&
        (expected.value === undefined || v.value === expected.value),
    );
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * warmroute in this process in front of the scenario's host (memory
 * directory, its defaults otherwise), RPC route over HTTP with
 * `x-affinity-key`; state and environment from `x-affinity-state` /
 * `x-affinity-env`. A configuration the build refuses makes the run
 * unavailable with the loader's message: nothing is replayed then.
 */
export async function runWarmroute(
  scenario: ScenarioHost,
  variant: GatewayVariant,
  options: TimedRunOptions,
): Promise<GatewayRun> {
  const dir = await mkdtemp(join(tmpdir(), 'warmroute-bench-budget-'));
  try {
    const configFile = join(dir, 'config.json');
    await writeFile(
      configFile,
      JSON.stringify({
        ...variant.config,
        functions: {
          [WRAPPED_FUNCTION]: {
            timeoutSeconds: scenario.shape.timeoutSeconds,
            memoryMb: scenario.shape.memoryMb,
            tenancy: 'PER_TENANT',
            ...variant.functionFields,
          },
        },
      }),
    );
    let config;
    try {
      config = loadConfig({
        WARMROUTE_CONFIG: configFile,
        WARMROUTE_SECRET: 'bench-secret-0123456789abcdef',
        AWS_ENDPOINT_URL_LAMBDA: scenario.host.url,
        PORT: '0',
        WARMROUTE_LOG_LEVEL: 'silent',
      });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      return {
        available: false,
        reason: `this build's config refuses it: ${text.replace(/\s+/g, ' ').slice(0, 300)}`,
      };
    }
    const run = await replay(scenario, config, variant, options);
    const expected = variant.expects;
    if (expected !== undefined) {
      if (!featureRan(run.metrics, expected))
        return {
          available: false,
          reason: `the config was accepted but the gateway exported no ${expected.metric}${expected.value === undefined ? '' : ` = ${expected.value}`} for ${WRAPPED_FUNCTION}: the ${expected.feature} did not run in this build`,
        };
    }
    return { available: true, ...run };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function replay(
  scenario: ScenarioHost,
  config: ReturnType<typeof loadConfig>,
  variant: GatewayVariant,
  options: TimedRunOptions,
): Promise<{
  result: TimedDriveResult<Outcome>;
  metrics: Extract<GatewayRun, { available: true }>['metrics'];
}> {
  const logger = pino({ level: 'silent' });
  const deps = await createDependencies(config, {
    logger,
    endpoint: scenario.host.url,
    defaultMetrics: false,
  });
  const { app } = buildApp(config, { ...deps, logger });
  const agent = new Agent({ connections: 512, pipelining: 1 });
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const path = `${url}${variant.path ?? `/v1/functions/${WRAPPED_FUNCTION}/invoke`}`;
    const result = await driveTimed<Outcome>({
      arrivals: options.arrivals,
      onSettled: options.onSettled,
      request: async (k) => {
        const res = await request(path, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            'content-type': 'application/json',
            'x-affinity-key': options.keyName(k),
            ...variant.headers?.(k),
          },
          body: '{}',
          headersTimeout: options.requestTimeoutMs,
          bodyTimeout: options.requestTimeoutMs,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200)
          throw new RequestFailure(res.statusCode, `HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        const state = header(res.headers['x-affinity-state']);
        return {
          state: INVOCATION_STATES.find((s) => s === state) ?? 'unknown',
          env: header(res.headers['x-affinity-env']),
        };
      },
    });
    const metrics: Record<
      string,
      { labels: Record<string, string | number | undefined>; value: number }[]
    > = {};
    for (const metric of await deps.metrics.registry.getMetricsAsJSON()) {
      // Zeros kept: a series at 0 still shows the feature was set up for the function.
      if (metric.values.length > 0)
        metrics[metric.name] = metric.values.map((v) => ({
          labels: { ...v.labels },
          value: v.value,
        }));
    }
    return { result, metrics };
  } finally {
    await agent.close();
    await app.close();
    await deps.close();
  }
}
