import { WarmrouteError } from '../errors.js';
import { parseClusterSeeds } from '../redis/cluster-seeds.js';
import type { RedisTarget } from '../redis/target.js';
import type { Config } from './schema.js';

/**
 * The directory's Redis as the config names it: a cluster
 * (`WARMROUTE_REDIS_CLUSTER_NODES`), one server (`REDIS_URL`), or none
 * (undefined: the in-memory directory). loadConfig has already refused a
 * bad seed list and both settings together; a config built by hand gets the
 * same WR_ERR_CONFIG here rather than a client that half works.
 */
export function redisTargetOf(
  config: Pick<Config, 'redisUrl' | 'redisClusterNodes'>,
): RedisTarget | undefined {
  if (config.redisClusterNodes === undefined) {
    return config.redisUrl === undefined ? undefined : { mode: 'standalone', url: config.redisUrl };
  }
  const problems: string[] = [];
  if (config.redisUrl !== undefined) {
    problems.push('REDIS_URL and WARMROUTE_REDIS_CLUSTER_NODES are both set: set one, not both');
  }
  const parsed = parseClusterSeeds(config.redisClusterNodes, 'WARMROUTE_REDIS_CLUSTER_NODES');
  if (!parsed.ok) problems.push(...parsed.problems);
  if (!parsed.ok || problems.length > 0) {
    throw new WarmrouteError('WR_ERR_CONFIG', [problems.map((p) => `  - ${p}`).join('\n')]);
  }
  return parsed.target;
}
