import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { startWarmStateGateway, type WarmStateGateway } from '../helpers/warm-state-gateway.js';

/**
 * The gateway's side of the warm-state protocol (docs/protocol.md), seen
 * from inside the function: `/warm` is served by an echo variant of
 * warm-counter that returns the client context it received and the version
 * its handler ran on.
 */

interface Echo {
  counter: number;
  seenVersion: number;
  request: { v: number; key: string; mode: string; stateVersion: number; wrap: boolean } | null;
}

async function setup(): Promise<WarmStateGateway> {
  const ws = await startWarmStateGateway(
    {},
    { functionsFile: join(packageRoot, 'test/helpers/warm-state-functions/functions.json') },
  );
  onTestFinished(() => ws.close());
  return ws;
}

async function echo(ws: WarmStateGateway, key: string): Promise<Echo & { state: string }> {
  const r = await ws.warm(key);
  return { ...(r.body as unknown as Echo), state: r.state };
}

describe('gateway → function warm-state request', () => {
  it('sends v1, the key, affinity mode, wrap, the latest version its directory knows and the state scope', async () => {
    const ws = await setup();
    const key = `proto-${randomBytes(5).toString('hex')}`;

    const calls = [await echo(ws, key), await echo(ws, key), await echo(ws, key)];

    const scope = {
      ns: 'default',
      epoch: (await ws.snapshotScope('warm-counter', key)).epoch,
      gen: 0,
    };
    expect(scope.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(calls.map((c) => c.request)).toEqual([
      { v: 1, key, mode: 'affinity', stateVersion: 0, wrap: true, scope },
      { v: 1, key, mode: 'affinity', stateVersion: 1, wrap: true, scope },
      { v: 1, key, mode: 'affinity', stateVersion: 2, wrap: true, scope },
    ]);
    // On a hit the environment's version equals the gateway's: nothing stale to catch.
    expect(calls.map((c) => [c.state, c.seenVersion])).toEqual([
      ['fresh', 0],
      ['hit', 1],
      ['hit', 2],
    ]);
  });

  it('after an eviction the new environment is told the version to expect and rehydrates it', async () => {
    const ws = await setup();
    const key = `proto-ev-${randomBytes(5).toString('hex')}`;
    const first = await ws.warm(key);
    await ws.warm(key);
    ws.gw.localHost.evict({ function: 'warm-counter', tenant: first.tenant });

    const after = await echo(ws, key);

    expect(after.request?.stateVersion).toBe(2);
    expect(after).toMatchObject({ state: 'rehydrated', seenVersion: 2, counter: 2 });
  });

  it('after a rotation the key starts over: a generation-scoped state key at version 0', async () => {
    const ws = await setup();
    const key = `proto-rot-${randomBytes(5).toString('hex')}`;
    await ws.warm(key);
    await ws.warm(key);
    expect(await ws.rotate(key)).toBe(200);

    const after = await echo(ws, key);

    // The new generation's state has a scope of its own and its version starts at 0;
    // `key` keeps the `#g1` suffix so functions without scope support stay apart too.
    expect(after.request).toEqual({
      v: 1,
      key: `${key}#g1`,
      mode: 'affinity',
      stateVersion: 0,
      wrap: true,
      scope: { ns: 'default', epoch: (await ws.snapshotScope('warm-counter', key)).epoch, gen: 1 },
    });
    expect(after).toMatchObject({ state: 'fresh' });
  });
});
