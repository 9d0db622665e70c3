/**
 * The example functions' bundles, exactly as `cdk synth` stages them (the
 * ExampleFunctions construct's own asset folders, read back from the cloud
 * assembly), loaded in a child `node` whose working directory is the asset
 * folder and whose environment is Lambda-like and nothing else: no
 * node_modules of this repository can be reached, so `warmroute/lambda`,
 * ioredis and the snapshot store's Lua script must all be inside the bundle.
 * Each child process is a new execution environment; state that survives from
 * one to the next came through the snapshot store (file or Redis).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  EXAMPLE_FUNCTION_NAMES,
  ExampleFunctions,
  type ExampleFunctionName,
} from '../../deploy/cdk/lib/example-functions.js';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import {
  ENVELOPE_REPORT_FIELD,
  ENVELOPE_RESULT_FIELD,
  type WarmReport,
  type WarmScope,
} from '../../lambda/protocol.js';
import { snapshotId } from '../../lambda/snapshot-scope.js';
import { DEFAULT_SNAPSHOT_KEY_PREFIX, snapshotKey } from '../../src/redis/keys.js';
import { passwordRedis } from '../helpers/password-redis.js';
import { SHARED_REDIS_URL } from '../helpers/redis.js';

/** What the child runs: import the bundle, invoke its handler once per event, print each result. */
const RUNNER = `
const [bundle, handlerName, invocationsJson] = process.argv.slice(1);
const mod = await import(bundle);
const handler = mod[handlerName];
const results = [];
for (const { event, tenantId, clientContext } of JSON.parse(invocationsJson)) {
  const requestId = Math.random().toString(16).slice(2);
  const deadline = Date.now() + 10_000;
  // The fields Lambda's Node.js runtime gives a handler (src/localhost/bootstrap.ts builds the same).
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    logStreamName: 'test',
    clientContext,
    tenantId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  results.push(await handler(event, context));
}
process.stdout.write('\\n@@results ' + JSON.stringify(results) + '\\n');
// Lambda freezes the environment after a response; an open Redis socket would keep node alive.
process.exit(0);
`;

interface Invocation {
  readonly event: unknown;
  readonly tenantId: string;
  readonly clientContext?: unknown;
}

interface Bundle {
  readonly dir: string;
  readonly functionName: string;
  readonly handler: string;
  readonly memoryMb: number;
}

let workDir: string;
const bundles = new Map<ExampleFunctionName, Bundle>();

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'wr-function-bundle-'));
  // Prepare: synthesize as `cdk synth` does; each function's Code.S3Key is `<asset hash>.zip`
  // and the staged bundle is the assembly's `asset.<hash>` folder.
  const app = new App({ outdir: join(workDir, 'cdk.out') });
  const stack = new Stack(app, 'BundleTest');
  const examples = new ExampleFunctions(stack, 'Examples', {
    namePrefix: `wr-bundle-${randomBytes(4).toString('hex')}-`,
  });
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  for (const name of EXAMPLE_FUNCTION_NAMES) {
    const id = stack.getLogicalId(examples.functions[name].node.defaultChild as CfnFunction);
    const props = (template.toJSON() as TemplateJson).Resources[id]?.Properties;
    if (props === undefined) throw new Error(`no function resource for ${name}`);
    const hash = props.Code.S3Key.replace(/\.zip$/, '');
    bundles.set(name, {
      dir: join(assembly.directory, `asset.${hash}`),
      functionName: props.FunctionName,
      handler: props.Handler,
      memoryMb: props.MemorySize,
    });
  }
}, 180_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

interface TemplateJson {
  Resources: Record<
    string,
    {
      Properties?: {
        Code: { S3Key: string };
        FunctionName: string;
        Handler: string;
        MemorySize: number;
      };
    }
  >;
}

function bundleOf(name: ExampleFunctionName): Bundle {
  const bundle = bundles.get(name);
  if (bundle === undefined) throw new Error(`no bundle for ${name}`);
  return bundle;
}

/**
 * One execution environment: a child `node` in the bundle folder, with a
 * Lambda-like environment (its own TMPDIR, as each Lambda environment has its
 * own /tmp) plus `env`, running `invocations` in order.
 */
