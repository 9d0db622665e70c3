/**
 * `warmroute/sdk`: call stateful functions by key.
 *
 * ```ts
 * import { affinityInvoke } from 'warmroute/sdk';
 * const { result, state } = await affinityInvoke('blue', { n: 1 }, { functionName: 'counter' });
 * ```
 */
export { affinityInvoke, closeDefaultClient } from './default-client.js';
export {
  createAffinityClient,
  DEFAULT_TIMEOUT_MS,
  MAX_PAYLOAD_BYTES,
  type AffinityClientOptions,
  type CustomTransportClientOptions,
  type EmbeddedClientOptions,
  type HttpClientOptions,
} from './client.js';
export {
  AffinityError,
  FunctionError,
  TransportError,
  type AffinityErrorCode,
  type SdkOnlyErrorCode,
} from './errors.js';
export { defaultSdkRetryPolicy, type SdkRetryPolicy } from './retry-policy.js';
export type { Transport, TransportRequest, TransportResponse } from './transport.js';
export type {
  AffinityClient,
  AffinityResult,
  InvocationState,
  InvokeMode,
  InvokeOptions,
} from './types.js';
