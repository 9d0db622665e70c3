/**
 * What an operator needs to read in a Redis error. ioredis's Cluster reports
 * a failed slot-map refresh as "Failed to refresh slots cache." and keeps the
 * node's own answer in `lastNodeError`; the most common cause, seeds that
 * point at a Redis without cluster mode, is named with the setting to change.
 */
export const CLUSTER_DISABLED_REASON =
  'WARMROUTE_REDIS_CLUSTER_NODES points at a Redis without cluster mode (use REDIS_URL)';

/** The reason text of a Redis (client) error: the message only, never its command's arguments. */
export function redisErrorReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const nodeError: unknown = (err as { lastNodeError?: unknown }).lastNodeError;
  const answered = nodeError instanceof Error ? nodeError.message : err.message;
  // CLUSTER SLOTS on a standalone server: "ERR This instance has cluster support disabled".
  if (/cluster support disabled/i.test(answered)) return CLUSTER_DISABLED_REASON;
  return nodeError instanceof Error ? `${err.message} (${nodeError.message})` : err.message;
}
