import { LambdaApiError } from './lambda-api-error.js';
import { toAsciiJson } from './runtime-protocol.js';

/**
 * Pure checks of an Invoke request's path, query and headers, with the
 * status and error type Lambda answers each problem with.
 */

export const INVOKE_PATH_PREFIX = '/2015-03-31/functions/';
export const INVOKE_PATH_SUFFIX = '/invocations';

/** Lambda's sync request limit (and its error text names the number); the one constant of src/lambda-limits.ts. */
export { LAMBDA_SYNC_PAYLOAD_BYTES as MAX_SYNC_PAYLOAD_BYTES } from '../lambda-limits.js';
/** Async (Event) payload limit since 2025. */
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;
/** X-Amz-Client-Context limit (base64 text). */
export const MAX_CLIENT_CONTEXT_BYTES = 3583;

export const LATEST = '$LATEST';

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface FunctionRef {
  readonly name: string;
  /** Qualifier from the name (`fn:qualifier`, ARN suffix) or `?Qualifier=`. */
  readonly qualifier: string | undefined;
}

const TENANT_ID_RE = /^[a-zA-Z0-9._:/=+\-@ ]{1,256}$/;
const FUNCTION_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
/** Lambda's Qualifier: 1–128 characters of `[a-zA-Z0-9$_-]`. */
const QUALIFIER_RE = /^[a-zA-Z0-9$_-]{1,128}$/;
/** X-Amzn-Trace-Id passed on to the runtime: printable ASCII, bounded. */
const TRACE_ID_RE = /^[\x21-\x7e]{1,1024}$/;

/** Lambda's message when a PER_TENANT function is invoked without a TenantId. */
export const MISSING_TENANT_MESSAGE =
  'The invoked function is enabled with tenancy configuration. Add a valid tenant ID in your request and try again.';
/** The reverse case; AWS's exact wording is unconfirmed. */
export const UNEXPECTED_TENANT_MESSAGE =
  'The invoked function is not enabled with tenancy configuration. Remove the tenant ID from your request and try again.';

