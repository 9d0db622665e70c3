import { errorCatalogue, type ErrorCode } from '../errors.js';
import type { InvocationState } from './types.js';

/**
 * The SDK's typed errors. Every error the SDK throws is an `AffinityError`
 * whose `code` is the gateway's `WR_ERR_*` code (the same catalogue the
 * gateway answers with), so callers branch on `code` or on the class, never
 * on message text:
 *
 * - `FunctionError`: the function ran and failed (`WR_ERR_FUNCTION_ERROR`);
 *   carries the function's `errorType`.
 * - `TransportError`: no usable answer came back (connection refused or
 *   reset, unreadable response); `mayHaveRun` says whether the request may
 *   have reached the function.
 * - plain `AffinityError`: the gateway (or, embedded, the same request path)
 *   refused or failed the call: bad key, throttled, deadline, …
 *
 * Both transports map to these classes, so code written against one works
 * with the other.
 */

/** Codes that only the SDK produces (no gateway response to carry a catalogue code). */
export type SdkOnlyErrorCode =
  /** Connection refused/reset, or a response that is not the gateway's. */
  | 'WR_ERR_TRANSPORT'
  /** The caller's `AbortSignal` fired. */
  | 'WR_ERR_ABORTED'
  /** No default client: `WARMROUTE_URL` unset and no client created. */
  | 'WR_ERR_NOT_CONFIGURED';

export type AffinityErrorCode = ErrorCode | SdkOnlyErrorCode;

export interface AffinityErrorOptions {
  readonly status?: number | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  readonly cause?: unknown;
}

export class AffinityError extends Error {
  readonly code: AffinityErrorCode;
  /**
   * HTTP status of the gateway's answer; for errors raised in-process
   * (embedded transport, local key check, client deadline) the catalogue's
   * status for the code, so both transports report the same. Undefined for
   * SDK-only codes.
   */
  readonly status: number | undefined;
  /** Seconds the gateway asked the caller to wait (429/503 `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;
  /** Extra machine-readable detail from the gateway's error body. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AffinityErrorCode, message: string, options: AffinityErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'AffinityError';
    this.code = code;
    this.status =
      options.status ?? (isCatalogueCode(code) ? errorCatalogue[code].status : undefined);
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details ?? {};
  }
}

export interface FunctionErrorOptions extends AffinityErrorOptions {
  readonly errorType: string;
  readonly errorMessage?: string | undefined;
  readonly tenantId?: string | undefined;
  readonly state?: InvocationState | undefined;
  readonly envId?: string | undefined;
}

/** The function ran and threw (or timed out inside Lambda): not a transport problem. */
export class FunctionError extends AffinityError {
  /** The function's `errorType` (`TypeError`, `Sandbox.Timedout`, a custom error name, …). */
  readonly errorType: string;
  /** The function's `errorMessage`, when the transport has it (embedded always; HTTP when the gateway forwards it). */
  readonly errorMessage: string | undefined;
  readonly tenantId: string | undefined;
  readonly state: InvocationState | undefined;
  readonly envId: string | undefined;

  constructor(message: string, options: FunctionErrorOptions) {
    super('WR_ERR_FUNCTION_ERROR', message, options);
    this.name = 'FunctionError';
    this.errorType = options.errorType;
    this.errorMessage = options.errorMessage;
    this.tenantId = options.tenantId;
    this.state = options.state;
    this.envId = options.envId;
  }
}

export interface TransportErrorOptions extends AffinityErrorOptions {
  /** True when the request may have reached the function (sent, then the connection failed). */
  readonly mayHaveRun: boolean;
  /** Low-level code of the cause (`ECONNREFUSED`, `UND_ERR_SOCKET`, …) or `BAD_RESPONSE`. */
  readonly causeCode?: string | undefined;
}

/** No usable answer from the gateway: connection refused/reset, or a response that is not the gateway's. */
export class TransportError extends AffinityError {
  readonly mayHaveRun: boolean;
  readonly causeCode: string | undefined;

  constructor(message: string, options: TransportErrorOptions) {
    super('WR_ERR_TRANSPORT', message, options);
    this.name = 'TransportError';
    this.mayHaveRun = options.mayHaveRun;
    this.causeCode = options.causeCode;
  }
}

export function isCatalogueCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}

/** Catalogue message for a code, filled like the gateway fills it. */
export function catalogueMessage(code: ErrorCode, args: readonly (string | number)[]): string {
  let i = 0;
  return errorCatalogue[code].message.replace(/%s/g, () => String(args[i++] ?? ''));
}
