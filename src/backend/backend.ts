/**
 * The one interface the gateway uses to run a function. Implementations:
 * the Lambda backend (lambda-backend.ts, pointed at AWS or at the local host;
 * it invokes through fast-path/ or the SDK's `InvokeCommand`, see
 * fast-path/README.md). Everything above this line is transport-agnostic.
 */

import type { CancelSignal } from '../cancel-signal.js';

export interface InvokeRequest {
  readonly functionName: string;
  /** Lambda TenantId (PER_TENANT functions); omitted for functions without tenancy. */
  readonly tenantId?: string | undefined;
  /** The application's payload, as bytes (JSON for API Gateway proxy events). */
  readonly payload: Uint8Array;
  /** Absolute deadline, epoch milliseconds: no attempt starts after it. */
  readonly deadline: number;
  /** Client context object (JSON-serialisable); sent base64 in X-Amz-Client-Context. */
  readonly clientContext?: unknown;
  /** The same, already base64-encoded (the invoker memoises it per key); wins over `clientContext`. */
  readonly clientContextBase64?: string | undefined;
  /** Ask for the tail of the log (X-Amz-Log-Type: Tail), e.g. to detect cold starts. */
  readonly logTail?: boolean;
  /** The caller's cancellation, read between attempts (an attempt in flight runs to its end). */
  readonly signal?: CancelSignal | undefined;
  /**
   * Called as each retry attempt starts, whatever the final outcome: a
   * request that is retried and then fails still made those attempts.
   */
  readonly onRetry?:
    ((retry: { readonly attempt: number; readonly upstream: string }) => void) | undefined;
  /**
   * Called for each attempt Lambda throttled (429 TooManyRequestsException;
   * not EC2ThrottledException, a VPC network-interface fault), retried or
   * final, with Lambda's `Reason` as it came (maybe absent): the caller
   * bounds it before using it as a label.
   */
  readonly onThrottle?: ((throttle: { readonly reason: unknown }) => void) | undefined;
}

/** The `X-Amz-Client-Context` value of a client context object: base64 of its JSON. */
export function encodeClientContext(context: unknown): string {
  return Buffer.from(JSON.stringify(context)).toString('base64');
}

export interface InvokeResult {
  /** The function's response payload (the function's own result, or its error object). */
  readonly payload: Uint8Array;
  /** Set when the function failed (`Unhandled`, `Handled`): Lambda still answers HTTP 200. */
  readonly functionError?: string | undefined;
  /** Decoded tail of the environment's log when `logTail` was asked. */
  readonly logTail?: string | undefined;
  readonly executedVersion?: string | undefined;
  /** Attempts made (1 + retries after throttling). */
  readonly attempts: number;
  /** Milliseconds from first attempt to result. */
  readonly durationMs: number;
}

export interface Backend {
  invoke(request: InvokeRequest): Promise<InvokeResult>;
  /** Refuses new calls and aborts those in flight (they reject with `WR_ERR_SHUTTING_DOWN`). */
  close(): Promise<void>;
}
