import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { readWarmRequest } from '../../lambda/protocol.js';
import { FileSnapshotStore } from '../../lambda/stores/file-snapshot-store.js';
import { ADMIN_TOKEN } from '../helpers/gateway.js';
import { startWarmStateGateway, type WarmCall } from '../helpers/warm-state-gateway.js';

/**
 * A bound key shares its target's environment and state, so the state
 * version the gateway sends with a bound key's request must be the target's
 * (the outcomes of both are recorded under the target). Before, a bound
 * session always sent 0 ("none known"): a function trusting the gateway's
 * version (`verify: 'gateway'`) could not tell that its copy was stale.
 */

function uniqueKey(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** The state version a request's client context carried (what the function reads). */
function sentVersion(clientContextBase64: string | undefined): number | undefined {
  if (clientContextBase64 === undefined) return undefined;
  const decoded: unknown = JSON.parse(Buffer.from(clientContextBase64, 'base64').toString('utf8'));
  return readWarmRequest(decoded)?.stateVersion;
}

describe('a bound key’s state version, end to end (gateway → local host → warm-counter)', () => {
  it('a session bound to a workspace key sends the workspace’s current version; no increment lost across two environments', async () => {
    // Prepare: per-key serialization off, so concurrent calls force a second environment of the tenant.
    const ws = await startWarmStateGateway({
      WARMROUTE_SERIALIZE_PER_KEY: 'false',
      WARMROUTE_TENANT_CONCURRENCY: '8',
    });
    onTestFinished(() => ws.close());
    const workspace = uniqueKey('workspace');
    const session = uniqueKey('session');
    const bind = await fetch(`${ws.gw.url}/v1/keys/${session}/binding`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: workspace }),
    });
    expect(bind.status).toBe(200);
    // Calls through (a spy, not a mock): records the client context each request carried.
    const invoke = vi.spyOn(ws.gw.deps.backend, 'invoke');
    const sent = (): (number | undefined)[] =>
      invoke.mock.calls.map(([request]) => sentVersion(request.clientContextBase64));
    const all: (WarmCall & { counter: number })[] = [];
    const warm = async (key: string): Promise<WarmCall & { counter: number }> => {
      const r = await ws.warm(key);
      all.push(r);
      return r;
    };

    // Act 1: increments through the workspace key, several at once (≥ 2 environments).
    await Promise.all(Array.from({ length: 8 }, () => warm(workspace)));
    const tenant = all[0]?.tenant ?? '';
    const environments = ws.gw.localHost
      .environments()
      .filter((e) => e.function === 'warm-counter' && e.tenant === tenant);
    // Act 2: sequential calls alternate between the keys; some land in an
    // environment whose copy the other key's calls made stale.
    const sequential: { key: string; counter: number; sent: number | undefined }[] = [];
    for (let i = 0; i < 6; i++) {
      for (const key of [session, workspace]) {
        const r = await warm(key);
        sequential.push({ key, counter: r.counter, sent: sent().at(-1) });
      }
    }
    // Act 3: the second environment is evicted while the session keeps going.
    const lastEnv = all.at(-1)?.env ?? '';
    expect(ws.gw.localHost.evict({ function: 'warm-counter', tenant })).toBeGreaterThanOrEqual(1);
    const afterEvict = await warm(session);
    const afterEvictSent = sent().at(-1);
    await Promise.all(Array.from({ length: 6 }, () => warm(session)));

    // Assess: one tenant (the binding), several environments.
    expect(all.every((r) => r.tenant === tenant)).toBe(true);
    expect(environments.length).toBeGreaterThanOrEqual(2);
    // Every call computed from the then-current state: 0..N-1, each once (no lost increment).
    const total = all.length;
    expect(all.map((r) => r.counter).sort((a, b) => a - b)).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
    // Each environment answered with a count that only grew.
    const byEnv = new Map<string, number[]>();
    for (const r of all) byEnv.set(r.env, [...(byEnv.get(r.env) ?? []), r.counter]);
    for (const [env, counters] of byEnv) {
      expect(counters, `environment ${env}`).toEqual([...counters].sort((a, b) => a - b));
    }
    // The session's requests carried the workspace's current version: with one
    // call at a time, the count before the call (= the version before it).
    for (const call of sequential) expect(call, call.key).toMatchObject({ sent: call.counter });
    expect(sequential.filter((c) => c.key === session)).toHaveLength(6);
    expect(afterEvict.env).not.toBe(lastEnv);
    expect(afterEvict).toMatchObject({ state: 'rehydrated', tenant });
    expect(afterEvictSent).toBe(afterEvict.counter);
    // Versions never went backwards in what the gateway sent, and the directory knows the latest.
    const versions = sent().filter((v): v is number => v !== undefined);
    expect(versions).toHaveLength(total);
    expect(Math.max(...versions)).toBeLessThan(total);
    const scope = await ws.snapshotScope('warm-counter', session);
    expect(scope.key).toBe(workspace);
    expect(await new FileSnapshotStore({ directory: ws.snapshotDir }).readVersion(scope)).toBe(
      total,
    );
    expect(
      (await ws.gw.deps.directory.resolve(session, { functionName: 'warm-counter' })).stateVersion,
    ).toBe(total);
  });
});
