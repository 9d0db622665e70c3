import { InvokeCommand, LambdaClient, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { CancelSignal } from '../cancel-signal.js';
import { WarmrouteError } from '../errors.js';
import {
  encodeClientContext,
  type Backend,
  type InvokeRequest,
  type InvokeResult,
} from './backend.js';
import { errorName, mapLambdaError } from './error-mapping.js';
import { FastInvoker, type FastInvokeOutput } from './fast-path/fast-invoke.js';
import { parseRetryAfter } from '../retry/retry-after.js';
import { abortReason, sleep } from '../retry/sleep.js';
import {
  decideRetry,
  defaultRetryPolicy,
  type FailureInfo,
  type RetryPolicy,
} from './retry-policy.js';
import {
  defaultUndiciHandlerConfig,
  UndiciRequestHandler,
} from './fast-path/undici-request-handler.js';

/** The logging calls the backend makes (a pino logger fits). */
export interface BackendLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LambdaBackendOptions {
  /**
   * Invoke API endpoint (the config's `lambdaEndpoint`, or a local host's
   * URL). Unset: whatever the SDK resolves (AWS, unless the SDK's own
   * `AWS_ENDPOINT_URL` or config file names another; then no loopback
   * credentials are supplied). The backend reads no environment variable:
   * the gateway's setting `AWS_ENDPOINT_URL_LAMBDA` is read by the config loader.
   */
  readonly endpoint?: string | undefined;
  /** AWS region (`AWS_REGION`; the config's default): required, so no second default lives here. */
  readonly region: string;
  /** Unset: static dummy credentials for a loopback endpoint, else the SDK's default provider chain. */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;
  /** Retry policy overrides (see retry-policy.ts). */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * Configured timeout of a function, ms. It does not bound the wait (an
   * invocation can take longer than its function's timeout: an init, a wait
   * for an environment on a busy host); the client waits until the request
   * deadline. It is used to warn, once per function, when a request's whole
   * budget is shorter than the function may run: such calls are answered 504
   * while the function still runs.
   */
  readonly functionTimeoutMs?: ((functionName: string) => number | undefined) | undefined;
  /**
   * Pooled connections per endpoint: at most this many Invokes are on the
   * wire at once, the others wait for a connection. The gateway passes its
   * `globalConcurrency` (see `createDependencies`).
   */
  readonly connections: number;
  readonly logger?: BackendLogger | undefined;
  /**
   * The config setting `WARMROUTE_LAMBDA_PIPELINE` (its default lives in the
   * config schema). `fast`: the SDK's credentials, endpoint rules and error
   * classes without its per-call middleware (src/backend/fast-path/README.md).
   * `sdk`: `client.send(new InvokeCommand())` through the same undici
   * handler, no SDK internals.
   */
  readonly pipeline: 'fast' | 'sdk';
  /**
   * `none`: the fast path sends Invokes unsigned, without a user agent or
   * content type: about 350 bytes and five headers fewer, no SigV4 (for the
   * gateway's own embedded local host, which reads none of them; see
   * `createDependencies`' `endpointIsEmbeddedLocalHost`). Refused unless the
   * endpoint is a loopback address and no credentials are given: a receiver
   * that may read a signature (AWS, or a loopback emulator that takes the
   * region from the credential scope) always gets one. The sdk pipeline
   * always signs. Unset: `sigv4`.
   */
  readonly signing?: 'sigv4' | 'none' | undefined;
  /** Injected for tests. */
  readonly random?: (() => number) | undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined || endpoint === '') return false;
  try {
    const host = new URL(endpoint).hostname;
    return (
      LOOPBACK_HOSTS.has(host) ||
      /^127\.\d+\.\d+\.\d+$/.test(host) ||
      // IPv4-mapped 127.x as the URL parser writes it (`::ffff:127.0.0.1` → `[::ffff:7f00:1]`).
      /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
    );
  } catch {
    return false;
  }
}

