import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';
import {
  adminCall,
  callWithKey,
  keysOnEveryMaster,
  metricValue,
  roundTripsBetween,
  scriptInnerCommands,
  startClusterGatewayProcesses,
  type GatewayProcess,
} from '../helpers/cluster-gateways.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

/**
 * Issue 15: three gateway processes (`warmroute start` from the built CLI,
 * configured by environment as a user would: WARMROUTE_REDIS_CLUSTER_NODES,
 * one WARMROUTE_SECRET, an admin token, the local host as
 * AWS_ENDPOINT_URL_LAMBDA) on one local Redis Cluster (3 masters + 3
 * replicas) in front of one local Lambda host. They agree on every key's
 * tenant, see each other's rotations and bindings through sharded pub/sub,
 * and an L1 miss for an unbound key costs one Redis round trip (a hit none),
 * counted from INFO commandstats on the masters. Everything is observed from
 * outside the processes: response headers, the admin API, /metrics.
 */

/**
 * Far above anything the test waits for, so an entry can only leave a
 * gateway's L1 before it through an invalidation over pub/sub, never by
 * expiring: the documented outer bound (L1 TTL) cannot explain a pass.
 */
const L1_TTL_MS = 60_000;
/** The tight bound asserted for a change to reach the other gateways over sharded pub/sub. */
const PUBSUB_BOUND_MS = 1_000;

const ENV = {
  WARMROUTE_L1_TTL_MS: String(L1_TTL_MS),
  // No outcome write-behind during a round-trip measurement: flushes are batched
  // off the request path and counted on their own, not per request.
  WARMROUTE_STATS_FLUSH_INTERVAL_MS: '3600000',
  // Six redis-servers, a Lambda host and three gateways share two cores: a
  // resolve that timed out would be derived without a round trip being counted.
  WARMROUTE_REDIS_COMMAND_TIMEOUT_MS: '2000',
};

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** A key no earlier test or run has used. */
const freshKey = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

/**
 * Calls the gateway with `key` (the counter function, warm after the first
 * call) until its x-affinity-tenant is `tenantId`; the ms from `since` to the
 * sending of the first call that saw it, or undefined if none did within the
 * L1 TTL's tenth.
 */
async function msUntilTenant(
  gw: GatewayProcess,
  key: string,
  tenantId: string,
  since: number,
): Promise<number | undefined> {
  const deadline = since + L1_TTL_MS / 10;
  while (Date.now() < deadline) {
    const sentAt = Date.now();
    const { tenant } = await callWithKey(gw.url, '/', key);
    if (tenant === tenantId) return sentAt - since;
    await sleep(10);
  }
  return undefined;
}

/** The gateway's L1 hits and misses so far (warmroute_l1_*_total on its /metrics). */
async function l1Counts(gw: GatewayProcess): Promise<{ hits: number; misses: number }> {
  const [hits, misses] = await Promise.all([
    metricValue(gw.adminUrl, 'warmroute_l1_hits_total'),
    metricValue(gw.adminUrl, 'warmroute_l1_misses_total'),
  ]);
  return { hits, misses };
}

