import { isIPv4, isIPv6 } from 'node:net';
import type { ClusterSeed, RedisTarget } from './target.js';

/**
 * The seed-node syntax of `WARMROUTE_REDIS_CLUSTER_NODES` (gateway) and
 * `WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES` (function library): one parser, no
 * ioredis import, so the config check and the library's cold start can use
 * it without loading the client.
 *
 *     seeds  = seed *( "," seed )          whitespace around a seed is ignored
 *     seed   = hostport                    plain TCP
 *            / "redis://"  [ user "@" ] hostport
 *            / "rediss://" [ user "@" ] hostport   TLS
 *     hostport = ( name / IPv4 / "[" IPv6 "]" ) ":" port   port 1-65535
 *
 * Every seed uses the same transport (all TLS or none: one client option
 * for every node) and the same user name (ioredis authenticates every node
 * alike). A password is never part of a seed: it comes from the password
 * setting, so that a secret store can supply it. Problems never quote a seed
 * that might hold a password written in the wrong place (see `quotable`).
 */

export type ClusterTarget = Extract<RedisTarget, { mode: 'cluster' }>;

export type SeedParse =
  | { readonly ok: true; readonly target: ClusterTarget }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Longest seed list read; a pasted file is not a seed list. */
export const MAX_CLUSTER_SEEDS = 100;

/** A DNS name (labels of letters, digits, `-` and `_`, as container and compose names use), at most 253 chars. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

interface ParsedSeed {
  readonly seed: ClusterSeed;
  readonly tls: boolean;
  readonly username: string | undefined;
}

/** Longest part of a seed a problem quotes: a pasted file must not become a 1 MB message. */
const MAX_QUOTED_CHARS = 100;
/** An IPv6 address in brackets (hex groups, dots): nothing there can be a secret. */
const BRACKETED_ADDRESS = /\[[0-9A-Fa-f:.]*\]/g;
/** A ':' not starting a port (digits, then the end or another ':'), e.g. `redis://:secret`. */
const COLON_NOT_PORT = /:(?!\d*(?::|$))/;

/**
 * Whether a problem may quote `entry`. Not when it may hold a password
 * written in the wrong place: userinfo (`@`), a query or fragment
 * (`redis://h:1/?password=…`, which ioredis itself would read), or text
 * after a ':' that is not a port (`redis://:secret`, `user:secret`). The
 * problem then names the seed by position only; the message is also logged
 * (the function library's snapshot store reports it at cold start).
 */
