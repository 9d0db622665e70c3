import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createGateway } from '../../src/index.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The directory keeps state versions per (key, function), as snapshots are
 * scoped (review of issue 11, findings 1 and 2): with one version per key,
 * one function's version made another's warm state look stale, and a function
 * that lied about its version made every other function of the key rehydrate
 * on every call. End to end: gateway, local host, the warm-counter example.
 */

// A function that does not use warmroute/lambda and lies in the warm-state
// envelope: a protocol-valid report with an absurd stateVersion.
const LIAR = `
export const handler = async () => ({
  'warmroute/v1': { v: 1, env: 'liar', state: 'hit', stateVersion: Number.MAX_SAFE_INTEGER, rehydrateMs: 0 },
  result: { statusCode: 200, body: 'ok' },
});
`;

async function startGateway() {
  const dir = await mkdtemp(join(tmpdir(), 'wr-sv-per-function-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const snapshots = join(dir, 'snapshots');
  await mkdir(join(dir, 'liar'), { recursive: true });
  await mkdir(snapshots);
  await writeFile(join(dir, 'liar', 'index.mjs'), LIAR);
  const warmCounter = join(packageRoot, 'lambda/examples/warm-counter');
  const env = { WARMROUTE_SNAPSHOT_DIR: snapshots };
  const warm = (name: string) => ({
    name,
    codeDir: warmCounter,
    tenancy: 'PER_TENANT',
    memoryMb: 256,
    timeoutSeconds: 10,
    environment: env,
  });
  await writeFile(
    join(dir, 'functions.json'),
    JSON.stringify({
      functions: [
        warm('warm-counter'),
        warm('warm-counter-2'),
        { name: 'liar', codeDir: 'liar', tenancy: 'PER_TENANT', memoryMb: 128, timeoutSeconds: 3 },
      ],
    }),
  );
  const gateway = await createGateway({
    PATH: process.env.PATH ?? '',
    WARMROUTE_LOCAL_PORT: '0',
    WARMROUTE_FUNCTIONS_FILE: join(dir, 'functions.json'),
    WARMROUTE_SECRET: 'sv-per-function-secret-0123456789',
    WARMROUTE_ADMIN_TOKEN: 'sv-per-function-admin-0123456789',
    WARMROUTE_LOG_LEVEL: 'silent',
    WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/liar', function: 'liar', mode: 'affinity' }]),
  });
  onTestFinished(() => gateway.close());
  const rpc = async (fn: string, key: string) => {
    const res = await gateway.app.inject({
      method: 'POST',
      url: `/v1/functions/${fn}/invoke`,
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(200);
    return { state: res.headers['x-affinity-state'], env: res.headers['x-affinity-env'] };
  };
  return { gateway, rpc };
}

describe('state versions per function (review of issue 11, findings 1 and 2)', () => {
  it('one function’s state version does not make another function’s warm state stale for the same key', async () => {
    // Prepare: warm-counter writes versions 1..4 for the key.
    const { rpc } = await startGateway();
    for (let i = 0; i < 4; i++) await rpc('warm-counter', 'shared');

    // Act
    const two = [
      await rpc('warm-counter-2', 'shared'),
      await rpc('warm-counter-2', 'shared'),
      await rpc('warm-counter-2', 'shared'),
    ];

    // Assess: same environment each time, its own state in memory: hits after the first call.
    expect(new Set(two.map((r) => r.env)).size).toBe(1);
    expect(two.map((r) => r.state)).toEqual(['fresh', 'hit', 'hit']);
  });

  it('a function cannot poison a key with a huge reported stateVersion (every other function would rehydrate on every call)', async () => {
    // Prepare
    const { gateway, rpc } = await startGateway();
    await rpc('warm-counter', 'victim');
    expect((await rpc('warm-counter', 'victim')).state).toBe('hit');

    // Act: the liar reports Number.MAX_SAFE_INTEGER for the same key.
    const lie = await gateway.app.inject({
      url: '/liar/x',
      headers: { 'x-affinity-key': 'victim' },
    });
    expect(lie.statusCode).toBe(200);
    const after = [await rpc('warm-counter', 'victim'), await rpc('warm-counter', 'victim')];

    // Assess: warm-counter's state is still warm; the lie is recorded for the liar alone.
    expect(after.map((r) => r.state)).toEqual(['hit', 'hit']);
    const explained = await gateway.app.inject({
      url: '/v1/keys/victim',
      headers: { authorization: 'Bearer sv-per-function-admin-0123456789' },
    });
    // Four calls, one checkpoint each: warm-counter's own version is 4, the liar's is its own.
    const { stateVersions } = explained.json<{ stateVersions: Record<string, number> }>();
    expect(stateVersions).toEqual({ 'warm-counter': 4, liar: Number.MAX_SAFE_INTEGER });
  });
});
