import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import Type from 'typebox';
import Value from 'typebox/value';
import { WarmrouteError, type ErrorCode } from '../errors.js';
import type { Environment } from './environment.js';
import type { FunctionDefinition } from './function-registry.js';
import type { EnvironmentPool, EvictFilter } from './pool.js';
import type { HostStats, HostStatsSnapshot } from './stats.js';

export const CONTROL_PREFIX = '/_local/';

export interface EnvironmentInfo {
  readonly id: string;
  readonly function: string;
  /** null for functions without tenancy (shared across callers). */
  readonly tenant: string | null;
  readonly state: 'starting' | 'busy' | 'idle';
  readonly invocations: number;
  /** Milliseconds since the environment last finished an invocation (0 while busy). */
  readonly idleMs: number;
  readonly pid: number | null;
  readonly createdAt: string;
  readonly retiring: boolean;
}

export function describeEnvironment(env: Environment, now: number): EnvironmentInfo {
  return {
    id: env.id,
    function: env.fn.name,
    tenant: env.tenantId ?? null,
    state: env.state === 'idle' ? 'idle' : env.initialized ? 'busy' : 'starting',
    invocations: env.invocations,
    idleMs: env.state === 'idle' ? now - env.lastUsedAt : 0,
    pid: env.pid ?? null,
    createdAt: new Date(env.createdAt).toISOString(),
    retiring: env.retiring,
  };
}

export interface ControlApiOptions {
  readonly pool: EnvironmentPool<Environment>;
  readonly stats: HostStats;
  readonly functions: ReadonlyMap<string, FunctionDefinition>;
  /** When set, every endpoint but `healthz` requires `Authorization: Bearer <token>`. */
  readonly controlToken?: string | undefined;
  readonly logger?: Logger | undefined;
  /** The evict body must arrive within this long, ms (the host's `bodyTimeoutMs`). */
  readonly bodyTimeoutMs: number;
}

function send(
  res: ServerResponse,
  status: number,
  value: unknown,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(value);
  res.writeHead(status, {
    ...extra,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  code: ErrorCode,
  args: readonly string[] = [],
  extra: Record<string, string> = {},
): void {
  const err = new WarmrouteError(code, args);
  send(res, err.statusCode, err.toJSON(), extra);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function readJson(req: IncomingMessage, limit: number, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      reject(new Error(`body did not arrive within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    req.on('close', () => {
      clearTimeout(timer);
    });
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (text.length > limit) return;
      text += chunk;
      if (text.length > limit) reject(new Error('body too large'));
    });
    req.on('end', () => {
      try {
        resolve(text.trim() === '' ? {} : JSON.parse(text));
      } catch {
        reject(new Error('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** The evict body: `{}` evicts every environment, each field narrows it. */
const EvictFilterSchema = Type.Object(
  {
    function: Type.Optional(Type.String()),
    tenant: Type.Optional(Type.String()),
  },
  // An empty filter means every environment, so a misspelled field (`tenent`)
  // silently ignored would evict them all instead of the one meant.
  { additionalProperties: false },
);

/** The filter, or the first problem with the body as the 400's message. */
function parseFilter(body: unknown): EvictFilter {
  if (Value.Check(EvictFilterSchema, body)) return body;
  const errors = Value.Errors(EvictFilterSchema, body);
  if (errors.some((e) => e.instancePath === '' && e.keyword === 'type')) {
    throw new Error('expected a JSON object');
  }
  // From the body itself: TypeBox lists at most 8 errors, and one per unknown field.
  const unknown = Object.keys(body as object).filter(
    (key) => !Object.hasOwn(EvictFilterSchema.properties, key),
  );
  if (unknown.length > 0) {
    const names = unknown.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 64)));
    throw new Error(
      `unknown field${unknown.length > 1 ? 's' : ''} ${names.join(', ')}${unknown.length > 5 ? ', …' : ''} (expected "function" and/or "tenant"; {} evicts every environment)`,
    );
  }
  // Only a known field of the wrong type is left; both fields are strings.
  const field = errors[0]?.instancePath.slice(1) ?? '';
  throw new Error(`"${field}" must be a string`);
}

/**
 * Endpoints outside the AWS API, for tests, demos and chaos:
 *   GET  /_local/environments   every environment (function, tenant, state, invocations, idle time, pid)
 *   POST /_local/evict          { "function"?: name, "tenant"?: id } → { evicted } (simulates Lambda recycling)
 *   GET  /_local/stats          invocation counters per function
 *   GET  /_local/functions      the declared functions
 *   GET  /_local/healthz        { ok: true }
 */
export class ControlApi {
  private readonly tokenDigest: Buffer | undefined;

  constructor(private readonly options: ControlApiOptions) {
    this.tokenDigest =
      options.controlToken === undefined ? undefined : digest(options.controlToken);
  }

  environments(): EnvironmentInfo[] {
    const now = Date.now();
    return this.options.pool.list().map((env) => describeEnvironment(env, now));
  }

  stats(): HostStatsSnapshot {
    return this.options.stats.snapshot();
  }

  /** Serves one control request; an error inside answers 500 for that request only. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.route(req, res);
    } catch (err) {
      this.options.logger?.error({ err }, 'control API request failed');
      req.resume();
      sendError(res, 'WR_ERR_INTERNAL');
    }
  }

  /** Constant-time comparison of the bearer token (hashes first: equal lengths). */
  private authorized(req: IncomingMessage): boolean {
    if (this.tokenDigest === undefined) return true;
    const auth = req.headers.authorization;
    const m = auth === undefined ? null : /^Bearer (.+)$/i.exec(auth);
    if (m?.[1] === undefined) return false;
    return timingSafeEqual(digest(m[1]), this.tokenDigest);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route = `${req.method ?? ''} ${path.slice(CONTROL_PREFIX.length)}`;
    if (route === 'GET healthz' && !this.authorized(req)) {
      // Liveness probes carry no token; they learn that the host is up, nothing more.
      send(res, 200, { ok: true });
      return;
    }
    if (!this.authorized(req)) {
      req.resume();
      sendError(res, 'WR_ERR_UNAUTHORIZED', [], { 'www-authenticate': 'Bearer' });
      return;
    }
    switch (route) {
      case 'GET environments':
        send(res, 200, { environments: this.environments() });
        return;
      case 'GET stats':
        send(res, 200, this.stats());
        return;
      case 'GET functions':
        send(res, 200, {
          functions: [...this.options.functions.values()].map((f) => ({
            ...f,
            environment: Object.keys(f.environment),
          })),
        });
        return;
      case 'GET healthz':
        send(res, 200, { ok: true, environments: this.options.pool.size });
        return;
      case 'POST evict':
        readJson(req, 64 * 1024, this.options.bodyTimeoutMs)
          .then((body) => {
            send(res, 200, { evicted: this.options.pool.evict(parseFilter(body)) });
          })
          .catch((err: unknown) => {
            req.resume();
            // A body that never ended leaves the connection unusable.
            sendError(
              res,
              'WR_ERR_BAD_REQUEST',
              [err instanceof Error ? err.message : 'unreadable body'],
              req.complete ? {} : { connection: 'close' },
            );
          });
        return;
      default:
        req.resume();
        sendError(res, 'WR_ERR_ROUTE_NOT_FOUND', [
          `control endpoint ${route.length > 200 ? `${route.slice(0, 200)}…` : route}`,
        ]);
    }
  }
}
