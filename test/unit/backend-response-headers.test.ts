import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allHeaders, invokeHeaders } from '../../src/backend/fast-path/response-headers.js';

/**
 * The fast path reads an Invoke answer's headers from undici's raw list. The
 * oracle is what it read before: undici's own `parseHeaders` (the object a
 * new-style handler receives), with a repeated header's values joined by ", ".
 */
const { parseHeaders } = createRequire(import.meta.url)('undici/lib/core/util.js') as {
  parseHeaders: (raw: Buffer[]) => Record<string, string | string[] | undefined>;
};

function oracle(raw: Buffer[]): Record<string, string> {
  const parsed = parseHeaders(raw);
  const flat: Record<string, string> = {};
  for (const name in parsed) {
    const value = parsed[name];
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

const NAMES = [
  'X-Amz-Function-Error',
  'x-amz-function-error',
  'X-AMZ-LOG-RESULT',
  'x-amz-log-result',
  'X-Amz-Executed-Version',
  'x-amzn-RequestId',
  'x-amzn-Remapped-Content-Length',
  'Content-Type',
  'content-length',
  'Date',
  'Connection',
  'Keep-Alive',
  'x-amz-function-errors',
  'Retry-After',
];

/** A raw header list as undici hands it over: names and values as received, latin1 bytes. */
const rawHeaders = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/)),
      fc.string({
        unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
        maxLength: 40,
      }),
    ),
    { maxLength: 14 },
  )
  .map((pairs) => pairs.flatMap(([n, v]) => [Buffer.from(n, 'latin1'), Buffer.from(v, 'latin1')]));

describe('fast path response headers', () => {
  it('reads the three Invoke headers as undici parseHeaders + join did (property)', () => {
    fc.assert(
      fc.property(rawHeaders, (raw) => {
        // Act
        const picked = invokeHeaders(raw);
        // Assess
        const expected = oracle(raw);
        expect(picked).toEqual({
          functionError: expected['x-amz-function-error'],
          logResult: expected['x-amz-log-result'],
          executedVersion: expected['x-amz-executed-version'],
        });
      }),
      { numRuns: 500 },
    );
  });

  it('hands the error deserializer every header, as undici parseHeaders + join did (property)', () => {
    fc.assert(
      fc.property(rawHeaders, (raw) => {
        // Act, Assess
        expect(allHeaders(raw)).toEqual(oracle(raw));
      }),
      { numRuns: 500 },
    );
  });

  it('joins a repeated header and ignores the case of names', () => {
    // Prepare
    const raw = ['X-Amz-Function-Error', 'Unhandled', 'x-amz-function-error', 'Handled'].map((s) =>
      Buffer.from(s),
    );
    // Act, Assess
    expect(invokeHeaders(raw).functionError).toBe('Unhandled, Handled');
    expect(allHeaders(raw)).toEqual({ 'x-amz-function-error': 'Unhandled, Handled' });
  });
});
