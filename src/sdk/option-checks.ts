import { MAX_TIMER_DELAY_MS } from '../clock-limits.js';

/**
 * Checks on client options shared by `createAffinityClient` and the
 * environment reader (`env-options.ts`), so a value the environment reader
 * accepts is always one the client can use: one bound, one place.
 */

/**
 * Why a deadline is unusable, or undefined when it is fine. The largest is
 * setTimeout's limit (2^31 - 1): beyond it Node fires the timer at once, so
 * a larger deadline would end every call immediately.
 */
export function timeoutProblem(timeoutMs: number): string | undefined {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_DELAY_MS) {
    return `must be a positive number of milliseconds, at most ${MAX_TIMER_DELAY_MS}`;
  }
  return undefined;
}

/**
 * Headers the HTTP transport or HTTP itself owns. A key sent in one of them
 * would overwrite the content type, break the message framing, or collide
 * with the gateway's own use (`authorization` carries the admin token and a
 * proxy's credentials; `x-affinity-mode` is the call's mode).
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'connection',
  'content-length',
  'content-type',
  'cookie',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-affinity-mode',
]);

/**
 * Why a key header name is unusable, or undefined when it is fine. The
 * alphabet is the gateway's own `WARMROUTE_KEY_HEADER` rule (letters, digits,
 * `-`; case does not matter in HTTP), so any name the SDK accepts is one a
 * gateway can be configured to read.
 */
export function keyHeaderProblem(name: string): string | undefined {
  if (!/^[a-z0-9-]+$/i.test(name)) return 'must be a header name (letters, digits and -)';
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    return 'is a header the SDK or HTTP itself sets; choose another (default x-affinity-key)';
  }
  return undefined;
}