describe('three gateway processes on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let host: LocalHost;
  let gws: GatewayProcess[];

  /**
   * Stops for what beforeAll started, run last first in afterAll: vitest
   * runs no cleanup a beforeAll returned once a later beforeAll has failed,
   * which left a whole cluster running after a failed start.
   */
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 30_000);

  beforeAll(async () => {
    cluster = await startRedisCluster();
    stops.push(() => cluster.stop());
    host = await startLocalHost({
      port: 0,
      functionsFile: join(packageRoot, 'test/helpers/gateway-functions/functions.json'),
    });
    stops.push(() => host.close());
    // On a failed start the helper stops the processes it started.
    const started = await startClusterGatewayProcesses(cluster, 3, ENV, host);
    gws = started.gateways;
    // Each stopped by its PID, even when a test failed.
    stops.push(async () => {
      await Promise.all(gws.map((gw) => gw.stop()));
    });
    console.log(
      `cluster gateways: 3 processes (pids ${gws.map((gw) => String(gw.pid)).join(', ')}) started one by one, each listening with its epoch prefetch ended after ${started.starts.map((s) => `${String(s.ms)} ms (${String(s.scriptCalls)} script calls)`).join(', ')}`,
    );
  }, 90_000);

  it('resolves the same key to the same tenant on all three (x-affinity-tenant and explain)', async () => {
    // Prepare
    const keys = Array.from({ length: 6 }, (_, i) => freshKey(`same-${String(i)}`));

    for (const key of keys) {
      // Act: the first gateway creates the record, the others read it.
      const calls = [];
      for (const gw of gws) calls.push(await callWithKey(gw.url, '/', key));
      const explained = await Promise.all(
        gws.map((gw) => adminCall(gw.adminUrl, 'GET', `/v1/keys/${encodeURIComponent(key)}`)),
      );

      // Assess
      const [first] = calls;
      expect(first?.status).toBe(200);
      expect(first?.tenant).not.toBe('');
      for (const call of calls) {
        expect(call.status).toBe(200);
        expect(call.tenant).toBe(first?.tenant);
      }
      for (const explanation of explained) {
        expect(explanation.status).toBe(200);
        expect(explanation.body?.['known']).toBe(true);
        expect(explanation.body?.['tenantId']).toBe(first?.tenant);
      }
    }
  });

  it(`a rotate through gateway 1's admin API reaches gateways 2 and 3 within ${String(PUBSUB_BOUND_MS)} ms (L1 TTL ${String(L1_TTL_MS)} ms)`, async () => {
    // Prepare: every gateway holds the key in L1 (a second call is a hit, not a miss).
    const key = freshKey('rotate');
    const before = [];
    for (const gw of gws) before.push((await callWithKey(gw.url, '/', key)).tenant);
    expect(new Set(before).size).toBe(1);
    const missesBefore = [];
    for (const gw of gws) {
      const l1 = await l1Counts(gw);
      expect((await callWithKey(gw.url, '/', key)).tenant).toBe(before[0]);
      const after = await l1Counts(gw);
      expect(after).toEqual({ hits: l1.hits + 1, misses: l1.misses });
      missesBefore.push(after.misses);
    }
    const published = (await cluster.commandStats())['spublish'] ?? 0;

    // Act
    const rotated = await adminCall(
      gws[0]?.adminUrl ?? '',
      'POST',
      `/v1/keys/${encodeURIComponent(key)}/rotate`,
    );
    const rotatedAt = Date.now();

    // Assess
    expect(rotated.status).toBe(200);
    const tenantId = String(rotated.body?.['tenantId']);
    expect(tenantId).not.toBe(before[0]);
    // Both polled at once, so one's wait is not counted in the other's.
    const elapsed = await Promise.all(
      gws.slice(1).map((gw) => msUntilTenant(gw, key, tenantId, rotatedAt)),
    );
    for (const gw of gws.slice(1)) {
      // Seen by the client too, not only by the directory.
      expect((await callWithKey(gw.url, '/', key)).tenant).toBe(tenantId);
    }
    console.log(
      `cluster gateways: rotate on gateway 1 seen by gateways 2 and 3 after ${elapsed.map((ms) => `${String(ms)} ms`).join(' and ')} (bound asserted ${String(PUBSUB_BOUND_MS)} ms; L1 TTL ${String(L1_TTL_MS)} ms)`,
    );
    for (const ms of elapsed) {
      expect(ms).toBeDefined();
      expect(ms).toBeLessThan(PUBSUB_BOUND_MS);
    }
    // Through pub/sub: the rotate published on its bucket's channel, and each of
    // the others dropped the key from L1 (missed it) long before the L1 TTL.
    expect((await cluster.commandStats())['spublish'] ?? 0).toBeGreaterThan(published);
    for (const [i, gw] of gws.entries()) {
      if (i === 0) continue;
      expect((await l1Counts(gw)).misses).toBeGreaterThan(missesBefore[i] ?? Infinity);
    }
  });

  it('a binding made on gateway 2 is used by gateways 1 and 3', async () => {
    // Prepare: the session key is in L1 of 1 and 3 with its own tenant.
    const session = freshKey('session');
    const workspace = freshKey('workspace');
    const workspaceTenant = (await callWithKey(gws[0]?.url ?? '', '/', workspace)).tenant;
    const own = [];
    for (const gw of [gws[0], gws[2]])
      own.push((await callWithKey(gw?.url ?? '', '/', session)).tenant);
    expect(own[0]).toBe(own[1]);
    expect(own[0]).not.toBe(workspaceTenant);

    // Act
    const bound = await adminCall(
      gws[1]?.adminUrl ?? '',
      'PUT',
      `/v1/keys/${encodeURIComponent(session)}/binding`,
      { target: workspace },
    );
    const boundAt = Date.now();

    // Assess
    expect(bound.status).toBe(200);
    const others = [gws[0], gws[2]].filter((gw) => gw !== undefined);
    const elapsed = await Promise.all(
      others.map((gw) => msUntilTenant(gw, session, workspaceTenant, boundAt)),
    );
    console.log(
      `cluster gateways: binding made on gateway 2 used by gateways 1 and 3 after ${elapsed.map((ms) => `${String(ms)} ms`).join(' and ')}`,
    );
    expect(others).toHaveLength(2);
    for (const ms of elapsed) {
      expect(ms).toBeDefined();
      expect(ms).toBeLessThan(PUBSUB_BOUND_MS);
    }
    for (const gw of others) {
      expect((await callWithKey(gw.url, '/', session)).tenant).toBe(workspaceTenant);
      const explained = await adminCall(
        gw.adminUrl,
        'GET',
        `/v1/keys/${encodeURIComponent(session)}`,
      );
      expect(explained.body?.['binding']).toBe(workspace);
      expect(explained.body?.['tenantId']).toBe(workspaceTenant);
    }
  });

  it('costs 0 Redis round trips on an L1 hit and 1 on an L1 miss for an unbound key', async () => {
    // Prepare: the epoch prefetch of every gateway has ended (startClusterGatewayProcesses
    // waited for it), and each master has run the resolve script once, so the
    // figure is a warmed-up replica's (a node's first EVALSHA after a script
    // flush costs a second round trip, EVAL, once).
    const gw = gws[0];
    if (gw === undefined) throw new Error('three gateways expected');
    for (const key of await keysOnEveryMaster(cluster, 'warm-up')) {
      expect((await callWithKey(gw.url, '/', key)).status).toBe(200);
    }
    const inner = scriptInnerCommands();
    const keys = Array.from({ length: 5 }, () => freshKey('round-trips'));
    const misses = [];
    const hits = [];

    for (const key of keys) {
      // Act: a miss (the key is new), then a hit.
      const s0 = await cluster.commandStats();
      const miss = await callWithKey(gw.url, '/', key);
      const s1 = await cluster.commandStats();
      const hit = await callWithKey(gw.url, '/', key);
      const s2 = await cluster.commandStats();

      expect(miss.status).toBe(200);
      expect(hit.status).toBe(200);
      expect(hit.tenant).toBe(miss.tenant);
      misses.push(roundTripsBetween(s0, s1, inner));
      hits.push(roundTripsBetween(s1, s2, inner));
    }

    // Assess
    console.log(
      [
        'cluster gateways: Redis round trips per request (INFO commandstats deltas over the 3 masters)',
        `  L1 miss, unbound key: ${misses.map((m) => m.total).join(', ')}  counted ${JSON.stringify(misses.map((m) => m.counted))}`,
        `  L1 hit:               ${hits.map((h) => h.total).join(', ')}  counted ${JSON.stringify(hits.map((h) => h.counted))}`,
        `  excluded as housekeeping: ${JSON.stringify([...misses, ...hits].map((r) => r.excluded))}`,
      ].join('\n'),
    );
    for (const miss of misses) expect(miss.counted).toEqual({ evalsha: 1 });
    for (const hit of hits) expect(hit.total).toBe(0);
  });
});
