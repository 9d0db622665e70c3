import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { SnapshotScope } from '../../lambda/snapshot-scope.js';
import { startLocalHost } from '../../src/localhost/index.js';
import { distDir, packageRoot } from '../../src/paths.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from './gateway.js';

/** What the gateway told the client about one call. */
export interface WarmCall {
  readonly status: number;
  readonly state: string;
  readonly env: string;
  readonly tenant: string;
  readonly body: Record<string, unknown>;
}

export interface WarmStateGateway {
  readonly gw: TestGateway;
  /** Snapshot directory private to this gateway's local host. */
  readonly snapshotDir: string;
  /** Proxy route `/warm` (warm-counter): returns the counter value before this call's increment. */
  warm(key: string): Promise<WarmCall & { counter: number }>;
  /** RPC invoke of `workspace` with a plain payload. */
  workspace(key: string, payload: unknown): Promise<WarmCall>;
  /** RPC invoke of a warm-counter copy (`warm-counter`, `warm-counter-2`): the count before this call. */
  counter(functionName: string, key: string): Promise<WarmCall & { counter: number }>;
  /** The snapshot scope `functionName` uses for `key` now (the directory's state scope + the function). */
  snapshotScope(functionName: string, key: string): Promise<SnapshotScope>;
  rotate(key: string): Promise<number>;
  /** `warmroute_state_misses_total{function, reason}` as scraped from /metrics. */
  misses(fn: string): Promise<Record<string, number>>;
  close(): Promise<void>;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name];
  return typeof v === 'string' ? v : '';
}

/**
 * A real gateway in front of a real local host whose warm-state examples
 * snapshot into a fresh directory (so a key is never `rehydrated` from an
 * earlier run), and no Redis snapshot store.
 */
export async function startWarmStateGateway(
  env: Record<string, string> = {},
  options: {
    /** Functions for the local host (default: the gateway test functions, i.e. the examples). */
    functionsFile?: string;
  } = {},
): Promise<WarmStateGateway> {
  if (!existsSync(join(distDir, 'lambda', 'index.js')))
    throw new Error('dist/lambda/index.js is missing: run npm run build first');
  const snapshotDir = await mkdtemp(join(tmpdir(), 'wr-ws-gw-snap-'));
  const localHost = await startLocalHost({
    port: 0,
    functionsFile:
      options.functionsFile ?? join(packageRoot, 'test/helpers/gateway-functions/functions.json'),
    env: { ...process.env, WARMROUTE_SNAPSHOT_DIR: snapshotDir, WARMROUTE_SNAPSHOT_REDIS_URL: '' },
  }).catch(async (err: unknown) => {
    await rm(snapshotDir, { recursive: true, force: true });
    throw err;
  });
  let gw: TestGateway;
  try {
    gw = await startTestGateway(env, { localHost });
  } catch (err) {
    await localHost.close();
    await rm(snapshotDir, { recursive: true, force: true });
    throw err;
  }

  const call = async (
    path: string,
    key: string,
    init: { method?: 'GET' | 'POST'; body?: string } = {},
  ): Promise<WarmCall> => {
    const res = await request(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path} → ${String(res.statusCode)}: ${text}`);
    return {
      status: res.statusCode,
      state: header(res.headers, 'x-affinity-state'),
      env: header(res.headers, 'x-affinity-env'),
      tenant: header(res.headers, 'x-affinity-tenant'),
      body: JSON.parse(text) as Record<string, unknown>,
    };
  };

  return {
    gw,
    snapshotDir,
    async warm(key) {
      const r = await call('/warm', key);
      const counter = r.body['counter'];
      if (typeof counter !== 'number') throw new Error(`no counter in ${JSON.stringify(r.body)}`);
      return { ...r, counter };
    },
    async counter(functionName, key) {
      const r = await call(`/v1/functions/${functionName}/invoke`, key, {
        method: 'POST',
        body: '{}',
      });
      // The example answers in the proxy shape: the count is inside `body`.
      const inner: unknown = JSON.parse(String(r.body['body']));
      const counter = (inner as { counter?: unknown }).counter;
      if (typeof counter !== 'number') throw new Error(`no counter in ${JSON.stringify(r.body)}`);
      return { ...r, counter };
    },
    async snapshotScope(functionName, key) {
      const { state } = await gw.deps.directory.resolve(key);
      return {
        functionName,
        namespace: state.namespace,
        epoch: state.epoch,
        generation: state.generation,
        key: state.key,
      };
    },
    workspace: (key, payload) =>
      call('/v1/functions/workspace/invoke', key, {
        method: 'POST',
        body: JSON.stringify(payload),
      }),
    async rotate(key) {
      const res = await request(`${gw.url}/v1/keys/${encodeURIComponent(key)}/rotate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      await res.body.text();
      return res.statusCode;
    },
    async misses(fn) {
      const text = await (await request(`${gw.url}/metrics`)).body.text();
      const out: Record<string, number> = {};
      const re = /^warmroute_state_misses_total\{([^}]*)\} (\d+)$/gm;
      for (const m of text.matchAll(re)) {
        const labels = m[1] ?? '';
        if (!labels.includes(`function="${fn}"`)) continue;
        const reason = /reason="([^"]*)"/.exec(labels)?.[1] ?? '';
        out[reason] = (out[reason] ?? 0) + Number(m[2]);
      }
      return out;
    },
    async close() {
      await gw.close();
      await localHost.close();
      await rm(snapshotDir, { recursive: true, force: true });
    },
  };
}
