/**
 * Typed errors of the function-side library. They are raised inside a
 * Lambda function, not by the gateway, so they live here rather than in the
 * gateway's catalogue (src/errors.ts); callers branch on `code`, never on
 * message text.
 */

export const warmStateErrorCodes = {
  /** The encoded snapshot (state + directory archive) exceeds `maxSnapshotBytes`. */
  WR_ERR_SNAPSHOT_TOO_LARGE: 'Snapshot of key %s is %s bytes, over the limit of %s bytes',
  /** Bytes read from a store are not a snapshot this library wrote. */
  WR_ERR_SNAPSHOT_CORRUPT: 'Snapshot of key %s is corrupt: %s',
  /** `state.checkpoint()` lost the version race; the wrapper re-runs the handler on the newer state. */
  WR_ERR_CHECKPOINT_CONFLICT: 'Key %s: a newer snapshot than version %s exists; re-running on it',
  /** Every retry of an invocation lost the version race. */
  WR_ERR_SNAPSHOT_CONFLICT: 'Key %s: checkpoint lost the version race %s times in a row',
  /** The store could not be read or written (I/O error, lock timeout, Redis down). */
  WR_ERR_SNAPSHOT_STORE: 'Snapshot store failed for key %s: %s',
  /** A bad option given to withWarmState or a store. */
  WR_ERR_WARM_STATE_OPTIONS: 'Invalid warm-state option: %s',
} as const;

export type WarmStateErrorCode = keyof typeof warmStateErrorCodes;

export class WarmStateError extends Error {
  readonly code: WarmStateErrorCode;

  constructor(
    code: WarmStateErrorCode,
    args: readonly (string | number)[],
    options: { cause?: unknown } = {},
  ) {
    let i = 0;
    const message = warmStateErrorCodes[code].replace(/%s/g, () => String(args[i++] ?? ''));
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'WarmStateError';
    this.code = code;
  }
}

export function isWarmStateError(err: unknown, code?: WarmStateErrorCode): err is WarmStateError {
  return err instanceof WarmStateError && (code === undefined || err.code === code);
}
