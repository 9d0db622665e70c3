/**
 * The private Redis Cluster harness. It lives in bench/lib/redis-cluster.ts
 * because the `cluster` benchmark starts the same cluster and the build
 * compiles bench/ but not test/.
 */
export * from '../../bench/lib/redis-cluster.js';
