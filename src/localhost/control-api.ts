import type { IncomingMessage, ServerResponse } from 'node:http';
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
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
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

function parseFilter(body: unknown): EvictFilter {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new Error('expected a JSON object');
  const { function: fn, tenant } = body as Record<string, unknown>;
  if (fn !== undefined && typeof fn !== 'string') throw new Error('"function" must be a string');
  if (tenant !== undefined && typeof tenant !== 'string')
    throw new Error('"tenant" must be a string');
  return { function: fn, tenant };
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
  constructor(private readonly options: ControlApiOptions) {}

  environments(): EnvironmentInfo[] {
    const now = Date.now();
    return this.options.pool.list().map((env) => describeEnvironment(env, now));
  }

  stats(): HostStatsSnapshot {
    return this.options.stats.snapshot();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route = `${req.method ?? ''} ${path.slice(CONTROL_PREFIX.length)}`;
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
        readJson(req, 64 * 1024)
          .then((body) => {
            send(res, 200, { evicted: this.options.pool.evict(parseFilter(body)) });
          })
          .catch((err: unknown) => {
            req.resume();
            send(res, 400, { error: { code: 'BAD_REQUEST', message: (err as Error).message } });
          });
        return;
      default:
        req.resume();
        send(res, 404, { error: { code: 'NOT_FOUND', message: `no control endpoint ${route}` } });
    }
  }
}
