import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { scanKeys } from '../../src/redis/scan.js';
import { deleteByPrefix, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The package as a user gets it (issue 11, defect 10): `npm pack` of the
 * current build, installed into a new project outside this repo, and every
 * entry point used from there — `warmroute` (createGateway), `warmroute/sdk`,
 * `warmroute/lambda` with each snapshot store, and the `warmroute` bin. Needs
 * `npm run build` first (`npm test` does).
 *
 * The install is real npm but never touches the network: the project's
 * node_modules is seeded with (hard-linked) copies of this repo's production
 * dependencies (the non-dev entries of package-lock.json), the registry is an unreachable
 * loopback address and the cache is empty, so npm only unpacks the tarball,
 * links its bin and checks that what is there satisfies its dependencies.
 * Only production dependencies are copied, so a runtime import of a
 * devDependency fails here as it would for a user.
 */

const run = promisify(execFile);

interface PackedFile {
  readonly path: string;
}

interface LockEntry {
  readonly dev?: boolean;
  readonly link?: boolean;
  readonly bin?: Record<string, string>;
}

/** Environment for child processes: nothing of this repo's or the runner's warmroute/AWS/npm settings. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_|WARMROUTE_|AWS_|REDIS_)/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Every file under `dir`, as paths relative to the package root. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(packageRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(packageRoot, join(e.parentPath, e.name)));
}

/**
 * Mirror `from` at `to` with hard links (a copy where the file system refuses
 * one): the same bytes as a copy, in a fraction of the time. Safe for this
 * repo's node_modules because npm never writes into the files of a package it
 * leaves in place; it only adds the tarball's own files beside them.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) linkTree(source, target);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}

let project = '';
let packed: string[] = [];

async function runNode(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; result: unknown }> {
  const source = join(packageRoot, 'test/helpers/package-consumer', script);
  if (existsSync(source)) cpSync(source, join(project, script));
  const child = spawn(process.execPath, [script], {
    cwd: project,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // Bounded: a child kept alive by something `close()` forgot fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  clearTimeout(timer);
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return {
    code,
    stdout,
    stderr,
    result: line === undefined ? undefined : (JSON.parse(line.slice('RESULT '.length)) as unknown),
  };
}

beforeAll(async () => {
  for (const built of ['dist/src/cli.js', 'dist/lambda/index.js']) {
    if (!existsSync(join(packageRoot, built)))
      throw new Error(`${built} missing: run npm run build`);
  }
  project = mkdtempSync(join(tmpdir(), 'warmroute-pack-'));

  // Pack the current tree (already built: --ignore-scripts skips `prepare`'s second build).
  const packedJson = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', project],
    { cwd: packageRoot, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 },
  );
  const [info] = JSON.parse(packedJson.stdout) as { filename: string; files: PackedFile[] }[];
  if (info === undefined) throw new Error('npm pack printed no package');
  packed = info.files.map((f) => f.path);

  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'warmroute-consumer', version: '1.0.0', private: true, type: 'module' }),
  );
  const lock = JSON.parse(readFileSync(join(packageRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev === true || entry.link === true) continue;
    const name = path.slice('node_modules/'.length);
    if (name.includes('/node_modules/')) continue; // copied with its parent
    linkTree(join(packageRoot, path), join(project, 'node_modules', name));
    // npm reinstalls (from the registry) a package whose bin links are missing.
    for (const [bin, target] of Object.entries(entry.bin ?? {})) {
      symlinkSync(join('..', name, target), join(project, 'node_modules', '.bin', bin));
    }
  }
  await run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--cache',
      join(project, '.npm-cache'),
      '--registry',
      'http://127.0.0.1:9/',
      `./${info.filename}`,
    ],
    { cwd: project, env: cleanEnv() },
  );
}, 120_000);

afterAll(() => {
  if (project !== '') rmSync(project, { recursive: true, force: true });
});

// Child processes on a shared, busy machine: generous bounds, so a slow run is not a failure.
describe('the packed package', { timeout: 60_000 }, () => {
  it('ships every runtime asset and every entry point, and no tests, benchmarks, sources or source maps', () => {
    // Prepare: what the loaders read at run time, listed from the tree so new scripts are covered.
    const runtimeAssets = [
      ...filesUnder('src/redis/lua').filter((f) => f.endsWith('.lua')),
      ...filesUnder('lambda/stores/lua').filter((f) => f.endsWith('.lua')),
      ...filesUnder('lambda/examples'),
      'dist/src/localhost/bootstrap.js',
    ];
    const manifest = JSON.parse(
      readFileSync(join(project, 'node_modules/warmroute/package.json'), 'utf8'),
    ) as {
      main: string;
      types: string;
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
    };
    const entryPoints = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.bin),
      ...Object.values(manifest.exports).flatMap((e) =>
        typeof e === 'string' ? [e] : Object.values(e),
      ),
    ].map((p) => p.replace(/^\.\//, ''));

    // Assess
    expect(runtimeAssets.length).toBeGreaterThan(8);
    expect(packed).toEqual(expect.arrayContaining([...runtimeAssets, ...entryPoints]));
    const junk = packed.filter(
      (p) =>
        /^(test|bench|docs|deploy|dashboards|node_modules)\//.test(p) ||
        /^dist\/(test|bench)\//.test(p) ||
        p.endsWith('.map') ||
        (p.endsWith('.ts') && !p.endsWith('.d.ts')),
    );
    expect(junk).toEqual([]);
  });

  it('`warmroute`: createGateway serves the shipped example functions, and `warmroute/sdk` calls it', async () => {
    // Act
    // Own snapshot directory: warm-counter's file store must start empty on every run.
    const child = await runNode('gateway.mjs', {
      WARMROUTE_SNAPSHOT_DIR: join(project, 'gateway-snapshots'),
    });
    // Assess
    expect(child.code, child.stderr).toBe(0);
    const result = child.result as {
      exports: string[];
      badConfig: { isWarmrouteError: boolean; code: string };
      catalogueHasConfig: number;
      localHostFunctions: string[];
      counter: { status: number; state: string; tenant: string; body: unknown }[];
      warmCounter: { status: number; state: string; body: unknown }[];
      sdk: { state: string; tenantId: string; result: unknown }[];
      closedTwice: boolean;
    };
    expect(result.exports).toEqual(
      expect.arrayContaining([
        'buildApp',
        'createDependencies',
        'createGateway',
        'errorCatalogue',
        'isWarmrouteError',
        'loadConfig',
        'startLocalHost',
        'WarmrouteError',
      ]),
    );
    expect(result.badConfig).toEqual({ isWarmrouteError: true, code: 'WR_ERR_CONFIG' });
    expect(result.catalogueHasConfig).toBe(500);
    expect(result.localHostFunctions).toEqual(
      expect.arrayContaining(['counter', 'warm-counter', 'workspace']),
    );
    // The same key lands in the same warm environment: its module-level counter goes on.
    const [first, second] = result.counter;
    expect(first?.status).toBe(200);
    expect(JSON.parse((first?.body as { body: string }).body)).toMatchObject({ counter: 0 });
    expect(JSON.parse((second?.body as { body: string }).body)).toMatchObject({ counter: 1 });
    expect(second?.tenant).toBe(first?.tenant);
    // warm-counter imports `warmroute/lambda` from the installed package (file store).
    expect(result.warmCounter.map((r) => r.status)).toEqual([200, 200]);
    expect(
      result.warmCounter.map(
        (r) => (JSON.parse((r.body as { body: string }).body) as { counter: number }).counter,
      ),
    ).toEqual([0, 1]);
    expect(result.warmCounter[1]?.state).toBe('hit');
    // affinityInvoke (WARMROUTE_URL) continues blue's counter; a client for green starts its own.
    expect(
      result.sdk.map((r) => JSON.parse((r.result as { body: string }).body) as unknown),
    ).toEqual([expect.objectContaining({ counter: 2 }), expect.objectContaining({ counter: 0 })]);
    expect(result.sdk[0]?.tenantId).toBe(first?.tenant);
    expect(result.closedTwice).toBe(true);
  });

  it('`warmroute/lambda`: every snapshot store checkpoints and rehydrates, Redis with the Lua script from the installed package', async () => {
    // Prepare
    const prefix = uniquePrefix('pack');
    const scratch = join(project, 'lambda-scratch');
    mkdirSync(scratch);
    try {
      // Act
      const child = await runNode('lambda.mjs', {
        PACK_TMP: scratch,
        PACK_REDIS_URL: SHARED_REDIS_URL,
        PACK_REDIS_PREFIX: prefix,
      });
      // Assess
      expect(child.code, child.stderr).toBe(0);
      const expected = { results: [0, 1, 2], reports: ['fresh', 'hit', 'rehydrated'] };
      expect(child.result).toEqual({ memory: expected, file: expected, redis: expected });
      // The Redis store really wrote through its script (not some in-process fallback).
      const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        // The whole keyspace, not one SCAN page: the shared server holds many
        // other tests' keys (every directory namespace now has 1,024 epoch keys).
        const keys: string[] = [];
        for await (const key of scanKeys(redis, `${prefix}*`)) keys.push(key);
        expect(keys.length).toBeGreaterThan(0);
      } finally {
        redis.disconnect();
      }
    } finally {
      await deleteByPrefix(SHARED_REDIS_URL, prefix);
    }
  });

  it('README: the "Embedding the gateway" example runs as written against the installed package', async () => {
    // Prepare: the first js block of the section, byte for byte.
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const section = readme.split('## Embedding the gateway')[1]?.split('\n## ')[0] ?? '';
    const example = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example, 'README has no js example under "Embedding the gateway"').toBeDefined();
    writeFileSync(join(project, 'embed.mjs'), example ?? '');
    // Act
    const child = await runNode('embed.mjs', { WARMROUTE_LOG_LEVEL: 'silent' });
    // Assess: two calls for blue, one warm environment (its counter goes on).
    expect(child.code, child.stderr).toBe(0);
    const lines = child.stdout.split('\n').filter((l) => l.startsWith('200 '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/counter: 0/);
    expect(lines[1]).toMatch(/counter: 1/);
  });

  it('TypeScript: the declarations of every entry point resolve for a NodeNext consumer', async () => {
    // Prepare: a strict consumer using a type and a value from each entry.
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { createGateway, loadConfig, errorCatalogue, WarmrouteError } from 'warmroute';",
        "import type { Config, ErrorCode, Gateway } from 'warmroute';",
        "import { affinityInvoke, type AffinityResult } from 'warmroute/sdk';",
        "import { withWarmState, FileSnapshotStore, RedisSnapshotStore } from 'warmroute/lambda';",
        'const config: Config = loadConfig({});',
        'const gateway: Promise<Gateway> = createGateway(config);',
        "const code: ErrorCode = 'WR_ERR_CONFIG';",
        'const status: number = errorCatalogue[code].status;',
        "const call: Promise<AffinityResult<{ n: number }>> = affinityInvoke<{ n: number }>('k');",
        'const handler = withWarmState(async () => 1, {',
        '  initialState: () => ({ n: 0 }),',
        '  store: new FileSnapshotStore(),',
        '});',
        'export const used = [gateway, status, call, handler, WarmrouteError, RedisSnapshotStore];',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    // Act: this repo's compiler (a devDependency), run in the consumer project.
    const tsc = join(packageRoot, 'node_modules/typescript/bin/tsc');
    const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: project,
      env: cleanEnv(),
    }).then(
      () => ({ ok: true, output: '' }),
      (err: unknown) => ({
        ok: false,
        output: String((err as { stdout?: unknown }).stdout ?? err),
      }),
    );
    // Assess
    expect(checked).toEqual({ ok: true, output: '' });
  });

  it('the `warmroute` bin: `npx warmroute --help`, and `warmroute local` answers /_local/healthz', async () => {
    // Act: --help through npx, as a user types it (offline: it must resolve the local bin).
    const help = await run('npx', ['--offline', '--no-install', 'warmroute', '--help'], {
      cwd: project,
      env: cleanEnv(),
    });
    // Assess
    expect(help.stdout).toContain('usage: warmroute');
    expect(help.stdout).toContain('local');

    // Act: the bin link itself (its shebang starts node), so the PID is the host's own.
    const local: ChildProcess = spawn(
      join(project, 'node_modules/.bin/warmroute'),
      ['local', '--port', '0'],
      {
        cwd: project,
        env: cleanEnv({ WARMROUTE_LOG_LEVEL: 'silent' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => local.once('exit', resolve));
    try {
      let stdout = '';
      let stderr = '';
      local.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        local.stdout?.on('data', (c: Buffer) => {
          stdout += c.toString();
          const match = /local Lambda host on (http:\/\/\S+)/.exec(stdout);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        void exited.then((code) => {
          reject(new Error(`warmroute local exited with ${String(code)}: ${stderr}`));
        });
      });
      const health = await fetch(`${url}/_local/healthz`);
      // Assess
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true });
    } finally {
      local.kill('SIGTERM');
      const timer = setTimeout(() => local.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  });
});
