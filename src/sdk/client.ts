import { performance } from 'node:perf_hooks';
import { keyProblem, normalizeKey } from '../directory/validate-key.js';
import { LAMBDA_SYNC_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES } from '../lambda-limits.js';
import { CALL_MODES, DEFAULT_CALL_MODE } from '../routing-mode.js';
import { createEmbeddedTransport, type EmbeddedTransportOptions } from './embedded-transport.js';
import { AffinityError, catalogueMessage } from './errors.js';
import { errorFromThrown } from './error-mapping.js';
import { createHttpTransport, type HttpTransportOptions } from './http-transport.js';
import { timeoutProblem } from './option-checks.js';
import type { Transport } from './transport.js';
import type { AffinityClient, AffinityResult, InvokeMode, InvokeOptions } from './types.js';

/**
 * `createAffinityClient`: the part both transports share. It checks
 * everything it can before any I/O (key, function name, mode, payload), owns
 * the call's deadline and the caller's abort signal, and decodes the result,
 * so the transports only move bytes.
 */

/** Lambda's synchronous payload limit (src/lambda-limits.ts); the gateway's default `WARMROUTE_MAX_PAYLOAD_BYTES`. */
export { MAX_PAYLOAD_BYTES };
export const DEFAULT_TIMEOUT_MS = 30_000;

interface CommonClientOptions {
  /** Function called when a call names none. */
  readonly functionName?: string | undefined;
  /** Default deadline per call (retries and waits included), ms; default 30 000. */
  readonly timeoutMs?: number | undefined;
  /** Default mode; `affinity` unless set. */
  readonly mode?: InvokeMode | undefined;
}

export type HttpClientOptions = CommonClientOptions &
  HttpTransportOptions & { readonly transport?: 'http' };
export type EmbeddedClientOptions = CommonClientOptions &
  EmbeddedTransportOptions & { readonly transport: 'embedded' };
/** Any object implementing the transport interface (another protocol, a test double). */
export type CustomTransportClientOptions = CommonClientOptions & { readonly transport: Transport };

export type AffinityClientOptions =
  HttpClientOptions | EmbeddedClientOptions | CustomTransportClientOptions;

function makeTransport(options: AffinityClientOptions): Transport {
  if (options.transport === 'embedded') return createEmbeddedTransport(options);
  if (options.transport === undefined || options.transport === 'http')
    return createHttpTransport(options);
  return options.transport;
}

function badRequest(why: string): AffinityError {
  return new AffinityError('WR_ERR_BAD_REQUEST', catalogueMessage('WR_ERR_BAD_REQUEST', [why]));
}

function checkTimeout(timeoutMs: number, where: string): number {
  // The same bound the environment reader applies (option-checks.ts).
  const problem = timeoutProblem(timeoutMs);
  if (problem !== undefined) throw badRequest(`${where} ${problem}`);
  return timeoutMs;
}

/**
 * An AbortSignal, checked by shape rather than `instanceof` so a signal from
 * another realm or polyfill still works; anything else would fail later with
 * a plain TypeError instead of an AffinityError.
 */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<
    Record<'aborted' | 'addEventListener' | 'removeEventListener', unknown>
  >;
  return (
    typeof candidate.aborted === 'boolean' &&
    typeof candidate.addEventListener === 'function' &&
    typeof candidate.removeEventListener === 'function'
  );
}

function shuttingDown(): AffinityError {
  return new AffinityError('WR_ERR_SHUTTING_DOWN', 'The client is closed');
}

function encodePayload(payload: unknown): Uint8Array {
  let text: unknown;
  try {
    // No payload is an empty object, like the gateway's RPC route with an empty body.
    // Typed as string, but undefined for a function or a symbol.
    text = JSON.stringify(payload === undefined ? {} : payload);
  } catch (err) {
    throw badRequest(`the payload is not JSON-serialisable (${(err as Error).message})`);
  }
  if (typeof text !== 'string') throw badRequest('the payload is not JSON-serialisable');
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) {
    throw new AffinityError(
      'WR_ERR_PAYLOAD_TOO_LARGE',
      catalogueMessage('WR_ERR_PAYLOAD_TOO_LARGE', [bytes.byteLength, MAX_PAYLOAD_BYTES]),
    );
  }
  return bytes;
}

function decodeResult(body: Uint8Array): unknown {
  if (body.byteLength === 0) return undefined;
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Lambda results are JSON; a function that returned something else still gets its text through.
    return text;
  }
}

/**
 * One call's deadline and cancellation: an AbortSignal that fires at the
 * deadline or when the caller aborts, with the error to report for each.
 * Racing the transport against it means a call never outlives its deadline,
 * even if a transport were slow to notice the signal.
 */
