import { describe, expect, it } from 'vitest';
import type { InvokeResult } from '../../src/backend/backend.js';
import { WarmrouteError } from '../../src/errors.js';
import {
  ERROR_TYPE_LABELS,
  isValidFunctionName,
  MAX_FUNCTION_LABELS,
} from '../../src/invoker/metric-labels.js';
import { validateWarmReport } from '../../src/invoker/warm-report.js';
import { mulberry32 as prng } from '../../bench/workload/prng.js';
import {
  envelope,
  functionError,
  invokerFixture,
  parseExposition,
} from '../helpers/invoker-fixture.js';

/**
 * Issue 11, defect 3: what a function reports is its word, not ours. A
 * reported state outside hit/rehydrated/fresh, an environment id unfit for a
 * header, or an invented error name must not reach a metric label, a
 * response header or the directory.
 */

const good = {
  v: 1,
  env: '0123456789abcdef',
  state: 'rehydrated',
  reason: 'first-use',
  stateVersion: 3,
  rehydrateMs: 12.5,
  coldStart: true,
};

describe('validateWarmReport', () => {
  it('keeps every field of a well-formed report', () => {
    const { report, invalid } = validateWarmReport({ ...good, conflicts: 1 });
    expect(invalid).toEqual([]);
    expect(report).toEqual({
      state: 'rehydrated',
      reason: 'first-use',
      env: '0123456789abcdef',
      stateVersion: 3,
      rehydrateMs: 12.5,
      conflicts: 1,
      coldStart: true,
    });
  });

  it.each([
    ['state', { state: 'bogus' }, { state: 'unknown' }],
    ['state', { state: ['hit'] }, { state: 'unknown' }],
    ['reason', { reason: 'because' }, { reason: 'other' }],
    ['env', { env: 'a\r\nset-cookie: x=1' }, { env: undefined }],
    ['env', { env: 'x'.repeat(65) }, { env: undefined }],
    ['env', { env: '' }, { env: undefined }],
    ['env', { env: 42 }, { env: undefined }],
    ['stateVersion', { stateVersion: -1 }, { stateVersion: undefined }],
    ['stateVersion', { stateVersion: 1.5 }, { stateVersion: undefined }],
    ['stateVersion', { stateVersion: 2 ** 60 }, { stateVersion: undefined }],
    ['stateVersion', { stateVersion: '3' }, { stateVersion: undefined }],
    ['rehydrateMs', { rehydrateMs: -5 }, { rehydrateMs: 0 }],
    ['rehydrateMs', { rehydrateMs: 1e12 }, { rehydrateMs: 0 }],
    ['rehydrateMs', { rehydrateMs: 'NaN' }, { rehydrateMs: 0 }],
    ['conflicts', { conflicts: -1 }, { conflicts: undefined }],
    ['conflicts', { conflicts: 0.5 }, { conflicts: undefined }],
    ['coldStart', { coldStart: 'yes' }, { coldStart: undefined }],
  ])('drops an invalid %s (%j) and names it', (field, change, expected) => {
    const { report, invalid } = validateWarmReport({ ...good, ...change });
    expect(invalid).toEqual([field]);
    expect(report).toMatchObject(expected);
  });

  it('treats a non-object report as no report', () => {
    for (const raw of [null, 'hit', 7, ['hit']]) {
      expect(validateWarmReport(raw)).toMatchObject({
        report: { state: 'unknown', env: undefined },
        invalid: ['report'],
      });
    }
  });
});

describe('isValidFunctionName', () => {
  it.each([
    'counter',
    'my_fn-2',
    'x'.repeat(64),
    'counter:prod',
    'counter:$LATEST',
    '123456789012:function:counter',
    'arn:aws:lambda:us-east-1:123456789012:function:counter',
    'arn:aws-cn:lambda:cn-north-1:123456789012:function:counter:7',
  ])('accepts Lambda’s form %s', (name) => {
    expect(isValidFunctionName(name)).toBe(true);
  });

  it.each(['', 'x'.repeat(65), 'a b', 'a/b', 'a.b', 'é', 'arn:aws:s3:::bucket', 'a:b:c:d'])(
    'refuses %j',
    (name) => {
      expect(isValidFunctionName(name)).toBe(false);
    },
  );
});

