import { describe, expect, it } from 'vitest';
import { isJsonText } from '../../src/http/json-bytes.js';

/**
 * Review of a250c2b: isJsonText against JSON.parse on the inputs the
 * property tests reach rarely or never: JSON's exact whitespace set and
 * number grammar, characters JavaScript (not JSON) allows, a BOM, NUL, and
 * nesting far deeper than a recursive parser survives (V8's JSON.parse is
 * iterative: it accepts them, so isJsonText must too).
 */

function parses(b: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

const CASES: readonly (string | Buffer)[] = [
  // Whitespace: JSON has four; JavaScript's others are refused outside strings.
  '\u2028',
  '"\u2028"',
  '\u2028{}',
  '{}\u2028',
  '\u00a0{}',
  '\f{}',
  '\v1',
  '\ufeff{}',
  Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  '{}\u0000',
  '"\u0000"',
  ' \t\r\n{} \t\r\n',
  // Numbers.
  '-0',
  '-0.0e-0',
  '1e',
  '01',
  '-01',
  '1.',
  '.5',
  '+1',
  '-',
  '1e+',
  '1E5',
  '0x1',
  'Infinity',
  '-Infinity',
  'NaN',
  '1e999999999999',
  '-1e-99999',
  '1'.repeat(100_000),
  // Structure and literals.
  '{"a":1,}',
  '[1,]',
  '[,1]',
  '{,}',
  '{"a" :1 }',
  '{"a":}',
  '{"a"}',
  '{1:2}',
  'nul',
  'truex',
  'true false',
  '1 2',
  // Escapes.
  '"\\u00"',
  '"\\U0041"',
  '"\\x41"',
  '"\\\'"',
  '"\\0"',
  '"\\ud800"',
  Buffer.from([0x22, 0xc0, 0x22]),
  Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]),
  // Long bodies (scanned a word at a time) with the special byte past the first words.
  `"${'a'.repeat(300)}\u0000"`,
  `"${'a'.repeat(300)}"${' '.repeat(300)}`,
  `["${'é'.repeat(300)}",1e400]`,
  // Deep nesting.
  '['.repeat(100_000) + ']'.repeat(100_000),
  '['.repeat(100_000) + ']'.repeat(99_999),
  '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
  '['.repeat(1_000_000) + ']'.repeat(1_000_000),
];

describe('isJsonText on edge inputs (review)', () => {
  it('gives JSON.parse’s verdict on whitespace, numbers, escapes, BOM, NUL and deep nesting', () => {
    const disagreements: string[] = [];
    for (const c of CASES) {
      const bytes = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      if (isJsonText(bytes) !== parses(bytes)) {
        disagreements.push(
          `${JSON.stringify(bytes.subarray(0, 40).toString('utf8'))} (${bytes.length} bytes)`,
        );
      }
    }
    expect(disagreements).toEqual([]);
  });
});