function validation(field: string, value: string, constraint: string): LambdaApiError {
  // Lambda's request validation answers constraint violations as the AWS
  // framework does: ValidationException with "1 validation error detected".
  return new LambdaApiError(
    'ValidationException',
    `1 validation error detected: Value '${value.length > 300 ? `${value.slice(0, 300)}…` : value}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

/**
 * Splits the FunctionName path segment: `name`, `name:qualifier`,
 * `123456789012:function:name[:qualifier]` or the full ARN.
 */
export function parseFunctionRef(segment: string, queryQualifier: string | undefined): FunctionRef {
  const parts = segment.split(':');
  let name: string | undefined;
  let qualifier: string | undefined;
  if (parts[0] === 'arn' && parts.length >= 7 && parts[2] === 'lambda' && parts[5] === 'function') {
    name = parts[6];
    qualifier = parts[7];
    if (parts.length > 8) name = undefined;
  } else if (parts.length >= 3 && parts[1] === 'function') {
    name = parts[2];
    qualifier = parts[3];
    if (parts.length > 4) name = undefined;
  } else if (parts.length <= 2) {
    name = parts[0];
    qualifier = parts[1];
  }
  if (
    name === undefined ||
    !FUNCTION_NAME_RE.test(name) ||
    qualifier === '' ||
    (qualifier !== undefined && !QUALIFIER_RE.test(qualifier))
  ) {
    throw validation(
      'functionName',
      segment,
      'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?',
    );
  }
  if (queryQualifier !== undefined && !QUALIFIER_RE.test(queryQualifier)) {
    throw validation(
      'qualifier',
      queryQualifier,
      'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)',
    );
  }
  if (queryQualifier !== undefined && qualifier !== undefined && queryQualifier !== qualifier) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  return { name, qualifier: qualifier ?? queryQualifier };
}

export function parseInvocationType(header: string | undefined): InvocationType {
  if (header === undefined || header === 'RequestResponse') return 'RequestResponse';
  if (header === 'Event' || header === 'DryRun') return header;
  throw validation(
    'invocationType',
    header,
    'Member must satisfy enum value set: [Event, RequestResponse, DryRun]',
  );
}

/** True for `Tail`; Lambda only knows `Tail` and `None`. */
export function parseLogType(header: string | undefined): boolean {
  if (header === undefined || header === 'None') return false;
  if (header === 'Tail') return true;
  throw validation('logType', header, 'Member must satisfy enum value set: [None, Tail]');
}

/**
 * Checks the TenantId against the function's tenancy. A malformed id is a
 * ValidationException (lambda-facts: "probably", unconfirmed — it is what
 * Lambda answers for every other constraint violation in the request);
 * missing/unexpected ids are InvalidParameterValueException, as documented.
 */
export function checkTenantId(
  tenantId: string | undefined,
  perTenant: boolean,
): string | undefined {
  if (tenantId !== undefined && !TENANT_ID_RE.test(tenantId)) {
    throw validation(
      'tenantId',
      tenantId.length > 300 ? `${tenantId.slice(0, 300)}…` : tenantId,
      'Member must have length between 1 and 256 and satisfy regular expression pattern: ^[a-zA-Z0-9\\._:\\/=+\\-@ ]+$',
    );
  }
  if (perTenant && tenantId === undefined) {
    throw new LambdaApiError('InvalidParameterValueException', MISSING_TENANT_MESSAGE);
  }
  if (!perTenant && tenantId !== undefined) {
    throw new LambdaApiError('InvalidParameterValueException', UNEXPECTED_TENANT_MESSAGE);
  }
  return tenantId;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CLIENT_CONTEXT_MESSAGE = 'Client context must be a valid Base64-encoded JSON object.';

/**
 * X-Amz-Client-Context → the JSON text the runtime receives in
 * Lambda-Runtime-Client-Context. Lambda documents the header as base64 of a
 * JSON object, at most 3,583 bytes; anything else is refused here with 400
 * InvalidParameterValueException (the type Lambda uses for a bad parameter
 * value; its exact answer to a malformed client context is unconfirmed).
 * The text handed on is re-serialised as ASCII-only JSON: the same object
 * to any JSON parser, and always writable as a header (raw UTF-8 is not).
 */
export function decodeClientContext(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (header.length > MAX_CLIENT_CONTEXT_BYTES) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      `Client context must be at most ${MAX_CLIENT_CONTEXT_BYTES} bytes (base64).`,
    );
  }
  // Buffer.from(…, 'base64') skips characters it does not know; Lambda's
  // decoder does not, so neither do we.
  if (!BASE64_RE.test(header)) {
    throw new LambdaApiError('InvalidParameterValueException', CLIENT_CONTEXT_MESSAGE);
  }
  let parsed: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(header, 'base64'));
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LambdaApiError('InvalidParameterValueException', CLIENT_CONTEXT_MESSAGE);
  }
  return toAsciiJson(parsed);
}

/** The event bytes the runtime gets: the payload, `{}` when empty; it must be JSON. */
export function checkPayload(payload: Buffer): Buffer {
  if (payload.length === 0) return Buffer.from('{}');
  try {
    JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      `Could not parse request body into json: Could not parse payload into json: ${(err as Error).message}`,
    );
  }
  return payload;
}

/**
 * The FunctionName path segment, percent-decoded. A malformed escape
 * (`%E0%A4%A`) is the client's error: 400 ValidationException, as for any
 * other name that does not match Lambda's pattern.
 */
export function decodeFunctionSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw validation('functionName', raw, 'Member must be a percent-encoded function name or ARN');
  }
}

/**
 * A client's X-Amzn-Trace-Id, if it can be handed to the runtime as it is;
 * undefined otherwise (the host then makes its own, as Lambda starts a new
 * trace when the incoming header is unusable).
 */
export function acceptTraceId(header: string | undefined): string | undefined {
  return header !== undefined && TRACE_ID_RE.test(header) ? header : undefined;
}
