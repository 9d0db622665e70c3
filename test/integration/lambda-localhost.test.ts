import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  buildClientContext,
  parseEnvelope,
  PROTOCOL_VERSION,
  type WarmReport,
} from '../../lambda/protocol.js';
import { startLocalHost } from '../../src/localhost/index.js';
import { distDir, examplesDir } from '../../src/paths.js';

/** The examples, run by the real local host (one child process per environment), invoked through the AWS SDK. */
describe('warm-state examples in the local host', () => {
  async function setup(): Promise<{
    invoke: (
      fn: string,
      key: string,
      payload: unknown,
    ) => Promise<{ report: WarmReport; result: unknown }>;
    evict: () => number;
  }> {
    expect(existsSync(join(distDir, 'lambda', 'index.js')), 'run npm run build first').toBe(true);
    const snapshots = await mkdtemp(join(tmpdir(), 'wr-lh-snap-'));
    onTestFinished(() => rm(snapshots, { recursive: true, force: true }));
    const host = await startLocalHost({
      port: 0,
      functionsFile: join(examplesDir, 'functions.json'),
      env: { ...process.env, WARMROUTE_SNAPSHOT_DIR: snapshots, WARMROUTE_SNAPSHOT_REDIS_URL: '' },
    });
    onTestFinished(() => host.close());
    const client = new LambdaClient({
      endpoint: host.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    onTestFinished(() => {
      client.destroy();
    });
    const invoke = async (
      fn: string,
      key: string,
      payload: unknown,
    ): Promise<{ report: WarmReport; result: unknown }> => {
      const out = await client.send(
        new InvokeCommand({
          FunctionName: fn,
          TenantId: `tenant-${key}`,
          ClientContext: Buffer.from(
            JSON.stringify(
              buildClientContext({
                v: PROTOCOL_VERSION,
                key,
                mode: 'affinity',
                stateVersion: 0,
                wrap: true,
              }),
            ),
          ).toString('base64'),
          Payload: Buffer.from(JSON.stringify(payload)),
        }),
      );
      expect(out.FunctionError, Buffer.from(out.Payload ?? []).toString()).toBeUndefined();
      const env = parseEnvelope(out.Payload ?? new Uint8Array());
      if (env === undefined)
        throw new Error(`not an envelope: ${Buffer.from(out.Payload ?? []).toString()}`);
      return env;
    };
    return { invoke, evict: () => host.evict() };
  }

  it('warm-counter: fresh, hit, then after eviction rehydrated with the count continued', async () => {
    const { invoke, evict } = await setup();
    const key = `k-${randomBytes(4).toString('hex')}`;
    const count = (r: { result: unknown }): number =>
      (JSON.parse((r.result as { body: string }).body) as { counter: number }).counter;

    const first = await invoke('warm-counter', key, {});
    const second = await invoke('warm-counter', key, {});
    expect(evict()).toBeGreaterThan(0);
    const third = await invoke('warm-counter', key, {});

    expect(first.report).toMatchObject({ state: 'fresh', stateVersion: 1 });
    expect(second.report).toMatchObject({ state: 'hit', stateVersion: 2, env: first.report.env });
    expect(third.report).toMatchObject({
      state: 'rehydrated',
      reason: 'first-use',
      stateVersion: 3,
    });
    expect(third.report.env).not.toBe(first.report.env);
    expect([count(first), count(second), count(third)]).toEqual([0, 1, 2]);
  });

  it('two environments of one tenant incrementing concurrently: 20 increments → count 20, each response distinct', async () => {
    const { invoke } = await setup();
    const key = `c-${randomBytes(4).toString('hex')}`;
    const count = (r: { result: unknown }): number =>
      (JSON.parse((r.result as { body: string }).body) as { counter: number }).counter;
    const stream = async (): Promise<{ report: WarmReport; result: unknown }[]> => {
      const out: { report: WarmReport; result: unknown }[] = [];
      for (let i = 0; i < 10; i++) out.push(await invoke('warm-counter', key, {}));
      return out;
    };

    const results = (await Promise.all([stream(), stream()])).flat();
    const final = await invoke('warm-counter', key, {});

    expect(results.map(count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(count(final)).toBe(20);
    expect(final.report.stateVersion).toBe(21);
    expect(new Set(results.map((r) => r.report.env)).size).toBeGreaterThanOrEqual(2);
    // Whichever environment answered after the other wrote either noticed (stale/conflict) or was current.
    for (const r of results) {
      if (r.report.state === 'rehydrated')
        expect(['first-use', 'stale', 'conflict']).toContain(r.report.reason);
    }
  });

  it('workspace: documents and notes file continue in a new environment', async () => {
    const { invoke, evict } = await setup();
    const key = `w-${randomBytes(4).toString('hex')}`;
    await invoke('workspace', key, { op: 'put', id: 'readme', doc: { title: 'hello' } });
    await invoke('workspace', key, { op: 'note', text: 'first note' });
    evict();

    const doc = await invoke('workspace', key, { op: 'get', id: 'readme' });
    await invoke('workspace', key, { op: 'note', text: 'second note' });
    const notes = await invoke('workspace', key, { op: 'notes' });

    expect(doc.report).toMatchObject({ state: 'rehydrated', reason: 'first-use' });
    expect(doc.result).toMatchObject({ id: 'readme', doc: { title: 'hello' } });
    expect(notes.result).toMatchObject({ notes: ['first note', 'second note'] });
    expect(notes.report.state).toBe('hit');
  });
});