function createCallScope(timeoutMs: number, callerSignal: AbortSignal | undefined) {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new AffinityError('WR_ERR_DEADLINE', catalogueMessage('WR_ERR_DEADLINE', [timeoutMs]), {
        details: { timeoutMs, source: 'client' },
      }),
    );
  }, timeoutMs);
  const onCallerAbort = (): void => {
    controller.abort(
      new AffinityError('WR_ERR_ABORTED', 'The call was aborted by the caller', {
        cause: callerSignal?.reason,
      }),
    );
  };
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener(
      'abort',
      () => {
        reject(controller.signal.reason as Error);
      },
      { once: true },
    );
  });
  // Only observed through race(); never an unhandled rejection.
  aborted.catch(() => undefined);

  return {
    signal: controller.signal,
    /** Ends the call now with `error` (close() uses it for calls in flight). */
    abort(error: AffinityError): void {
      controller.abort(error);
    },
    race<T>(work: Promise<T>): Promise<T> {
      // The loser's rejection is expected and deliberately ignored.
      work.catch(() => undefined);
      return Promise.race([work, aborted]);
    },
    toError(err: unknown): AffinityError {
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && reason instanceof AffinityError) return reason;
      return errorFromThrown(err);
    },
    dispose(): void {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

export function createAffinityClient(options: AffinityClientOptions): AffinityClient {
  const defaultTimeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
  const transport = makeTransport(options);
  let closed = false;
  // Calls in flight, so close() can end them at once instead of waiting for
  // each to reach its deadline (a hung gateway would hold close() that long).
  const inFlight = new Set<ReturnType<typeof createCallScope>>();

  async function invoke<TResult = unknown>(
    rawKey: string,
    payload?: unknown,
    callOptions: InvokeOptions = {},
  ): Promise<AffinityResult<TResult>> {
    const started = performance.now();
    if (closed) throw shuttingDown();
    // Every check below happens before any network call. The key is
    // normalised as the gateway normalises it (src/directory/validate-key.ts),
    // so both transports name the same key for the same text.
    const key = typeof rawKey === 'string' ? normalizeKey(rawKey) : rawKey;
    const problem = keyProblem(key);
    if (problem !== undefined) {
      throw new AffinityError(
        'WR_ERR_KEY_INVALID',
        catalogueMessage('WR_ERR_KEY_INVALID', [problem]),
      );
    }
    const functionName = callOptions.functionName ?? options.functionName;
    if (functionName === undefined || functionName === '') {
      throw badRequest(
        "no function name: pass options.functionName or set the client's functionName",
      );
    }
    const requested: unknown = callOptions.mode ?? options.mode ?? DEFAULT_CALL_MODE;
    const mode = CALL_MODES.find((m) => m === requested);
    if (mode === undefined) throw badRequest(`mode must be ${CALL_MODES.join(' or ')}`);
    const timeoutMs =
      callOptions.timeoutMs === undefined
        ? defaultTimeoutMs
        : checkTimeout(callOptions.timeoutMs, 'options.timeoutMs');
    const bytes = encodePayload(payload);
    const callerSignal: unknown = callOptions.signal;
    if (callerSignal !== undefined && !isAbortSignal(callerSignal)) {
      throw badRequest('options.signal must be an AbortSignal');
    }
    if (callOptions.signal?.aborted === true) {
      throw new AffinityError('WR_ERR_ABORTED', 'The call was aborted by the caller', {
        cause: callOptions.signal.reason,
      });
    }

    const scope = createCallScope(timeoutMs, callOptions.signal);
    inFlight.add(scope);
    try {
      const response = await scope.race(
        transport.invoke({
          functionName,
          key,
          mode,
          payload: bytes,
          deadline: Date.now() + timeoutMs,
          signal: scope.signal,
          headers: callOptions.headers,
          idempotent: callOptions.idempotent === true,
        }),
      );
      return {
        result: decodeResult(response.body) as TResult,
        state: response.state,
        envId: response.envId,
        tenantId: response.tenantId,
        durationMs: performance.now() - started,
        attempts: response.attempts,
      };
    } catch (err) {
      throw scope.toError(err);
    } finally {
      inFlight.delete(scope);
      scope.dispose();
    }
  }

  return {
    invoke,
    async close() {
      if (closed) return;
      closed = true;
      // Aborting fires each call's signal: the transport stops its request
      // (HTTP) or its queued/running invocation (embedded), and the call
      // rejects with WR_ERR_SHUTTING_DOWN, before the transport is closed.
      for (const scope of inFlight) scope.abort(shuttingDown());
      await transport.close();
    },
  };
}
