/**
 * The environment variables the function library (`warmroute/lambda`) reads
 * inside a Lambda function: one list, so the stores read their names from
 * it and the tests that compare the README and the deploy templates with
 * the code read it too (a renamed variable then fails a test, not a
 * deploy). The gateway's own settings are `settings` in
 * src/config/schema.ts; these are set on the functions, not the gateway.
 */
export interface FunctionVariable {
  readonly env: string;
  /** One line, as the README's "Function library" table shows it. */
  readonly description: string;
}

export const FUNCTION_ENVIRONMENT = {
  snapshotRedisUrl: {
    env: 'WARMROUTE_SNAPSHOT_REDIS_URL',
    description:
      'Redis for snapshots (`redis://` or `rediss://`); when set, the default store is `RedisSnapshotStore`, else `FileSnapshotStore`.',
  },
  snapshotRedisClusterNodes: {
    env: 'WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES',
    description:
      "Redis Cluster for snapshots instead of `WARMROUTE_SNAPSHOT_REDIS_URL` (set one): comma-separated seeds, `host:port` or `rediss://[user@]host:port`, as the gateway's `WARMROUTE_REDIS_CLUSTER_NODES`; when set, the default store is `RedisSnapshotStore` on the cluster.",
  },
  snapshotRedisPassword: {
    env: 'WARMROUTE_SNAPSHOT_REDIS_PASSWORD',
    description:
      'Password (AUTH token) for `WARMROUTE_SNAPSHOT_REDIS_URL` or `WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES`, kept out of the URL so a secret store can supply it; when set it is used instead of any password in the URL (a user name in the URL, an ACL user, is kept).',
  },
  snapshotRedisCommandTimeoutMs: {
    env: 'WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS',
    description:
      "Bound in ms (a positive integer; default 5000) on each of `RedisSnapshotStore`'s operations when `redisOptions.commandTimeout` is not given; on a cluster a failover is ridden through for at most this long, so set it above your election time (ElastiCache's can exceed 5 s): an invocation may wait this long.",
  },
  snapshotDir: {
    env: 'WARMROUTE_SNAPSHOT_DIR',
    description:
      "Directory of the file store's snapshots (default `/tmp/warmroute-snapshots-<uid>`; one machine only).",
  },
} as const satisfies Record<string, FunctionVariable>;

/** A variable's value, an empty one counted as unset (a functions file's unset `${VAR}`). */
export function functionEnv(variable: FunctionVariable): string | undefined {
  const value = process.env[variable.env];
  return value === undefined || value === '' ? undefined : value;
}
