import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFunctionsFile, validateFunctions } from '../../src/localhost/function-registry.js';
import { examplesDir } from '../../src/paths.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warmroute-registry-'));
  dirs.push(d);
  return d;
}

describe('functions file', () => {
  it('loads the shipped examples with defaults and paths relative to the file', () => {
    const fns = loadFunctionsFile(join(examplesDir, 'functions.json'), {});
    const byName = new Map(fns.map((f) => [f.name, f]));

    expect([...byName.keys()]).toEqual(
      expect.arrayContaining(['counter', 'counter-shared', 'warm-counter', 'workspace']),
    );
    expect(byName.get('counter')).toMatchObject({
      codeDir: join(examplesDir, 'counter'),
      handler: 'index.handler',
      tenancy: 'PER_TENANT',
      memoryMb: 128,
      timeoutSeconds: 3,
      reservedConcurrency: undefined,
    });
    expect(byName.get('counter-shared')?.tenancy).toBe('NONE');
    // Unset ${VAR} references leave the variable unset.
    expect(byName.get('warm-counter')?.environment).toEqual({});
  });

  it('applies defaults and substitutes ${VAR} and ${VAR:-default} from the host environment', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'fn'));

    const [f] = validateFunctions(
      {
        functions: [
          {
            name: 'f',
            codeDir: 'fn',
            environment: { A: '${HOST_A}', B: '${NOPE:-fallback}', C: 'x-${HOST_A}-y', D: '' },
          },
        ],
      },
      dir,
      { HOST_A: 'a' },
    );

    expect(f).toMatchObject({
      handler: 'index.handler',
      tenancy: 'NONE',
      memoryMb: 128,
      timeoutSeconds: 3,
    });
    expect(f?.environment).toEqual({ A: 'a', B: 'fallback', C: 'x-a-y', D: '' });
  });

  it('reports every bad value in one message', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'ok'));
    writeFileSync(
      join(dir, 'functions.json'),
      JSON.stringify({
        functions: [
          {
            name: 'bad name',
            codeDir: 'missing',
            handler: 'nodot',
            tenancy: 'SOMETIMES',
            memoryMb: 64,
            timeoutSeconds: 0,
          },
          {
            name: 'ok',
            codeDir: 'ok',
            reservedConcurrency: -1,
            environment: { AWS_REGION: 'x', '1A': 'y', N: 5 },
            extra: 1,
          },
          { name: 'ok', codeDir: 'ok' },
        ],
      }),
    );

    let message = '';
    try {
      loadFunctionsFile(join(dir, 'functions.json'), {});
    } catch (err) {
      message = (err as Error & { code?: string }).message;
      expect((err as { code?: string }).code).toBe('WR_ERR_CONFIG');
    }

    for (const expected of [
      'functions[0].name',
      'functions[0].codeDir',
      'functions[0].handler',
      'functions[0].tenancy',
      'functions[0].memoryMb',
      'functions[0].timeoutSeconds',
      'functions[1].reservedConcurrency',
      'functions[1].environment.AWS_REGION: reserved',
      'functions[1].environment.1A',
      'functions[1].environment.N',
      'functions[1].extra: unknown field',
      "functions[2].name: duplicate function name 'ok'",
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('explains a missing or unparsable file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.json'), '{ nope');

    expect(() => loadFunctionsFile(join(dir, 'absent.json'), {})).toThrow(/cannot be read/);
    expect(() => loadFunctionsFile(join(dir, 'broken.json'), {})).toThrow(/not valid JSON/);
  });
});
