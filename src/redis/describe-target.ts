import { formatClusterTarget } from './cluster-seeds.js';
import type { RedisTarget } from './target.js';

/**
 * Where a Redis target points, for logs, `/readyz` and `.settings`, with no
 * secret in it: a standalone URL's password (in the userinfo or as the
 * `?password=` query item ioredis also reads) becomes `***`; a cluster
 * target holds no password (seeds carry none), so its seed list is shown
 * whole, prefixed `cluster `.
 */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.mode === 'cluster') return `cluster ${formatClusterTarget(target)}`;
  return redactUrl(target.url);
}

function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<unparseable url>';
  }
  if (parsed.password !== '') parsed.password = '***';
  if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
  return parsed.toString();
}
