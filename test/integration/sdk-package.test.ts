import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { ok, startScriptedServer, type ScriptedServer } from '../helpers/sdk-scripted-server.js';

/**
 * The SDK as users get it: `import … from 'warmroute/sdk'` resolved through
 * the package's exports to the compiled dist/ (run `npm run build` first;
 * `npm test` does), its declarations, and `affinityInvoke` configured only
 * by WARMROUTE_URL — in a separate Node process, which must exit on its own
 * (idle keep-alive sockets do not hold it) and must not load the AWS SDK or
 * ioredis for the HTTP transport.
 */

// Logs every module resolved from the AWS SDK or ioredis (a module hook runs off-thread, hence stdout).
const HOOK = `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('@aws-sdk') || r.url.includes('/ioredis/')) process.stdout.write('HEAVY ' + r.url + '\\n');
  return r;
}`;

const CHILD = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}));
const sdk = await import('warmroute/sdk');
const res = await sdk.affinityInvoke('blue', { n: 1 }, { functionName: 'counter' });
let missing;
try {
  await sdk.createAffinityClient({ url: process.env.WARMROUTE_URL }).invoke('blue', {});
} catch (err) {
  missing = { isAffinityError: err instanceof sdk.AffinityError, code: err.code };
}
console.log('RESULT ' + JSON.stringify({ exports: Object.keys(sdk).sort(), res, missing }));
// Positive control for the hook: the embedded side does load the AWS SDK.
await import('@aws-sdk/client-lambda');
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function runChild(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: packageRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Bounded: a child held open by sockets would fail the test instead of hanging it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('warmroute/sdk package entry', () => {
  it('ships declarations next to the compiled entry', () => {
    const dts = join(packageRoot, 'dist/src/sdk/index.d.ts');
    expect(existsSync(dts)).toBe(true);
    const text = readFileSync(dts, 'utf8');
    for (const name of [
      'affinityInvoke',
      'createAffinityClient',
      'AffinityError',
      'FunctionError',
      'TransportError',
      'AffinityResult',
      'InvokeOptions',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('calls a gateway from WARMROUTE_URL alone, exits by itself, and never loads the AWS SDK for HTTP', async () => {
    // Prepare
    const gw: ScriptedServer = await startScriptedServer([ok({ counter: 0 })]);
    cleanups.push(() => gw.close());
    // Act
    const child = await runChild({ WARMROUTE_URL: gw.url });
    // Assess
    expect(child.code, child.stderr).toBe(0);
    const [beforeResult, afterResult = ''] = child.stdout.split('RESULT ');
    const result = JSON.parse(afterResult.split('\n')[0] ?? '') as {
      exports: string[];
      res: { result: unknown; state: string; tenantId: string };
      missing: { isAffinityError: boolean; code: string };
    };
    expect(result.exports).toEqual(
      expect.arrayContaining([
        'affinityInvoke',
        'createAffinityClient',
        'AffinityError',
        'FunctionError',
        'TransportError',
      ]),
    );
    expect(result.res).toMatchObject({ result: { counter: 0 }, state: 'hit', tenantId: 'wr-test' });
    expect(result.missing).toEqual({ isAffinityError: true, code: 'WR_ERR_BAD_REQUEST' });
    expect(gw.requests[0]?.headers['x-affinity-key']).toBe('blue');
    expect(beforeResult).not.toContain('HEAVY');
    expect(afterResult).toContain('HEAVY');
  });
});
