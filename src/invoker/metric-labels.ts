import * as lambdaSdk from '@aws-sdk/client-lambda';
import { MISS_REASONS } from '../../lambda/protocol.js';
import { errorCatalogue, WarmrouteError, type ErrorCode } from '../errors.js';

/**
 * Bounds for every metric label value that a function or a client can
 * influence. `fresh` mode exists to run untrusted code, so a function's
 * error names, a client's function names and a function's warm report must
 * never mint an unbounded number of series: each label takes a value from a
 * known set, or `other`.
 */

/** The overflow value of every bounded label. */
export const OTHER_LABEL = 'other';

/**
 * Function names that get their own series when the config has no
 * allow-list (names then come from requests); later ones are counted as
 * `other`. A fixed bound, not a setting: it only keeps clients from growing
 * the series count. With an allow-list every configured name has its series.
 */
export const MAX_FUNCTION_LABELS = 100;

/**
 * Route labels come from code and configuration (`rpc`, `sdk`, a proxy
 * route's prefix), never from a request; the cap is a backstop only.
 */
export const MAX_ROUTE_LABELS = 1_000;

/**
 * `errorType` values the Lambda service and AWS's Node runtime report
 * (`Runtime.*`, `Sandbox.*`, `Function.*`), listed rather than matched by
 * prefix: a prefix would let a function mint `Runtime.<anything>`.
 */
const LAMBDA_RUNTIME_ERROR_TYPES = [
  'Runtime.CallbackHandlerDeprecated',
  'Runtime.ExitError',
  'Runtime.HandlerNotFound',
  'Runtime.ImportModuleError',
  'Runtime.InitTimeout',
  'Runtime.InvalidEntrypoint',
  'Runtime.InvalidResponseModeHeader',
  'Runtime.InvalidRuntime',
  'Runtime.InvalidWorkingDirectory',
  'Runtime.MalformedHandlerName',
  'Runtime.MalformedStreamingHandler',
  'Runtime.OutOfMemory',
  'Runtime.StartError',
  'Runtime.TruncatedResponse',
  'Runtime.UncaughtException',
  'Runtime.UnhandledPromiseRejection',
  'Runtime.Unknown',
  'Runtime.UserCodeSyntaxError',
  'Sandbox.Timedout',
  'Function.ResponseSizeTooLarge',
  // X-Amz-Function-Error values, used when the error object names no type.
  'Unhandled',
  'Handled',
] as const;

/** JavaScript's own error classes (what `err.name` is for most thrown errors). */
const JS_ERROR_TYPES = [
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'AbortError',
  'TimeoutError',
  'UnknownError',
] as const;

/** undici's transport error names (a socket failure or timeout after sending). */
const TRANSPORT_ERROR_TYPES = [
  'BodyTimeoutError',
  'ConnectTimeoutError',
  'HeadersTimeoutError',
  'HeadersOverflowError',
  'InformationalError',
  'RequestContentLengthMismatchError',
  'ResponseContentLengthMismatchError',
  'SocketError',
  'ClientDestroyedError',
  'ClientClosedError',
  'RequestAbortedError',
] as const;

/**
 * The Lambda API's modelled exceptions, read from the SDK's own exception
 * classes so the set follows the SDK version in use. An unmodelled
 * `x-amzn-ErrorType` (any string an endpoint sends) is not among them.
 */
function sdkExceptionNames(): string[] {
  const base = lambdaSdk.LambdaServiceException;
  const names: string[] = [];
  for (const [name, value] of Object.entries(lambdaSdk)) {
    if (typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof base)
      names.push(name);
  }
  return names;
}

/** Every value the `type` label of `warmroute_backend_errors_total` may take besides `other`. */
export const ERROR_TYPE_LABELS: ReadonlySet<string> = new Set<string>([
  ...LAMBDA_RUNTIME_ERROR_TYPES,
  ...JS_ERROR_TYPES,
  ...TRANSPORT_ERROR_TYPES,
  ...sdkExceptionNames(),
  ...Object.keys(errorCatalogue),
  'throttled',
  'deadline',
]);

export function errorTypeLabel(type: string): string {
  return ERROR_TYPE_LABELS.has(type) ? type : OTHER_LABEL;
}

/** `reason` of `warmroute_concurrency_rejections_total` for the scheduler's refusals. */
const REJECTION_REASONS: Partial<Readonly<Record<ErrorCode, string>>> = {
  WR_ERR_KEY_BUSY: 'key_busy',
  WR_ERR_CONCURRENCY_LIMIT: 'concurrency',
  WR_ERR_SHUTTING_DOWN: 'shutting_down',
  // The gateway's own refusal at a function's tenant-environment cap (src/budget/): nothing was invoked.
  WR_ERR_TENANT_BUDGET: 'tenant_budget',
};

