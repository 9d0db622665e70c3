import { WarmStateError } from './errors.js';

/**
 * When the wrapper writes a snapshot after an invocation:
 * - `'every'` (default): after every invocation — nothing acknowledged is ever lost;
 * - `{ everyN, everyMs }`: after N invocations or T ms since the last
 *   checkpoint, whichever comes first — cheaper, but changes since the last
 *   checkpoint die with the environment;
 * - `'manual'`: only when the handler calls `state.checkpoint()`.
 */
export type CheckpointPolicy =
  'every' | 'manual' | { readonly everyN?: number; readonly everyMs?: number };

export interface CheckpointClock {
  /** Invocations since the last checkpoint (including the current one). */
  readonly invocationsSince: number;
  /** Time of the last checkpoint, or of the load when none was written here. */
  readonly lastAt: number;
}

export function validateCheckpointPolicy(policy: CheckpointPolicy): void {
  if (policy === 'every' || policy === 'manual') return;
  const { everyN, everyMs } = policy;
  if (everyN === undefined && everyMs === undefined) {
    throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
      'checkpoint needs everyN and/or everyMs',
    ]);
  }
  if (everyN !== undefined && (!Number.isSafeInteger(everyN) || everyN < 1)) {
    throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [`checkpoint.everyN ${String(everyN)}`]);
  }
  if (everyMs !== undefined && (!Number.isFinite(everyMs) || everyMs < 0)) {
    throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
      `checkpoint.everyMs ${String(everyMs)}`,
    ]);
  }
}

export function checkpointDue(
  policy: CheckpointPolicy,
  clock: CheckpointClock,
  now: number,
): boolean {
  if (policy === 'every') return true;
  if (policy === 'manual') return false;
  if (policy.everyN !== undefined && clock.invocationsSince >= policy.everyN) return true;
  return policy.everyMs !== undefined && now - clock.lastAt >= policy.everyMs;
}
