import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { LocalHost } from '../../src/localhost/index.js';
import type { StateCounts } from '../../src/status/status-document.js';

/**
 * A short scripted load through the gateway's RPC route, over HTTP, and a
 * tally of what the gateway answered. The tally is the truth the status
 * page is checked against: counts come from `x-affinity-state` and the
 * status codes the gateway sent, not from the script's intentions.
 */

/** What one function saw, in the status document's terms. */
export interface FunctionTally {
  readonly requests: StateCounts;
  /** Answers naming an environment no earlier answer named: a new environment started. */
  coldStarts: number;
  /** Function errors (502 WR_ERR_FUNCTION_ERROR). */
  errors: number;
}

export interface LoadTally {
  readonly functions: Map<string, FunctionTally>;
  /** Every key the load sent. */
  readonly keys: Set<string>;
  /** Every tenant ID the gateway named in `x-affinity-tenant`. */
  readonly tenants: Set<string>;
  /** Environments `evict` stopped, per function. */
  readonly evictions: Map<string, number>;
  /** The warm-counter key whose environment was evicted (the explain box looks it up). */
  readonly evictedKey: string;
  /** Date.now() once the last answer had arrived. */
  readonly endedAt: number;
}

const STATES = ['hit', 'rehydrated', 'fresh', 'unknown'] as const;
type State = (typeof STATES)[number];

function isState(value: string): value is State {
  return (STATES as readonly string[]).includes(value);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name];
  return typeof v === 'string' ? v : '';
}

/** Sums the four states over every function. */
export function totalRequests(tally: LoadTally): StateCounts {
  const sum: StateCounts = { hit: 0, rehydrated: 0, fresh: 0, unknown: 0 };
  for (const f of tally.functions.values()) for (const s of STATES) sum[s] += f.requests[s];
  return sum;
}

/** hit / (hit + rehydrated + fresh), null when none of those happened (the document's rule). */
export function hitRatioOf(counts: StateCounts): number | null {
  const served = counts.hit + counts.rehydrated + counts.fresh;
  return served === 0 ? null : counts.hit / served;
}

/**
 * Runs the load: warm-counter keys first seen (fresh), repeated (hits),
 * two keys' environments evicted and called again (rehydrated from their
 * snapshots), the `fails` test function (a function error), and the plain
 * `counter` (no warm-state report: unknown).
 */
export async function runScriptedLoad(
  gatewayUrl: string,
  localHost: LocalHost,
): Promise<LoadTally> {
  const run = randomBytes(4).toString('hex');
  const keys = new Set<string>();
  const tenants = new Set<string>();
  const seenEnvs = new Set<string>();
  const functions = new Map<string, FunctionTally>();
  const tenantOfKey = new Map<string, string>();

  const call = async (functionName: string, key: string): Promise<void> => {
    keys.add(key);
    const res = await request(`${gatewayUrl}/v1/functions/${functionName}/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      body: '{}',
    });
    const text = await res.body.text();
    let tally = functions.get(functionName);
    if (tally === undefined) {
      tally = {
        requests: { hit: 0, rehydrated: 0, fresh: 0, unknown: 0 },
        coldStarts: 0,
        errors: 0,
      };
      functions.set(functionName, tally);
    }
    if (res.statusCode === 502 && text.includes('"WR_ERR_FUNCTION_ERROR"')) tally.errors++;
    else if (res.statusCode !== 200) {
      throw new Error(`${functionName} ${key} → ${String(res.statusCode)}: ${text}`);
    }
    const state = header(res.headers, 'x-affinity-state');
    // The document counts a request without a known state as unknown.
    tally.requests[isState(state) ? state : 'unknown']++;
    const env = header(res.headers, 'x-affinity-env');
    if (env !== '' && !seenEnvs.has(env)) {
      seenEnvs.add(env);
      tally.coldStarts++;
    }
    const tenant = header(res.headers, 'x-affinity-tenant');
    if (tenant !== '') {
      tenants.add(tenant);
      tenantOfKey.set(key, tenant);
    }
  };
  const repeat = async (functionName: string, key: string, times: number): Promise<void> => {
    for (let i = 0; i < times; i++) await call(functionName, key);
  };

  const warmKeys = ['a', 'b', 'c', 'd'].map((k) => `status-${run}-${k}`);
  const [a, b] = warmKeys as [string, string, string, string];
  // New keys: each starts its own environment (different tenants), so in parallel.
  await Promise.all(warmKeys.map((key) => call('warm-counter', key)));
  // Hits: one key at a time per key, keys in parallel.
  await Promise.all(warmKeys.map((key, i) => repeat('warm-counter', key, 3 - Math.min(i, 2))));

  const evictions = new Map<string, number>();
  for (const key of [a, b]) {
    const tenant = tenantOfKey.get(key);
    if (tenant === undefined) throw new Error(`the gateway named no tenant for ${key}`);
    const stopped = localHost.evict({ function: 'warm-counter', tenant });
    evictions.set('warm-counter', (evictions.get('warm-counter') ?? 0) + stopped);
  }
  // Back on new environments that load the state from the snapshot store.
  await Promise.all([call('warm-counter', a), call('warm-counter', b)]);
  await call('warm-counter', a);

  await call('fails', `status-${run}-e`);
  await repeat('counter', `status-${run}-f`, 2);

  return { functions, keys, tenants, evictions, evictedKey: a, endedAt: Date.now() };
}