/**
 * Credentials for a local host: it checks no signature, and the SDK needs some
 * to sign. A provider returning a fresh object, because the SDK annotates the
 * identity it gets (a frozen object makes it throw).
 */
const loopbackCredentials: AwsCredentialIdentityProvider = () =>
  Promise.resolve({ accessKeyId: 'warmroute-local', secretAccessKey: 'warmroute-local' });

interface SdkErrorView {
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  retryAfterSeconds?: unknown;
}

function failureOf(err: unknown, now: number): FailureInfo {
  const view = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorView;
  const statusCode =
    view.$metadata?.httpStatusCode ?? (view.$response === undefined ? undefined : 0);
  const retryAfterSeconds =
    parseRetryAfter(view.retryAfterSeconds, now) ??
    parseRetryAfter(view.$response?.headers?.['retry-after'], now);
  // An answer from Lambda (status known) means the service decided; no answer means the
  // request may have been delivered and the function may be running.
  const connectFailure =
    err instanceof Error &&
    /ECONNREFUSED|ConnectTimeout|ENOTFOUND|EAI_AGAIN/.test(
      `${err.name} ${String((err as { code?: unknown }).code)}`,
    );
  return {
    name: errorName(err),
    statusCode: statusCode === 0 ? undefined : statusCode,
    retryAfterSeconds,
    mayHaveRun: statusCode === undefined && !connectFailure,
  };
}

/** Lambda's `Reason` on a TooManyRequestsException (the SDK's `err.Reason`), unvalidated. */
function throttleReasonOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { Reason?: unknown }).Reason : undefined;
}

const textDecoder = new TextDecoder();

/** A function, so TypeScript does not narrow `aborted` across awaits. */
function isAborted(signal: CancelSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** undici's response timeouts (and the SDK handler's name for them). */
function isTimeout(err: unknown): boolean {
  return (
    err instanceof Error && /^(HeadersTimeoutError|BodyTimeoutError|TimeoutError)$/.test(err.name)
  );
}

/**
 * Added to the request deadline before an in-flight attempt is aborted, ms:
 * not a setting, the slack that lets an answer already on the wire arrive.
 */
const DEADLINE_MARGIN_MS = 50;

/** What a Lambda backend runs with, as built (read-only; for tests and diagnostics). */
export interface LambdaBackendSettings {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly pipeline: 'fast' | 'sdk';
  readonly connections: number;
}

export interface LambdaBackend extends Backend {
  /** The settings it was built with: every part of the backend is built from this object. */
  readonly settings: LambdaBackendSettings;
}

