import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FUNCTIONS_FILE_DEFAULTS } from '../../src/config/function-settings.js';
import { isWarmrouteError } from '../../src/errors.js';
import {
  loadFunctionsFile,
  validateFunctions,
  type FunctionDefinition,
} from '../../src/localhost/function-registry.js';
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

/** Runs the validator; anything thrown but the registry's own WR_ERR_CONFIG fails the property. */
function outcome(raw: unknown, dir: string): FunctionDefinition[] | string {
  try {
    return validateFunctions(raw, dir, { HOST_A: 'a' });
  } catch (err) {
    if (!isWarmrouteError(err) || err.code !== 'WR_ERR_CONFIG') throw err;
    return err.message;
  }
}

describe('functions file: properties', () => {
  /** A declaration field: often a plausible value, sometimes any JSON. */
  const field = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: fc.jsonValue() });
  const nearlyValid = fc.dictionary(
    fc.constantFrom(
      'name',
      'codeDir',
      'handler',
      'tenancy',
      'memoryMb',
      'timeoutSeconds',
      'reservedConcurrency',
      'environment',
      'extra',
      '__proto__',
      'a/b~c',
    ),
    field(
      fc.oneof(
        fc.constantFrom('fn', 'f-1', 'index.handler', 'x/../../y.handler', 'PER_TENANT', 'NONE'),
        fc.integer({ min: -10, max: 20_000 }),
        fc.double({ noNaN: true }),
        fc.dictionary(fc.constantFrom('A', '1A', 'AWS_REGION', 'B', '__proto__'), fc.jsonValue()),
      ),
    ),
    { maxKeys: 8 },
  );

  it('any JSON at all: definitions or one WR_ERR_CONFIG report, never another error', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'fn'));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ functions: fc.jsonValue() }),
          fc.record({
            functions: fc.array(fc.oneof(nearlyValid, fc.jsonValue()), { maxLength: 4 }),
          }),
        ),
        (raw) => {
          const result = outcome(raw, dir);
          if (typeof result === 'string') {
            // Every line of the report names where the problem is.
            const lines = result.split('\n').slice(1);
            expect(lines.length).toBeGreaterThan(0);
            for (const line of lines) expect(line).toMatch(/^ {2}\S.*: \S/);
          } else {
            expect(Array.isArray(result)).toBe(true);
          }
        },
      ),
      { seed: 1201, numRuns: 500 },
    );
  });

  it('a valid file round-trips: definitions written back as a file give the same definitions', () => {
    const dir = tempDir();
    for (const d of ['a', 'b/c']) mkdirSync(join(dir, d), { recursive: true });
    const envName = fc
      .stringMatching(/^[a-zA-Z]\w{0,8}$/)
      .filter((k) => !['AWS_REGION', 'LAMBDA_TASK_ROOT', 'AWS_EXECUTION_ENV'].includes(k));
    const declaration = fc.record(
      {
        codeDir: fc.constantFrom('a', 'b/c', join(dir, 'a')),
        handler: fc.constantFrom('index.handler', 'lib/main.run', 'x/../index.handler.nested'),
        tenancy: fc.constantFrom('PER_TENANT', 'NONE'),
        memoryMb: fc.integer({ min: 128, max: 10_240 }),
        timeoutSeconds: fc.double({ min: 0.001, max: 900, noNaN: true }),
        reservedConcurrency: fc.integer({ min: 0, max: 1_000 }),
        // No `${`: substitution is covered by its own example above.
        environment: fc.dictionary(envName, fc.stringMatching(/^[^$]{0,12}$/), { maxKeys: 4 }),
      },
      { requiredKeys: ['codeDir'] },
    );
    const file = fc
      .uniqueArray(fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/), { maxLength: 5 })
      .chain((names) => fc.tuple(...names.map((name) => declaration.map((d) => ({ name, ...d })))))
      .map((functions) => ({ functions }));

    fc.assert(
      fc.property(file, (raw) => {
        const first = validateFunctions(raw, dir, {});
        // Omitted settings take the functions file's defaults; given ones are kept.
        first.forEach((f, i) => {
          const declared = raw.functions[i]!;
          expect(f).toMatchObject({
            ...FUNCTIONS_FILE_DEFAULTS,
            handler: 'index.handler',
            ...declared,
            codeDir: join(dir, declared.codeDir.replace(`${dir}/`, '')),
          });
        });
        const written = JSON.parse(JSON.stringify({ functions: first })) as unknown;
        expect(validateFunctions(written, '/elsewhere', {})).toEqual(first);
      }),
      { seed: 1202, numRuns: 200 },
    );
  });
});
