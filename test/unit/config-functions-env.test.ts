import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { FUNCTION_NAME_PATTERN, type FunctionSettings } from '../../src/config/schema.js';
import { configError } from '../helpers/config-error.js';

/**
 * WARMROUTE_FUNCTIONS: the config's `functions` record from the environment
 * (a container has no config file), overriding the file's `functions` as
 * WARMROUTE_ROUTES overrides `routes`, with the same every-error report.
 */

// Lambda's own name forms (a name with an optional qualifier), as config-starts.test.ts draws
// them: the loader's stricter name check (check-config.ts) refuses some names the schema's
// coarser FUNCTION_NAME_PATTERN lets through (`.-`), and this property is about accepted ones.
const functionName = fc
  .stringMatching(/^[a-zA-Z0-9_-]{1,64}(:[a-zA-Z0-9_-]{1,20})?$/)
  .filter((name) => new RegExp(FUNCTION_NAME_PATTERN).test(name));

const functionSettings: fc.Arbitrary<FunctionSettings> = fc.record({
  timeoutSeconds: fc.oneof(fc.constant(900), fc.double({ min: 0.001, max: 900, noNaN: true })),
  memoryMb: fc.oneof(fc.constant(128), fc.constant(10_240), fc.integer({ min: 128, max: 10_240 })),
  tenancy: fc.constantFrom('PER_TENANT' as const, 'NONE' as const),
});

const functionsRecord = fc.dictionary(functionName, functionSettings, { maxKeys: 5 });

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'wr-functions-env-'));
  onTestFinished(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('WARMROUTE_FUNCTIONS', () => {
  it('loads exactly the record it holds (property: any record the schema accepts)', () => {
    fc.assert(
      fc.property(functionsRecord, (functions) => {
        // Act
        const config = loadConfig({ WARMROUTE_FUNCTIONS: JSON.stringify(functions) });

        // Assess
        expect(config.functions).toEqual(functions);
      }),
    );
  });

  it("overrides the config file's functions as a whole, as WARMROUTE_ROUTES overrides routes", () => {
    // Prepare
    const path = configFile({
      functions: { fromFile: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'NONE' } },
    });
    const fromEnv = { counter: { timeoutSeconds: 10, memoryMb: 256, tenancy: 'PER_TENANT' } };

    // Act
    const fileOnly = loadConfig({ WARMROUTE_CONFIG: path });
    const both = loadConfig({
      WARMROUTE_CONFIG: path,
      WARMROUTE_FUNCTIONS: JSON.stringify(fromEnv),
    });

    // Assess
    expect(Object.keys(fileOnly.functions)).toEqual(['fromFile']);
    expect(both.functions).toEqual(fromEnv);
  });

  it('is the allow-list routes are checked against (endpoint backend)', () => {
    const err = configError(() =>
      loadConfig({
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
        WARMROUTE_FUNCTIONS: JSON.stringify({
          counter: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' },
        }),
        WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/x', function: 'other', mode: 'affinity' }]),
      }),
    );
    expect(err.message).toContain('function other is not among the known functions (counter)');
  });

  it('bad JSON is reported with the variable name, beside the other bad values', () => {
    const err = configError(() =>
      loadConfig({ WARMROUTE_FUNCTIONS: '{counter:', WARMROUTE_MAX_QUEUE_WAIT_MS: '0' }),
    );
    expect(err.code).toBe('WR_ERR_CONFIG');
    expect(err.message).toContain('WARMROUTE_FUNCTIONS="{counter:": must be JSON');
    expect(err.message).toContain('WARMROUTE_MAX_QUEUE_WAIT_MS');
  });

  it('every bad value of every function is reported, in one message, under the variable', () => {
    // Prepare: a bad value per field, in two functions, and an unknown field.
    const bad = {
      a: { timeoutSeconds: 0, memoryMb: 64, tenancy: 'SHARED' },
      b: { timeoutSeconds: 901, memoryMb: 128.5, tenancy: 'NONE', extra: true },
    };

    // Act
    const err = configError(() => loadConfig({ WARMROUTE_FUNCTIONS: JSON.stringify(bad) }));

    // Assess
    for (const path of [
      'functions.a.timeoutSeconds',
      'functions.a.memoryMb',
      'functions.a.tenancy',
      'functions.b.timeoutSeconds',
      'functions.b.memoryMb',
      'WARMROUTE_FUNCTIONS (functions.b): unknown setting(s) extra',
    ]) {
      expect(err.message).toContain(path);
    }
    expect(err.message).toContain('WARMROUTE_FUNCTIONS (functions.a.timeoutSeconds)');
  });

  it('a value that is not an object is reported, not thrown as a TypeError (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer(), { maxLength: 3 }),
          fc.string(),
          fc.integer(),
          fc.boolean(),
          fc.constant(null),
        ),
        (value) => {
          const err = configError(() => loadConfig({ WARMROUTE_FUNCTIONS: JSON.stringify(value) }));
          expect(err.code).toBe('WR_ERR_CONFIG');
          expect(err.message).toContain('WARMROUTE_FUNCTIONS');
        },
      ),
    );
  });
});