describe('the invoker and what a function reports', () => {
  it('answers state unknown for state "bogus", counts the invalid report, exports no "bogus"', async () => {
    // Prepare
    const f = invokerFixture();
    f.answer(() => envelope({ ...good, state: 'bogus', env: 'bad env\n' }));

    // Act
    const result = await f.invoke('counter');

    // Assess: the header values are validated ones, the payload is still unwrapped.
    expect(result.state).toBe('unknown');
    expect(result.envId).toBeUndefined();
    expect(new TextDecoder().decode(result.payload)).toBe('{"ok":true}');
    // The directory records no environment id it cannot trust.
    // The version is recorded for the function that reported it (versions are per function).
    expect(f.outcomes).toEqual([
      { key: 'k1', envId: '', state: 'unknown', stateVersion: 3, functionName: 'counter' },
    ]);
    expect(f.resolves).toEqual([{ key: 'k1', functionName: 'counter' }]);
    const text = await f.metrics.registry.metrics();
    expect(text).not.toContain('bogus');
    const samples = parseExposition(text);
    const invalid = samples.filter((s) => s.name === 'warmroute_invalid_reports_total');
    expect(invalid.map((s) => [s.labels.field, s.value]).sort()).toEqual([
      ['env', 1],
      ['state', 1],
    ]);
    expect(samples.find((s) => s.name === 'warmroute_invocations_total')?.labels).toMatchObject({
      function: 'counter',
      state: 'unknown',
      outcome: 'ok',
    });
  });

  it('keeps 30 random error names to one `other` series, known ones as themselves', async () => {
    // Prepare
    const f = invokerFixture();
    const random = prng(11);
    const names = Array.from(
      { length: 30 },
      (_, i) => `Err${i}_${Math.floor(random() * 1e9).toString(36)}`,
    );

    // Act
    for (const name of [...names, 'TypeError', 'Sandbox.Timedout', 'Runtime.Bogus']) {
      f.answer(() => functionError(name));
      const result = await f.invoke('counter');
      // The client still learns its function's own error type (bounded length).
      expect(result.errorType).toBe(name);
    }

    // Assess
    const errors = parseExposition(await f.metrics.registry.metrics()).filter(
      (s) => s.name === 'warmroute_backend_errors_total',
    );
    expect(Object.fromEntries(errors.map((s) => [s.labels.type, s.value]))).toEqual({
      other: 31,
      TypeError: 1,
      'Sandbox.Timedout': 1,
    });
  });

  it('bounds the error type a client sees to 128 characters', async () => {
    const f = invokerFixture();
    f.answer(() => functionError('E'.repeat(10_000)));
    const result = await f.invoke('counter');
    expect(result.errorType?.length).toBeLessThanOrEqual(129);
  });

  it('caps function-name series without an allow-list, overflow as `other`', async () => {
    const f = invokerFixture();
    f.answer(() => envelope(good));
    for (let i = 0; i < MAX_FUNCTION_LABELS + 7; i++) await f.invoke(`fn-${i}`);
    const functions = new Set(
      parseExposition(await f.metrics.registry.metrics())
        .filter((s) => s.name === 'warmroute_invocations_total')
        .map((s) => s.labels.function),
    );
    const admitted = Array.from({ length: MAX_FUNCTION_LABELS }, (_, i) => `fn-${i}`);
    expect(functions).toEqual(new Set([...admitted, 'other']));
  });

  it('without a report, reads a cold start from the REPORT line of the log tail, not from what the function printed', async () => {
    // Prepare
    const f = invokerFixture({ logTail: true });
    const report = (id: number, init: boolean): string =>
      `REPORT RequestId: ${id}\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 65 MB\t${init ? 'Init Duration: 150.55 ms\t' : ''}\n`;
    const plain = (logTail: string): InvokeResult => ({
      payload: new TextEncoder().encode('{"ok":true}'),
      logTail,
      attempts: 1,
      durationMs: 1,
    });

    // Act
    f.answer(() => plain(`START RequestId: 1\nEND RequestId: 1\n${report(1, true)}`));
    const cold = await f.invoke('plain');
    // A function that logs an earlier REPORT line (a log forwarder, say) on a warm call.
    f.answer(() =>
      plain(`START RequestId: 2\n${report(0, true)}END RequestId: 2\n${report(2, false)}`),
    );
    const warm = await f.invoke('plain');

    // Assess
    expect(cold.state).toBe('fresh');
    expect(warm.state).toBe('unknown');
    const samples = parseExposition(await f.metrics.registry.metrics());
    expect(
      samples.find((s) => s.name === 'warmroute_cold_starts_total' && s.labels.function === 'plain')
        ?.value,
    ).toBe(1);
    // Nothing reported, nothing recorded in the directory.
    expect(f.outcomes).toEqual([]);
  });

  it('refuses a function name Lambda could not have, before invoking anything', async () => {
    const f = invokerFixture();
    let invoked = 0;
    f.answer(() => {
      invoked++;
      return envelope(good);
    });
    await expect(f.invoke('no such/function')).rejects.toSatisfy(
      (err: unknown) => err instanceof WarmrouteError && err.code === 'WR_ERR_FUNCTION_NOT_FOUND',
    );
    expect(invoked).toBe(0);
  });

  it('knows the SDK’s modelled exceptions and the gateway’s own codes as error types', () => {
    for (const name of ['TooManyRequestsException', 'ServiceException', 'WR_ERR_DEADLINE'])
      expect(ERROR_TYPE_LABELS.has(name)).toBe(true);
  });
});
