/**
 * Public types of the SDK (`warmroute/sdk`). Kept free of runtime imports so
 * the declarations a user's compiler reads stay small (the imports below are
 * type-only).
 */
import type { InvocationState } from '../../lambda/protocol.js';
import type { CallMode } from '../routing-mode.js';

/** What happened to the key's state on this call (the gateway's `x-affinity-state`); defined by the wire protocol. */
export type { InvocationState };

/** `affinity`: a stable environment per key; `fresh`: a brand-new environment for this call. */
export type InvokeMode = CallMode;

export interface InvokeOptions {
  /** Function to call; defaults to the client's `functionName`. */
  readonly functionName?: string | undefined;
  readonly mode?: InvokeMode | undefined;
  /**
   * Deadline for the whole call, retries and waits included, in ms. Default:
   * the client's `timeoutMs`.
   */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Extra request headers (HTTP transport only; ignored by the embedded transport). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * The call is safe to run twice: allow a retry after a failure where the
   * function may already have run (502 backend error, 504, connection reset
   * after sending). Default false: such a call is never retried.
   */
  readonly idempotent?: boolean | undefined;
}

export interface AffinityResult<TResult> {
  /** The function's result (its JSON response, parsed). */
  readonly result: TResult;
  readonly state: InvocationState;
  /** Environment id the function reported (functions using `withWarmState`); undefined otherwise. */
  readonly envId: string | undefined;
  /** The tenant ID the key resolved to. */
  readonly tenantId: string;
  /** Milliseconds the call took as seen by the caller (retries and waits included). */
  readonly durationMs: number;
  /** Attempts made (1 unless a retryable failure was retried). */
  readonly attempts: number;
}

export interface AffinityClient {
  invoke<TResult = unknown>(
    key: string,
    payload?: unknown,
    options?: InvokeOptions,
  ): Promise<AffinityResult<TResult>>;
  /** Release connections (HTTP) or the directory, scheduler and backend (embedded). */
  close(): Promise<void>;
}
