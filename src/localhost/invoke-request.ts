import { LambdaApiError } from './lambda-api-error.js';

/**
 * Pure checks of an Invoke request's path, query and headers, with the
 * status and error type Lambda answers each problem with.
 */

export const INVOKE_PATH_PREFIX = '/2015-03-31/functions/';
export const INVOKE_PATH_SUFFIX = '/invocations';

/** Lambda's sync request limit (and its error text names the number). */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
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
    `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`,
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
  if (name === undefined || !FUNCTION_NAME_RE.test(name) || qualifier === '') {
    throw validation(
      'functionName',
      segment,
      'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?',
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

/** X-Amz-Client-Context → the JSON text the runtime receives (Lambda-Runtime-Client-Context). */
export function decodeClientContext(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (header.length > MAX_CLIENT_CONTEXT_BYTES) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      `Client context must be at most ${MAX_CLIENT_CONTEXT_BYTES} bytes (base64).`,
    );
  }
  const text = Buffer.from(header, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      'Client context must be a valid Base64-encoded JSON object.',
    );
  }
  return text;
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
