import { STATUS_JSON_PATH, type StatusDocument } from '../../src/status/status-document.js';

/** Why a poll failed, in words for the poll-error banner. */
export class PollError extends Error {
  override readonly name = 'PollError';
}

/** A hung request must not stall polling: the poller waits for each one to settle. */
const REQUEST_TIMEOUT_MS = 10_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Enough of a shape check that a wrong answer (a proxy's HTML error page, an
 * older gateway) shows as a poll error instead of breaking the rendering.
 */
export function isStatusDocument(value: unknown): value is StatusDocument {
  if (!isObject(value) || value.v !== 1) return false;
  return (
    typeof value.generatedAt === 'string' &&
    typeof value.startedAt === 'string' &&
    Array.isArray(value.series) &&
    isObject(value.totals) &&
    Array.isArray(value.functions) &&
    Array.isArray(value.missReasons) &&
    Array.isArray(value.rejectionReasons) &&
    isObject(value.directory) &&
    Array.isArray(value.budgets) &&
    (value.localHost === undefined || isObject(value.localHost))
  );
}

/** Fetches the status document from the page's own origin. */
export async function fetchStatus(): Promise<StatusDocument> {
  let response: Response;
  try {
    response = await fetch(STATUS_JSON_PATH, {
      cache: 'no-store',
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    throw new PollError(
      `cannot reach the gateway (${err instanceof Error ? err.message : 'network error'})`,
    );
  }
  if (!response.ok) {
    throw new PollError(`the gateway answered ${response.status} ${response.statusText}`.trim());
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new PollError('the gateway answered something that is not JSON');
  }
  if (!isStatusDocument(body)) {
    throw new PollError('the gateway answered a status document this page does not understand');
  }
  return body;
}