async function runEnvironment(
  name: ExampleFunctionName,
  env: Record<string, string>,
  invocations: readonly Invocation[],
): Promise<unknown[]> {
  const bundle = bundleOf(name);
  const tmp = mkdtempSync(join(workDir, 'env-tmp-'));
  const [file, exportName] = bundle.handler.split('.');
  const bundleUrl = new URL(`file://${join(bundle.dir, `${file ?? ''}.mjs`)}`).href;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        RUNNER,
        bundleUrl,
        exportName ?? '',
        JSON.stringify(invocations),
      ],
      {
        cwd: bundle.dir,
        // Nothing inherited from the test process (no NODE_PATH, NODE_OPTIONS, vitest's variables).
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          TMPDIR: tmp,
          AWS_LAMBDA_FUNCTION_NAME: bundle.functionName,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(bundle.memoryMb),
          ...env,
        },
        timeout: 20_000,
      },
      (err, out, errOut) => {
        if (err !== null) reject(new Error(`${name} bundle failed: ${err.message}\n${errOut}`));
        else resolve(out);
      },
    );
  });
  const line = stdout.split('\n').find((l) => l.startsWith('@@results '));
  if (line === undefined) throw new Error(`${name} bundle printed no results:\n${stdout}`);
  return JSON.parse(line.slice('@@results '.length)) as unknown[];
}

/** The gateway's warm request (lambda/protocol.ts) as Lambda's runtime hands over the client context. */
function gatewayRequest(key: string, scope: WarmScope, stateVersion: number): unknown {
  return {
    custom: { warmroute: { v: 1, key, mode: 'affinity', stateVersion, wrap: true, scope } },
  };
}

interface Envelope<T> {
  readonly report: WarmReport;
  readonly result: T;
}

function envelope<T>(value: unknown): Envelope<T> {
  const v = value as Record<string, unknown>;
  expect(Object.keys(v)).toEqual([ENVELOPE_REPORT_FIELD, ENVELOPE_RESULT_FIELD]);
  return { report: v[ENVELOPE_REPORT_FIELD] as WarmReport, result: v[ENVELOPE_RESULT_FIELD] as T };
}

function uniqueScope(): WarmScope {
  return { ns: `bundle-test-${randomBytes(4).toString('hex')}`, epoch: 'e1', gen: 0 };
}

/** Snapshot stores a bundle is tried with: the environment each needs and how to clean up after. */
const STORES = {
  file: (): Record<string, string> => ({
    [FUNCTION_ENVIRONMENT.snapshotDir.env]: mkdtempSync(join(workDir, 'snapshots-')),
  }),
  redis: (): Record<string, string> => ({
    [FUNCTION_ENVIRONMENT.snapshotRedisUrl.env]: SHARED_REDIS_URL,
  }),
} as const;

/**
 * The Redis hash a scope's snapshot lives in (src/redis/keys.ts). Called in
 * Prepare, so the key is deleted when the test ends however it ends.
 */
async function trackRedisSnapshot(
  name: ExampleFunctionName,
  key: string,
  scope: WarmScope,
): Promise<{ version(): Promise<string | null> }> {
  const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  onTestFinished(() => {
    redis.disconnect();
  });
  const redisKey = snapshotKey(
    DEFAULT_SNAPSHOT_KEY_PREFIX,
    snapshotId({
      functionName: bundleOf(name).functionName,
      namespace: scope.ns,
      epoch: scope.epoch,
      generation: scope.gen,
      key,
    }),
  );
  onTestFinished(async () => {
    await redis.del(redisKey);
  });
  return { version: () => redis.hget(redisKey, 'v') };
}

