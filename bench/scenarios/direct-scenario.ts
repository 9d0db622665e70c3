import { PROTOCOL_VERSION, buildClientContext, parseEnvelope } from '../../lambda/protocol.js';
import { createLambdaBackend } from '../../src/backend/lambda-backend.js';
import { driveWorkload, type DriveResult, type RequestRecord } from '../workload/drive.js';
import { SHARED_FUNCTION, WRAPPED_FUNCTION, type ScenarioHost } from './scenario-host.js';
import type { Outcome } from './summarize.js';

export interface DirectScenarioOptions {
  /**
   * `none`: the function without tenant isolation (shared environments, the
   * host picks any idle one: what a plain round-robin in front of Lambda
   * gets). `key`: the key itself as TenantId, no per-key serialization.
   */
  readonly tenancy: 'none' | 'key';
  readonly trace: ArrayLike<number>;
  readonly concurrency: number;
  readonly keyName: (key: number) => string;
  readonly requestTimeoutMs: number;
  /** Called as each request settles (progress). */
  readonly onSettled?: (record: RequestRecord<Outcome>) => void;
}

const PAYLOAD = Buffer.from('{}');

/**
 * Invokes the wrapped function straight through the project's Lambda
 * backend (the same client code the gateway uses, so client cost is equal),
 * asking for the warm-state report (`wrap: true`) so every call's state is
 * known by the function's own evidence. Like a directory would, it sends
 * the latest state version seen for the key, so a stale copy in a shared
 * environment is reported as `stale`, never as a hit.
 */
export async function runDirectScenario(
  scenario: ScenarioHost,
  options: DirectScenarioOptions,
): Promise<DriveResult<Outcome>> {
  const backend = createLambdaBackend({
    region: 'us-east-1',
    endpoint: scenario.host.url,
    functionTimeoutMs: () => scenario.shape.timeoutSeconds * 1000,
    connections: options.concurrency * 2,
    pipeline: 'fast',
  });
  const versions = new Map<string, number>();
  try {
    return await driveWorkload<Outcome>({
      trace: options.trace,
      concurrency: options.concurrency,
      onSettled: options.onSettled,
      request: async (k) => {
        const key = options.keyName(k);
        const result = await backend.invoke({
          functionName: options.tenancy === 'key' ? WRAPPED_FUNCTION : SHARED_FUNCTION,
          tenantId: options.tenancy === 'key' ? key : undefined,
          payload: PAYLOAD,
          deadline: Date.now() + options.requestTimeoutMs,
          clientContext: buildClientContext({
            v: PROTOCOL_VERSION,
            key,
            mode: 'affinity',
            stateVersion: versions.get(key) ?? 0,
            wrap: true,
          }),
        });
        if (result.functionError !== undefined) {
          throw new Error(
            `function error ${result.functionError}: ${Buffer.from(result.payload).toString('utf8').slice(0, 200)}`,
          );
        }
        const envelope = parseEnvelope(result.payload);
        if (envelope === undefined) return { state: 'unknown' };
        const { report } = envelope;
        versions.set(key, Math.max(versions.get(key) ?? 0, report.stateVersion));
        return { state: report.state, env: report.env, reason: report.reason };
      },
    });
  } finally {
    await backend.close();
  }
}
