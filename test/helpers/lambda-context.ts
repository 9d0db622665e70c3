import {
  buildClientContext,
  PROTOCOL_VERSION,
  type WarmEnvelope,
  type WarmReport,
} from '../../lambda/protocol.js';

/** A Lambda context as the Node runtime hands it over, carrying the gateway's warm request. */
export function gatewayContext(
  key: string,
  opts: { stateVersion?: number; wrap?: boolean; tenantId?: string } = {},
): { tenantId: string; clientContext: unknown; awsRequestId: string } {
  return {
    tenantId: opts.tenantId ?? `t-${key}`,
    awsRequestId: Math.random().toString(16).slice(2),
    clientContext: buildClientContext({
      v: PROTOCOL_VERSION,
      key,
      mode: 'affinity',
      stateVersion: opts.stateVersion ?? 0,
      wrap: opts.wrap ?? true,
    }),
  };
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
