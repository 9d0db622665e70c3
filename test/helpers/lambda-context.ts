import {
  buildClientContext,
  PROTOCOL_VERSION,
  requestKey,
  type WarmEnvelope,
  type WarmReport,
  type WarmScope,
} from '../../lambda/protocol.js';
import { DIRECT_NAMESPACE, type SnapshotScope } from '../../lambda/snapshot-scope.js';

/** The function name gatewayContext() reports (Lambda's `context.functionName`). */
export const TEST_FUNCTION = 'test-fn';
/** The gateway scope gatewayContext() sends unless told otherwise. */
export const TEST_SCOPE: WarmScope = { ns: 'default', epoch: 'test-epoch', gen: 0 };

/** The snapshot scope the library uses for gatewayContext(key, { scope }). */
export function gatewayScope(
  key: string,
  scope: WarmScope = TEST_SCOPE,
  functionName = TEST_FUNCTION,
): SnapshotScope {
  return { functionName, namespace: scope.ns, epoch: scope.epoch, generation: scope.gen, key };
}

/** A Lambda context as the Node runtime hands it over, carrying the gateway's warm request. */
export function gatewayContext(
  key: string,
  opts: {
    stateVersion?: number;
    wrap?: boolean;
    tenantId?: string;
    scope?: WarmScope;
    functionName?: string;
  } = {},
): { tenantId: string; clientContext: unknown; awsRequestId: string; functionName: string } {
  const scope = opts.scope ?? TEST_SCOPE;
  return {
    tenantId: opts.tenantId ?? `t-${key}`,
    awsRequestId: Math.random().toString(16).slice(2),
    functionName: opts.functionName ?? TEST_FUNCTION,
    clientContext: buildClientContext({
      v: PROTOCOL_VERSION,
      key: requestKey(key, scope.gen),
      mode: 'affinity',
      stateVersion: opts.stateVersion ?? 0,
      wrap: opts.wrap ?? true,
      scope,
    }),
  };
}

/** The snapshot scope of a direct invoke's key (directContext() names no function). */
export function directScope(key: string, functionName = ''): SnapshotScope {
  return { functionName, namespace: DIRECT_NAMESPACE, epoch: '', generation: 0, key };
}

/** A direct invoke: no client context. */
export function directContext(tenantId?: string): { tenantId?: string; awsRequestId: string } {
  return tenantId === undefined ? { awsRequestId: 'direct' } : { tenantId, awsRequestId: 'direct' };
}

/** Split an envelope, failing loudly when the value is not one. `R` only names the result type for the test. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function unwrap<R>(value: unknown): { report: WarmReport; result: R } {
  if (typeof value !== 'object' || value === null || !('warmroute/v1' in value)) {
    throw new Error(`not an envelope: ${JSON.stringify(value)}`);
  }
  const env = value as WarmEnvelope<R>;
  return { report: env['warmroute/v1'], result: env.result };
}