export function createLambdaBackend(options: LambdaBackendOptions): LambdaBackend {
  const settings: LambdaBackendSettings = Object.freeze({
    endpoint: options.endpoint,
    region: options.region,
    pipeline: options.pipeline,
    connections: options.connections,
  });
  const signing = options.signing ?? 'sigv4';
  if (
    signing === 'none' &&
    (!isLoopbackEndpoint(settings.endpoint) || options.credentials !== undefined)
  ) {
    throw new Error(
      `Lambda backend: unsigned Invokes are only for the embedded local host on a loopback endpoint without credentials (endpoint ${String(settings.endpoint)}${options.credentials === undefined ? '' : ', credentials given'})`,
    );
  }
  const policy: RetryPolicy = Object.freeze({ ...defaultRetryPolicy, ...options.retry });
  const random = options.random ?? Math.random;
  const logger = options.logger;
  const credentials =
    options.credentials ??
    (isLoopbackEndpoint(settings.endpoint) ? loopbackCredentials : undefined);

  const handler = new UndiciRequestHandler({ connections: settings.connections });
  // Created once: the SDK resolves credentials, region and endpoint config here.
  const client = new LambdaClient({
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    region: settings.region,
    ...(credentials === undefined ? {} : { credentials }),
    requestHandler: handler,
    // Retries are ours (deadline-bounded, throttling only); the SDK's would not know the deadline.
    maxAttempts: 1,
    cacheMiddleware: true,
  });
  const useSdk = settings.pipeline === 'sdk';
  // Not built for the sdk pipeline: that one must keep working when an SDK upgrade breaks the
  // internals the fast path reads (FastInvoker checks them as it is built).
  const fast = useSdk
    ? undefined
    : new FastInvoker(client, {
        connections: settings.connections,
        keepAliveTimeout: defaultUndiciHandlerConfig.keepAliveTimeout,
        connectTimeout: defaultUndiciHandlerConfig.connectTimeout,
        signing,
      });
  let closed = false;
  /** A function, so TypeScript does not narrow `closed` across awaits. */
  const isClosed = (): boolean => closed;
  /** Functions already warned about (bounded: names may come from requests). */
  const warnedShortBudget = new Set<string>();

  function warnIfBudgetShort(functionName: string, budgetMs: number): void {
    if (logger === undefined || warnedShortBudget.has(functionName)) return;
    const functionTimeout = options.functionTimeoutMs?.(functionName);
    if (functionTimeout === undefined || budgetMs >= functionTimeout) return;
    if (warnedShortBudget.size < 1_000) warnedShortBudget.add(functionName);
    logger.warn(
      { functionName, budgetMs, functionTimeoutMs: functionTimeout },
      'request deadline shorter than the function timeout: longer calls get 504 while the function still runs',
    );
  }

  async function viaSdk(
    request: InvokeRequest,
    clientContext: string | undefined,
    abortSignal: AbortSignal | undefined,
    requestTimeout: number,
  ): Promise<FastInvokeOutput> {
    const input: InvokeCommandInput = {
      FunctionName: request.functionName,
      InvocationType: 'RequestResponse',
      Payload: request.payload,
      ...(request.tenantId === undefined ? {} : { TenantId: request.tenantId }),
      ...(request.logTail === true ? { LogType: 'Tail' as const } : {}),
      ...(clientContext === undefined ? {} : { ClientContext: clientContext }),
    };
    const out = await client.send(new InvokeCommand(input), { abortSignal, requestTimeout });
    return {
      StatusCode: out.StatusCode ?? 200,
      Payload: out.Payload ?? new Uint8Array(0),
      FunctionError: out.FunctionError,
      LogResult: out.LogResult,
      ExecutedVersion: out.ExecutedVersion,
    };
  }

  async function invoke(request: InvokeRequest): Promise<InvokeResult> {
    if (closed) throw new WarmrouteError('WR_ERR_SHUTTING_DOWN');
    const started = Date.now();
    const budgetMs = Math.max(0, request.deadline - started);
    const clientContext =
      request.clientContextBase64 ??
      (request.clientContext === undefined
        ? undefined
        : encodeClientContext(request.clientContext));

    warnIfBudgetShort(request.functionName, budgetMs);
    /** `err.name` of the failure the current attempt retries. */
    let retrying = '';

    for (let attemptNo = 1; ; attemptNo++) {
      const now = Date.now();
      if (now >= request.deadline) throw new WarmrouteError('WR_ERR_DEADLINE', [budgetMs]);
      if (request.signal?.aborted === true) throw abortReason(request.signal);
      // Reported when the retry is really made (not when it is planned: the wait may end past
      // the deadline), so a count of these is the attempts beyond the first.
      if (attemptNo > 1) request.onRetry?.({ attempt: attemptNo, upstream: retrying });
      // The one client-side timeout is the request deadline. It used to be the function's
      // timeout + 2 s, shorter than what an invocation may take (an init, a queue for an
      // environment on a busy host): calls the host then completed were answered 502
      // HeadersTimeoutError. The sdk pipeline gets the deadline as an AbortSignal (what the
      // SDK offers). The fast path gives undici the remaining time as its response timeout: same effect,
      // without an AbortController, a timer and abort listeners per request (measured ~10 %
      // of the per-invoke CPU). The fast path reads the caller's signal only between attempts
      // (before each one, and during a retry delay): an attempt in flight is not cancelled,
      // since cancelling stops neither the function nor its billing and would cost the
      // keep-alive connection — and listening would cost a listener per call.
      const untilDeadline = request.deadline - now + DEADLINE_MARGIN_MS;
      const controller = useSdk ? new AbortController() : undefined;
      const timer =
        controller === undefined
          ? undefined
          : setTimeout(() => {
              controller.abort(new WarmrouteError('WR_ERR_DEADLINE', [budgetMs]));
            }, untilDeadline);
      // The sdk pipeline only: the fast path allocates no listener per attempt.
      const onCallerAbort =
        controller === undefined
          ? undefined
          : (): void => {
              controller.abort(abortReason(request.signal));
            };
      if (onCallerAbort !== undefined)
        request.signal?.addEventListener('abort', onCallerAbort, { once: true });
      let out: FastInvokeOutput;
      try {
        out =
          fast !== undefined
            ? await fast.invoke({
                functionName: request.functionName,
                tenantId: request.tenantId,
                payload: request.payload,
                clientContext,
                logTail: request.logTail === true,
                timeoutMs: untilDeadline,
              })
            : await viaSdk(request, clientContext, controller?.signal, untilDeadline);
      } catch (err) {
        // close() aborted the call: whatever the transport raised, the answer is the shutdown.
        if (isClosed()) throw new WarmrouteError('WR_ERR_SHUTTING_DOWN', [], { cause: err });
        if (controller?.signal.aborted === true) {
          // Our deadline or the caller's abort, whatever error the transport raised for it.
          const reason: unknown = controller.signal.reason;
          throw reason instanceof Error
            ? reason
            : new WarmrouteError('WR_ERR_DEADLINE', [budgetMs]);
        }
        if (isAborted(request.signal)) throw abortReason(request.signal);
        // The transport's only timeout is the deadline's: whenever it fires, the deadline
        // passed (an undici timer can run a little early or late), never a transport fault.
        if (isTimeout(err)) {
          throw new WarmrouteError('WR_ERR_DEADLINE', [budgetMs], { cause: err });
        }
        const failure = failureOf(err, Date.now());
        const decision = decideRetry(policy, failure, {
          attempt: attemptNo,
          now: Date.now(),
          deadline: request.deadline,
          random,
        });
        // Every 429 attempt is reported, retried or not: the cap and concurrency limits show up
        // as retries long before a request finally ends throttled. EC2ThrottledException (502,
        // a VPC function's network interfaces) is no invocation throttle and has no Reason.
        if (failure.name === 'TooManyRequestsException' || failure.statusCode === 429)
          request.onThrottle?.({ reason: throttleReasonOf(err) });
        if (!decision.retry) {
          logger?.debug(
            {
              functionName: request.functionName,
              attempts: attemptNo,
              upstream: failure.name,
              reason: decision.reason,
            },
            'lambda invoke failed',
          );
          throw mapLambdaError(err, {
            functionName: request.functionName,
            payloadBytes: request.payload.byteLength,
            throttled: decision.throttled && decision.reason !== 'not-retryable',
            retryAfterSeconds: decision.retryAfterSeconds,
          });
        }
        logger?.warn(
          {
            functionName: request.functionName,
            attempt: attemptNo,
            upstream: failure.name,
            delayMs: decision.delayMs,
          },
          'lambda invoke retried',
        );
        retrying = failure.name;
        await sleep(decision.delayMs, request.signal);
        continue;
      } finally {
        if (onCallerAbort !== undefined) {
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', onCallerAbort);
        }
      }
      return {
        payload: out.Payload,
        functionError: out.FunctionError,
        logTail:
          out.LogResult === undefined
            ? undefined
            : textDecoder.decode(Buffer.from(out.LogResult, 'base64')),
        executedVersion: out.ExecutedVersion,
        attempts: attemptNo,
        durationMs: Date.now() - started,
      };
    }
  }

  return {
    settings,
    invoke,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // Calls still in flight are aborted: the gateway closes its backend after
      // its drain has answered every request, so no one waits for them, and
      // waiting would hold shutdown up to a hung function's timeout.
      await Promise.all([fast?.close(), handler.abort()]);
    },
  };
}