describe('example function bundles (as cdk synth stages them)', () => {
  it('each asset folder holds the bundle, the package marker and the Lua scripts, nothing else', () => {
    // Prepare / Act: synthesized in beforeAll.
    // Assess
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const dir = bundleOf(name).dir;
      expect(readdirSync(dir).sort(), name).toEqual(['index.mjs', 'lambda', 'package.json']);
      expect(readdirSync(join(dir, 'lambda', 'stores', 'lua')), name).toContain(
        'cas-snapshot-1.lua',
      );
    }
  });

  it('counter counts per environment and sees its tenant ID', async () => {
    // Prepare
    const tenantId = 'BlueTenant';
    const calls = [0, 1, 2].map(() => ({ event: {}, tenantId }));
    // Act
    const results = (await runEnvironment('counter', {}, calls)) as {
      statusCode: number;
      body: string;
    }[];
    // Assess
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(results.map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { counter: 0, tenantId },
      { counter: 1, tenantId },
      { counter: 2, tenantId },
    ]);
  });

  /**
   * A fresh scope and tenant for `name` under `key`, the environment of `store`, and with
   * Redis the snapshot hash to read back.
   */
  async function inStore(store: keyof typeof STORES, name: ExampleFunctionName, key: string) {
    const scope = uniqueScope();
    return {
      env: STORES[store](),
      scope,
      tenantId: `t-${scope.ns}`,
      redis: store === 'redis' ? await trackRedisSnapshot(name, key, scope) : undefined,
    };
  }

  for (const store of ['file', 'redis'] as const) {
    it(`warm-counter rehydrates in a new environment from the ${store} snapshot store`, async () => {
      // Prepare
      const key = 'blue';
      const { env, scope, tenantId, redis } = await inStore(store, 'warm-counter', key);
      // Act: the first environment counts twice, a second (new process, empty /tmp) once more.
      const first = await runEnvironment('warm-counter', env, [
        { event: {}, tenantId, clientContext: gatewayRequest(key, scope, 0) },
        { event: {}, tenantId, clientContext: gatewayRequest(key, scope, 1) },
      ]);
      const second = await runEnvironment('warm-counter', env, [
        { event: {}, tenantId, clientContext: gatewayRequest(key, scope, 2) },
      ]);
      // Assess
      const [a, b] = first.map((r) => envelope<{ body: string }>(r));
      const [c] = second.map((r) => envelope<{ body: string }>(r));
      expect([a, b, c].map((e) => JSON.parse(e?.result.body ?? '{}') as unknown)).toEqual([
        { counter: 0, tenantId },
        { counter: 1, tenantId },
        { counter: 2, tenantId },
      ]);
      expect(b?.report).toMatchObject({ state: 'hit', stateVersion: 2 });
      expect(c?.report).toMatchObject({
        state: 'rehydrated',
        reason: 'first-use',
        stateVersion: 3,
      });
      expect(c?.report.env).not.toBe(a?.report.env);
      // With Redis, the snapshot is where the Redis store writes it (not in a file store).
      if (redis !== undefined) expect(await redis.version()).toBe('3');
    });

    it(`workspace keeps documents and note files across environments with the ${store} store`, async () => {
      // Prepare
      const key = 'ws';
      const { env, scope, tenantId, redis } = await inStore(store, 'workspace', key);
      // Act
      await runEnvironment('workspace', env, [
        {
          event: { op: 'put', id: 'a', doc: { title: 'hello' } },
          tenantId,
          clientContext: gatewayRequest(key, scope, 0),
        },
        {
          event: { op: 'note', text: 'first note' },
          tenantId,
          clientContext: gatewayRequest(key, scope, 1),
        },
      ]);
      const later = await runEnvironment('workspace', env, [
        { event: { op: 'get', id: 'a' }, tenantId, clientContext: gatewayRequest(key, scope, 2) },
        { event: { op: 'notes' }, tenantId, clientContext: gatewayRequest(key, scope, 3) },
      ]);
      // Assess
      const [doc, notes] = later.map((r) => envelope<Record<string, unknown>>(r));
      expect(doc?.report).toMatchObject({ state: 'rehydrated', reason: 'first-use' });
      expect(doc?.result).toMatchObject({ id: 'a', doc: { title: 'hello' }, key, tenantId });
      // The note lives in a file under the key's directory: restored from the snapshot's archive.
      expect(notes?.result).toMatchObject({ notes: ['first note'] });
      if (redis !== undefined) expect(Number(await redis.version())).toBeGreaterThanOrEqual(2);
    });
  }
  it('warm-counter authenticates to a password-protected Redis with the password variable the construct sets', async () => {
    // Prepare: a private redis-server with --requirepass; the password apart from the URL, as on AWS.
    const server = await passwordRedis();
    const env = {
      [FUNCTION_ENVIRONMENT.snapshotRedisUrl.env]: server.url,
      [FUNCTION_ENVIRONMENT.snapshotRedisPassword.env]: server.password,
    };
    const scope = uniqueScope();
    const tenantId = `t-${scope.ns}`;
    // Act
    await runEnvironment('warm-counter', env, [
      { event: {}, tenantId, clientContext: gatewayRequest('k', scope, 0) },
    ]);
    const [later] = await runEnvironment('warm-counter', env, [
      { event: {}, tenantId, clientContext: gatewayRequest('k', scope, 1) },
    ]);
    // Assess
    const e = envelope<{ body: string }>(later);
    expect(e.report).toMatchObject({ state: 'rehydrated', reason: 'first-use', stateVersion: 2 });
    expect(JSON.parse(e.result.body)).toEqual({ counter: 1, tenantId });
  });
});
