import type { Cluster, Redis } from 'ioredis';

/** Keys per SCAN call: a hint to Redis, small enough to keep each call short. */
const SCAN_COUNT = 500;

async function* scanNode(node: Redis, pattern: string): AsyncGenerator<string> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    yield* keys;
  } while (cursor !== '0');
}

/**
 * Every key matching `pattern` (a SCAN glob), node by node: one server's
 * SCAN on a standalone Redis; on a cluster, SCAN on each master in turn
 * (a cluster's SCAN covers only the node it is sent to, and KEYS blocks a
 * node, so nothing in warmroute uses it). For tests and tooling, never the
 * request path. Like SCAN itself: a key may be reported more than once, and
 * keys written during the scan may or may not be.
 */
export async function* scanKeys(client: Redis | Cluster, pattern: string): AsyncGenerator<string> {
  if (!isCluster(client)) {
    yield* scanNode(client, pattern);
    return;
  }
  for (const master of client.nodes('master')) yield* scanNode(master, pattern);
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return client.isCluster;
}
