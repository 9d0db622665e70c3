import type { CancelSignal } from '../cancel-signal.js';
import { MAX_TIMER_DELAY_MS } from '../clock-limits.js';

/** Re-exported for the retry engine's callers (its one home is src/clock-limits.ts). */
export { MAX_TIMER_DELAY_MS };

/**
 * The error an abort ends a wait with: the signal's reason when it is an
 * error (a caller's own, or the gateway's deadline error), else a plain
 * `AbortError`.
 */
export function abortReason(signal: CancelSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('Invocation aborted by the caller');
  err.name = 'AbortError';
  return err;
}

/**
 * The wait between attempts (at most `MAX_TIMER_DELAY_MS`), ended early (rejected with `abortReason`) when
 * `signal` fires. Takes a `CancelSignal`, so the gateway's lazy
 * `ClientGoneSignal` works as well as an `AbortSignal`; it listens only while
 * it waits.
 */
export function sleep(ms: number, signal?: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(ms, MAX_TIMER_DELAY_MS),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
