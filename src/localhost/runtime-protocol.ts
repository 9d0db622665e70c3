/**
 * Names shared by the host's Runtime API and the bootstrap that runs inside
 * each environment. Kept dependency-free: the bootstrap imports it at every
 * cold start.
 */

export const RUNTIME_PREFIX = '/2018-06-01/runtime';

export const RuntimeHeader = {
  requestId: 'lambda-runtime-aws-request-id',
  deadlineMs: 'lambda-runtime-deadline-ms',
  functionArn: 'lambda-runtime-invoked-function-arn',
  traceId: 'lambda-runtime-trace-id',
  clientContext: 'lambda-runtime-client-context',
  cognitoIdentity: 'lambda-runtime-cognito-identity',
  tenantId: 'lambda-runtime-aws-tenant-id',
  errorType: 'lambda-runtime-function-error-type',
  /** warmroute extension: the environment's peak RSS in MB, for the REPORT line. */
  maxMemoryMb: 'x-warmroute-max-memory-mb',
} as const;

/**
 * Written by the bootstrap to stdout and to stderr after each invocation,
 * before it posts the result: the host then knows the invocation's output is
 * complete (pipes and the HTTP socket are separate channels with no order
 * between them). Starts with NUL so function output never contains it.
 */
export const END_OF_INVOCATION = '\u0000warmroute:end\u0000\n';

/**
 * Written before the first output the runtime process produces after an
 * end-of-invocation marker (background work of the invocation that ended),
 * and {@link START_OF_INVOCATION} when the next invocation then arrives:
 * the text between the two belongs before the next invocation's START line,
 * however late the host reads it. Without background output neither is
 * written, so a quiet invocation costs the host no extra read.
 */
export const BACKGROUND_OUTPUT = '\u0000warmroute:background\u0000\n';
export const START_OF_INVOCATION = '\u0000warmroute:start\u0000\n';

/** Lambda's response payload limit plus the 100 bytes the Runtime API tolerates. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;

/**
 * The function error a result over {@link MAX_RESPONSE_BYTES} turns into,
 * whichever way the runtime sent it (HTTP Runtime API or the private channel).
 */
export const RESPONSE_TOO_LARGE = {
  errorType: 'Function.ResponseSizeTooLarge',
  body: Buffer.from(
    JSON.stringify({
      errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
      errorType: 'Function.ResponseSizeTooLarge',
    }),
  ),
} as const;

/** Name prefix of each environment's private TMPDIR (the bootstrap removes it if the host died). */
export const TMPDIR_PREFIX = 'warmroute-env-';

/**
 * JSON text with every code unit outside printable ASCII written as `\uXXXX`.
 * It parses to the same value as `JSON.stringify(value)` (non-ASCII only
 * ever occurs inside JSON strings, where the escape means the same code
 * unit; lone surrogates stay escaped), and it is always a valid HTTP header
 * value, which raw UTF-8 text is not: Node refuses to write anything above
 * U+00FF, NUL, CR or LF into a header.
 */
export function toAsciiJson(value: unknown): string | undefined {
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? undefined : escapeNonAscii(text);
}

/** Replaces every code unit outside U+0020–U+007E with its `\uXXXX` escape. */
export function escapeNonAscii(text: string): string {
  return text.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
