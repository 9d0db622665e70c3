import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFunctionsFile } from '../../src/localhost/function-registry.js';
import { invoke, json, lambdaClient, startTestHost } from '../helpers/localhost-host.js';

/**
 * Second outside review, local host: an evict filter and a functions file
 * that were read loosely enough to do something other than what was meant.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warmroute-review-'));
  dirs.push(d);
  return d;
}

/** The WR_ERR_* code a WarmrouteError carries ('' when none was thrown). */
function configError(load: () => unknown): { code: string; message: string } {
  try {
    load();
  } catch (err) {
    return { code: (err as { code?: string }).code ?? '', message: (err as Error).message };
  }
  return { code: '', message: '' };
}

describe('POST /_local/evict', () => {
  it('a misspelled evict filter is refused instead of evicting every environment', async () => {
    // Prepare
    const host = await startTestHost();
    const client = lambdaClient(host);
    await invoke(client, { FunctionName: 'counter', TenantId: 'BlueTenant', Payload: '{}' });
    expect(host.environments()).toHaveLength(1);

    // Act: the operator meant { "tenant": "GreenTenant" }.
    const res = await fetch(`${host.url}/_local/evict`, {
      method: 'POST',
      body: JSON.stringify({ tenent: 'GreenTenant' }),
    });

    // Assess
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('WR_ERR_BAD_REQUEST');
    expect(body.error.message).toContain('"tenent"');
    expect(host.environments()).toHaveLength(1);
  });

  it('refuses wrong types, and still evicts by filter or everything with {}', async () => {
    // Prepare
    const host = await startTestHost();
    const client = lambdaClient(host);
    await invoke(client, { FunctionName: 'counter', TenantId: 'BlueTenant', Payload: '{}' });
    await invoke(client, { FunctionName: 'counter', TenantId: 'GreenTenant', Payload: '{}' });
    await invoke(client, { FunctionName: 'counter', TenantId: 'RedTenant', Payload: '{}' });
    const evict = (body: unknown): Promise<Response> =>
      fetch(`${host.url}/_local/evict`, { method: 'POST', body: JSON.stringify(body) });

    // Act + Assess: refused filters evict nothing.
    for (const bad of [
      { tenant: 5 },
      { function: null },
      { tenant: 'BlueTenant', all: true },
      [],
    ]) {
      const res = await evict(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'WR_ERR_BAD_REQUEST',
      );
    }
    expect(host.environments()).toHaveLength(3);

    const one = await evict({ function: 'counter', tenant: 'BlueTenant' });
    expect(await one.json()).toEqual({ evicted: 1 });
    expect(
      host
        .environments()
        .map((e) => e.tenant)
        .sort(),
    ).toEqual(['GreenTenant', 'RedTenant']);

    // Field names an object inherits are unknown fields too, and every
    // unknown field is found however many there are.
    const inherited = await evict({ constructor: 'x' });
    expect(inherited.status).toBe(400);
    expect(((await inherited.json()) as { error: { message: string } }).error.message).toContain(
      '"constructor"',
    );
    const many = await evict(
      Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, i])),
    );
    expect(many.status).toBe(400);
    expect(((await many.json()) as { error: { message: string } }).error.message).toContain(
      'unknown fields "f0", "f1", "f2", "f3", "f4", …',
    );
    expect(host.environments()).toHaveLength(2);

    // {} is documented as "every environment".
    const all = await evict({});
    expect(await all.json()).toEqual({ evicted: 2 });
    expect(host.environments()).toHaveLength(0);
  });
});

describe('functions file', () => {
  it('refuses a handler whose module path escapes codeDir, in one clear message', () => {
    // Prepare: code a handler could reach outside its directory.
    const dir = tempDir();
    mkdirSync(join(dir, 'fn', 'x'), { recursive: true });
    writeFileSync(join(dir, 'evil.js'), 'exports.handler = async () => "escaped";\n');
    writeFileSync(
      join(dir, 'functions.json'),
      JSON.stringify({
        functions: [
          { name: 'up', codeDir: 'fn', handler: 'x/../../evil.handler' },
          { name: 'deep', codeDir: 'fn', handler: 'x/../../../../tmp/evil.handler' },
          { name: 'absolute', codeDir: 'fn', handler: `${dir}/evil.handler` },
          { name: 'fine', codeDir: 'fn', handler: 'x/../x/index.handler' },
        ],
      }),
    );

    // Act
    const { code, message } = configError(() => loadFunctionsFile(join(dir, 'functions.json'), {}));

    // Assess
    expect(code).toBe('WR_ERR_CONFIG');
    expect(message).toContain('functions[0].handler');
    expect(message).toContain('functions[1].handler');
    expect(message).toContain('functions[2].handler');
    expect(message).toContain('inside codeDir');
    // A `..` that stays inside codeDir is an ordinary path.
    expect(message).not.toContain('functions[3]');
  });

  it('the environment refuses an escaping handler given as a definition, without loading it', async () => {
    // Prepare: definitions passed directly skip the functions file's checks.
    const dir = tempDir();
    mkdirSync(join(dir, 'fn'));
    writeFileSync(join(dir, 'evil.js'), 'exports.handler = async () => "escaped";\n');
    const host = await startTestHost({
      functions: [
        {
          name: 'escape',
          codeDir: join(dir, 'fn'),
          handler: '../evil.handler',
          tenancy: 'NONE',
          memoryMb: 128,
          timeoutSeconds: 3,
          reservedConcurrency: undefined,
          environment: {},
        },
      ],
    });
    const client = lambdaClient(host);

    // Act
    const out = await invoke(client, { FunctionName: 'escape', Payload: '{}' });

    // Assess
    expect(out.FunctionError).toBe('Unhandled');
    expect(json(out)).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringContaining('outside LAMBDA_TASK_ROOT') as unknown,
    });
  });

  it('refuses a file that is a bare array, or has fields other than "functions"', () => {
    // Prepare
    const dir = tempDir();
    writeFileSync(join(dir, 'array.json'), '[]');
    writeFileSync(join(dir, 'extra.json'), JSON.stringify({ functions: [], fucntions: [] }));
    writeFileSync(join(dir, 'missing.json'), JSON.stringify({ function: [] }));

    // Act
    const array = configError(() => loadFunctionsFile(join(dir, 'array.json'), {}));
    const extra = configError(() => loadFunctionsFile(join(dir, 'extra.json'), {}));
    const missing = configError(() => loadFunctionsFile(join(dir, 'missing.json'), {}));

    // Assess
    expect(array.code).toBe('WR_ERR_CONFIG');
    expect(array.message).toContain('expected an object { "functions": [ … ] }, got an array');
    expect(extra.code).toBe('WR_ERR_CONFIG');
    expect(extra.message).toContain('fucntions: unknown field');
    expect(missing.code).toBe('WR_ERR_CONFIG');
    expect(missing.message).toContain('function: unknown field');
    expect(missing.message).toContain('functions: expected an array');
  });
});
