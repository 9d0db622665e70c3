/**
 * A failed function still gets HTTP 200 from Lambda, with
 * `X-Amz-Function-Error: Unhandled|Handled` and the runtime's error object as
 * the payload: `{ errorType, errorMessage, trace }` from the Node runtime, or
 * `{ errorMessage: "… Task timed out after N.NN seconds" }` for a timeout.
 * The gateway answers 502 `WR_ERR_FUNCTION_ERROR` with the `errorType`.
 */

export interface FunctionErrorInfo {
  readonly errorType: string;
  readonly errorMessage: string;
}

const decoder = new TextDecoder();

/** Bounded so a huge error payload does not end up in a client-visible message or a log line. */
const MAX_MESSAGE_LENGTH = 1_024;
/** An error type is a class name; the function chooses it, so it is bounded too. */
const MAX_TYPE_LENGTH = 128;

export function parseFunctionError(
  payload: Uint8Array | string,
  functionError?: string,
): FunctionErrorInfo {
  const text = typeof payload === 'string' ? payload : decoder.decode(payload);
  const fallbackType =
    functionError !== undefined && functionError !== '' ? functionError : 'Unhandled';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { errorType: fallbackType, errorMessage: truncate(text) };
  }
  if (typeof parsed !== 'object' || parsed === null) {
    return {
      errorType: fallbackType,
      errorMessage: truncate(typeof parsed === 'string' ? parsed : text),
    };
  }
  const record = parsed as Record<string, unknown>;
  const errorMessage = typeof record.errorMessage === 'string' ? record.errorMessage : '';
  let errorType =
    typeof record.errorType === 'string' && record.errorType !== '' ? record.errorType : undefined;
  // The runtime reports a timeout without an errorType; name it like Lambda's own error code.
  if (errorType === undefined && /Task timed out after/.test(errorMessage))
    errorType = 'Sandbox.Timedout';
  return {
    errorType: truncate(errorType ?? fallbackType, MAX_TYPE_LENGTH),
    errorMessage: truncate(errorMessage),
  };
}

function truncate(s: string, max = MAX_MESSAGE_LENGTH): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
