import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { distDir, packageRoot } from '../../src/paths.js';
import { deleteByPrefix, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * Cold-start cost of `warmroute/lambda`: a function that uses the file store
 * must not load ioredis, and one whose keys have no files must not load tar.
 * Checked in a real child process (as a Lambda environment would import the
 * package), with a resolve hook that reports which heavy packages were loaded.
 */

const functionsDir = join(packageRoot, 'test/helpers/warm-state-functions');

interface ProbeOutput {
  loaded: string[];
  report: { state: string; stateVersion: number };
  result: number;
}

function probe(mode: 'file-state' | 'file-dir' | 'redis', where: string, prefix = 'probe:') {
  const hook = pathToFileURL(join(functionsDir, 'load-hook.mjs')).href;
  const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(hook)})`;
  return new Promise<ProbeOutput>((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--no-warnings',
        '--import',
        register,
        join(functionsDir, 'cold-start-probe.mjs'),
        mode,
        where,
        prefix,
      ],
      {
        cwd: packageRoot,
        timeout: 20_000,
        env: { ...process.env, WARMROUTE_SNAPSHOT_REDIS_URL: '' },
      },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`probe ${mode} failed: ${err.message}\n${stderr}`));
          return;
        }
        const loaded = [...stderr.matchAll(/^WARMROUTE_PROBE_LOADED (\w+)$/gm)].map(
          (m) => m[1] ?? '',
        );
        const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Omit<
          ProbeOutput,
          'loaded'
        >;
        resolve({ ...out, loaded: [...new Set(loaded)].sort() });
      },
    );
  });
}

describe('warmroute/lambda cold start: heavy packages load only when used', () => {
  async function snapshotDir(): Promise<string> {
    expect(existsSync(join(distDir, 'lambda', 'index.js')), 'run npm run build first').toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'wr-ws-cold-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it('file store, state only: neither ioredis nor tar is loaded', async () => {
    const out = await probe('file-state', await snapshotDir());

    expect(out.report).toMatchObject({ state: 'fresh', stateVersion: 1 });
    expect(out.result).toBe(1);
    expect(out.loaded).toEqual([]);
  });

  it('file store with files in the key directory: tar is loaded to pack them, ioredis is not', async () => {
    const out = await probe('file-dir', await snapshotDir());

    expect(out.report).toMatchObject({ state: 'fresh', stateVersion: 1 });
    expect(out.loaded).toEqual(['tar']);
  });

  it('Redis store: ioredis is loaded on first use and the store works', async () => {
    const prefix = uniquePrefix('wscold');
    onTestFinished(() => deleteByPrefix(SHARED_REDIS_URL, prefix));

    const out = await probe('redis', SHARED_REDIS_URL, prefix);

    expect(out.report).toMatchObject({ state: 'fresh', stateVersion: 1 });
    expect(out.loaded).toEqual(['ioredis']);
  });
});
