import { INVOCATION_STATES } from '../../lambda/protocol.js';
import type { InvocationState, InvokeMode } from './types.js';

/**
 * The one interface between the client (`createAffinityClient`) and the two
 * ways of reaching a function: over HTTP through a gateway, or embedded
 * (the gateway's request path run in-process). The client validates the key,
 * encodes the payload and owns the deadline; a transport only moves bytes and
 * reports what happened, throwing `AffinityError`s.
 */

export interface TransportRequest {
  readonly functionName: string;
  /** Already validated by the client. */
  readonly key: string;
  readonly mode: InvokeMode;
  /** The payload as JSON bytes. */
  readonly payload: Uint8Array;
  /** Absolute deadline, epoch ms: no attempt starts after it. */
  readonly deadline: number;
  /** Fires at the deadline or when the caller aborts; transports stop work when it does. */
  readonly signal: AbortSignal;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly idempotent: boolean;
}

export interface TransportResponse {
  /** The function's result as JSON bytes (empty when it returned nothing). */
  readonly body: Uint8Array;
  readonly state: InvocationState;
  readonly tenantId: string;
  readonly envId: string | undefined;
  readonly attempts: number;
}

export interface Transport {
  readonly kind: 'http' | 'embedded';
  invoke(request: TransportRequest): Promise<TransportResponse>;
  close(): Promise<void>;
}

/** A state string from the wire; anything unexpected is `unknown` rather than a lie. */
export function toInvocationState(value: unknown): InvocationState {
  return INVOCATION_STATES.find((s) => s === value) ?? 'unknown';
}