function quotable(entry: string): boolean {
  if (/[@?#]/.test(entry)) return false;
  const rest = entry.replace(SCHEME, '').replace(BRACKETED_ADDRESS, '[]');
  return !COLON_NOT_PORT.test(rest);
}

/** How a problem names a seed: quoted (cut short) when that cannot leak a secret, by position otherwise. */
function nameOf(entry: string, index: number): string {
  if (!quotable(entry)) return `seed ${index + 1}`;
  const shown = entry.length > MAX_QUOTED_CHARS ? `${entry.slice(0, MAX_QUOTED_CHARS)}…` : entry;
  return `seed ${index + 1} (${JSON.stringify(shown)})`;
}

function parseHostPort(text: string): ClusterSeed | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const match = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
    if (match?.[1] === undefined || match[2] === undefined) {
      return 'must be [IPv6]:port';
    }
    if (!isIPv6(match[1])) return 'has no IPv6 address between its brackets';
    host = match[1];
    portText = match[2];
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 0) return 'must end in :port (a cluster seed has no default port)';
    if (colons > 1) return 'must be host:port (write an IPv6 address in brackets: [::1]:6379)';
    const at = text.lastIndexOf(':');
    host = text.slice(0, at);
    portText = text.slice(at + 1);
    if (/^[\d.]+$/.test(host) && !isIPv4(host)) return 'has a host that is not an IPv4 address';
    if (!isIPv4(host) && !HOST_NAME.test(host)) {
      return 'must be host:port with a host name or IP address (and nothing after the port)';
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return 'must end in :port, a number from 1 to 65535';
  const port = Number(portText);
  if (port < 1 || port > 65_535) return 'has a port outside 1-65535';
  return { host, port };
}

function parseSeed(entry: string): ParsedSeed | string {
  const scheme = SCHEME.exec(entry);
  if (scheme === null) {
    if (entry.includes('@')) return 'has userinfo but no rediss:// or redis:// scheme';
    const parsed = parseHostPort(entry);
    return typeof parsed === 'string' ? parsed : { seed: parsed, tls: false, username: undefined };
  }
  const name = (scheme[1] ?? '').toLowerCase();
  if (name !== 'redis' && name !== 'rediss') return 'must be host:port, redis://… or rediss://…';
  let rest = entry.slice(scheme[0].length);
  let username: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (userinfo.includes(':')) {
      return 'must not hold a password (set it in the password setting, which a secret store can supply)';
    }
    try {
      username = decodeURIComponent(userinfo);
    } catch {
      return 'has a user name that is not valid percent-encoding (write a literal % as %25)';
    }
    if (username === '') return 'has an empty user name before @';
  }
  if (/[/?#]/.test(rest)) return 'must not have a path, query or fragment after host:port';
  const parsed = parseHostPort(rest);
  return typeof parsed === 'string' ? parsed : { seed: parsed, tls: name === 'rediss', username };
}

/**
 * The cluster target a seed list names, or every problem with it, each
 * line starting with `setting`. Never throws.
 */
export function parseClusterSeeds(raw: string, setting: string): SeedParse {
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_CLUSTER_SEEDS) {
    return {
      ok: false,
      problems: [`${setting}: more than ${MAX_CLUSTER_SEEDS} seeds (a few seeds find the rest)`],
    };
  }
  const problems: string[] = [];
  const parsed: ParsedSeed[] = [];
  for (const [index, entry] of entries.entries()) {
    if (entry === '') {
      problems.push(
        `${setting}: seed ${index + 1} is empty (seeds are separated by single commas, none at either end)`,
      );
      continue;
    }
    const seed = parseSeed(entry);
    if (typeof seed === 'string') problems.push(`${setting}: ${nameOf(entry, index)} ${seed}`);
    else parsed.push(seed);
  }
  if (problems.length > 0) return { ok: false, problems };
  const [first] = parsed;
  if (first === undefined) return { ok: false, problems: [`${setting}: names no seed`] };
  if (parsed.some((seed) => seed.tls !== first.tls)) {
    problems.push(
      `${setting}: mixes rediss:// (TLS) and plain seeds; every node of a cluster is reached the same way`,
    );
  }
  if (parsed.some((seed) => seed.username !== first.username)) {
    problems.push(
      `${setting}: the seeds name different user names (or some none); every node is authenticated as the same user`,
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    target: {
      mode: 'cluster',
      nodes: parsed.map((p) => p.seed),
      tls: first.tls,
      ...(first.username === undefined ? {} : { username: first.username }),
    },
  };
}

/** `host:port`, IPv6 in brackets: the seed as `parseClusterSeeds` reads it back. */
export function formatSeed(seed: ClusterSeed): string {
  return `${isIPv6(seed.host) ? `[${seed.host}]` : seed.host}:${seed.port}`;
}

/**
 * A cluster target as a seed list `parseClusterSeeds` reads back to the
 * same target. Holds no secret (a target has no password), so logs and
 * `/readyz` may show it.
 */
export function formatClusterTarget(target: ClusterTarget): string {
  const user = target.username === undefined ? '' : `${encodeURIComponent(target.username)}@`;
  const scheme = target.tls ? 'rediss://' : user === '' ? '' : 'redis://';
  return target.nodes.map((seed) => `${scheme}${user}${formatSeed(seed)}`).join(',');
}
