/**
 * Where the directory's Redis is: one server (`REDIS_URL`) or a Redis
 * Cluster (`WARMROUTE_REDIS_CLUSTER_NODES`, seed nodes). Resolved from the
 * config once; src/redis/client.ts builds the ioredis client for it.
 */
export interface ClusterSeed {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  | { readonly mode: 'standalone'; readonly url: string }
  | {
      readonly mode: 'cluster';
      readonly nodes: readonly ClusterSeed[];
      /** Every seed was `rediss://`: TLS to every node (mixing is refused by the config check). */
      readonly tls: boolean;
      /**
       * ACL user from `rediss://user@host:port` seeds (the same on every seed,
       * checked by the config); the password is `WARMROUTE_REDIS_PASSWORD`.
       */
      readonly username?: string;
    };