/**
 * Where a failed invocation is counted besides `warmroute_invocations_total`:
 * a refusal by the scheduler is a rejection (`reason`), anything else a
 * backend error (`type`: the upstream exception's name when the backend
 * knew it, `throttled`, `deadline`, else the WR_ERR_* code; `other` when
 * none of these is a known label). WR_ERR_DEADLINE is both: the scheduler's
 * own refusal (the deadline passed before the job ran, marked
 * `details.stage: 'queue'` at its throw sites) is the rejection `deadline`;
 * one raised while the backend ran (a Lambda call cut off at the deadline)
 * is the backend error `deadline`. A caller that left is not decided here:
 * only the caller's signal can tell (see invocation-metrics.ts).
 */
export function failureLabel(
  err: unknown,
): { readonly rejection: string } | { readonly backendError: string } {
  const code: ErrorCode = err instanceof WarmrouteError ? err.code : 'WR_ERR_INTERNAL';
  const rejection = REJECTION_REASONS[code];
  if (rejection !== undefined) return { rejection };
  if (
    code === 'WR_ERR_DEADLINE' &&
    err instanceof WarmrouteError &&
    err.details?.['stage'] === 'queue'
  )
    return { rejection: 'deadline' };
  const upstream = err instanceof WarmrouteError ? err.details?.['upstream'] : undefined;
  const type =
    typeof upstream === 'string'
      ? upstream
      : code === 'WR_ERR_THROTTLED'
        ? 'throttled'
        : code === 'WR_ERR_DEADLINE'
          ? 'deadline'
          : code;
  return { backendError: errorTypeLabel(type) };
}

/**
 * `reason` of `warmroute_backend_throttles_total`: Lambda's throttle `Reason`
 * (the SDK's `ThrottleReason`, `err.Reason` on TooManyRequestsException)
 * grouped, never passed through, so an endpoint cannot mint series with it.
 * `unattributed`: no Reason, or one not listed here. Lambda documents its
 * tenant-environment cap (2,500 tenant environments per 1,000 concurrent
 * executions) only as 429 "Rate exceeded" without a Reason, so on a
 * tenant-isolated function this is that cap's signature.
 * ConcurrentSnapshotCreateLimitExceeded is a concurrency limit (SnapStart's)
 * and counted so, not left to look like the cap.
 */
const THROTTLE_REASON_GROUPS: Readonly<Record<string, ThrottleReasonLabel>> = Object.freeze({
  ConcurrentInvocationLimitExceeded: 'concurrency',
  ReservedFunctionConcurrentInvocationLimitExceeded: 'concurrency',
  ConcurrentSnapshotCreateLimitExceeded: 'concurrency',
  FunctionInvocationRateLimitExceeded: 'rate',
  ReservedFunctionInvocationRateLimitExceeded: 'rate',
  CallerRateLimitExceeded: 'rate',
});

export const THROTTLE_REASON_LABELS = ['concurrency', 'rate', 'unattributed'] as const;
export type ThrottleReasonLabel = (typeof THROTTLE_REASON_LABELS)[number];

export function throttleReasonLabel(reason: unknown): ThrottleReasonLabel {
  if (typeof reason !== 'string' || !Object.hasOwn(THROTTLE_REASON_GROUPS, reason))
    return 'unattributed';
  return THROTTLE_REASON_GROUPS[reason] ?? 'unattributed';
}

/**
 * `reason` of `warmroute_state_misses_total`: the library's miss reasons,
 * `none` (a fresh start: nothing to miss), `unknown` (a non-hit without a
 * reason), else `other`.
 */
export const MISS_REASON_LABELS: ReadonlySet<string> = new Set([
  ...MISS_REASONS,
  'none',
  'unknown',
]);

/** The report fields whose invalid values are counted (`field` of `warmroute_invalid_reports_total`). */
export const REPORT_FIELDS = [
  'report',
  'env',
  'state',
  'reason',
  'stateVersion',
  'rehydrateMs',
  'conflicts',
  'coldStart',
] as const;
export type ReportField = (typeof REPORT_FIELDS)[number];

/**
 * Lambda's function name forms: a name, a partial ARN
 * (`123456789012:function:name`) or a full ARN, each with an optional
 * qualifier (version or alias). The name part is `[a-zA-Z0-9-_]{1,64}`.
 */
const FUNCTION_NAME =
  /^(?:arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d{1}:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,64}(?::(?:\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;

export function isValidFunctionName(name: string): boolean {
  return name.length <= 170 && FUNCTION_NAME.test(name);
}

/**
 * A label whose values are fixed ones (from configuration) plus the first
 * `cap` others seen; later new values become `other`. Used where values come
 * from requests (function names without an allow-list) or from code paths
 * (route labels), so no input can grow the series count past the cap.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly fixed: ReadonlySet<string>,
    private readonly cap: number,
  ) {}

  value(raw: string): string {
    if (this.fixed.has(raw) || this.seen.has(raw)) return raw;
    if (this.seen.size >= this.cap) return OTHER_LABEL;
    this.seen.add(raw);
    return raw;
  }
}
