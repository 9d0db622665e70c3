import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonText } from '../../src/http/json-bytes.js';

/**
 * The RPC route refuses a body as JSON.parse would refuse its UTF-8 text
 * (WR_ERR_INVALID_JSON) but decides it on the bytes: the verdicts must agree
 * on every input, valid or broken, whatever bytes it holds.
 */

function parses(bytes: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function agrees(bytes: Uint8Array): void {
  expect(isJsonText(bytes), Buffer.from(bytes).toString('hex')).toBe(parses(bytes));
}

/** The same bytes at a given offset inside a larger buffer (a body sliced out of a pool). */
function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(offset + bytes.length + 3).fill(0x22);
  backing.set(bytes, offset);
  return backing.subarray(offset, offset + bytes.length);
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Valid JSON texts, pretty-printed or not, with any strings (lone surrogates and all). */
const jsonText = fc
  .tuple(
    fc.jsonValue(),
    fc.constantFrom(undefined, 0, 1, 2, '\t', ' \r\n'),
    fc.constantFrom('', ' ', '\n', '\t\r '),
  )
  .map(([v, indent, pad]) => pad + JSON.stringify(v, null, indent) + pad);

/** A valid text with one edit: a byte replaced, inserted or removed. */
const brokenText = fc
  .tuple(jsonText, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 2))
  .map(([s, at, byte, edit]) => {
    const b = Buffer.from(s, 'utf8');
    const i = b.length === 0 ? 0 : at % b.length;
    if (edit === 0 && b.length > 0) b[i] = byte;
    if (edit === 1) return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    if (edit === 2) return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    return b;
  });

/** Bytes from JSON's own alphabet, so random inputs are often nearly valid. */
const jsonishBytes = fc
  .array(
    fc.constantFrom(
      ...'{}[]:,"\\/ \t\r\n0123456789.eE+-truefalsnbu aF'.split('').map((c) => c.charCodeAt(0)),
      0x00,
      0x1f,
      0x7f,
      0x80,
      0xc3,
      0xa9,
      0xed,
      0xa0,
      0xef,
      0xbb,
      0xbf,
      0xff,
    ),
    { maxLength: 40 },
  )
  .map((a) => Uint8Array.from(a));

describe('isJsonText (the RPC body check) agrees with JSON.parse', () => {
  it('on valid JSON texts, including escaped lone surrogates and any Unicode', () => {
    fc.assert(
      fc.property(jsonText, (s) => {
        agrees(text(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('on valid texts with one byte replaced, inserted or removed', () => {
    fc.assert(
      fc.property(brokenText, (b) => {
        agrees(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('on arbitrary bytes, invalid UTF-8 included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        agrees(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('on long bodies (scanned a word at a time) at any alignment, valid or with one edit', () => {
    // Long strings of plain bytes with, somewhere, a byte that ends or breaks the run.
    const special = fc.constantFrom(0x00, 0x1f, 0x20, 0x22, 0x5c, 0x7f, 0x80, 0xff, 0x41);
    const longText = fc
      .tuple(
        fc.array(fc.string({ minLength: 100, maxLength: 400 }), { minLength: 1, maxLength: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([strings, v]) => JSON.stringify({ strings, v }));
    fc.assert(
      fc.property(
        longText,
        fc.nat(),
        special,
        fc.constantFrom(-1, 0, 1, 2),
        fc.integer({ min: 0, max: 7 }),
        (s, at, byte, edit, offset) => {
          const b = Buffer.from(s, 'utf8');
          const i = at % b.length;
          let bytes: Uint8Array = b;
          if (edit === 0) b[i] = byte;
          if (edit === 1)
            bytes = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
          if (edit === 2) bytes = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
          agrees(atOffset(bytes, offset));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('on near-JSON byte soup (structural bytes, digits, literals, UTF-8 fragments)', () => {
    fc.assert(
      fc.property(jsonishBytes, (b) => {
        agrees(b);
      }),
      { numRuns: 20000 },
    );
  });

  it('on strings holding raw (invalid or overlong) UTF-8 bytes next to quotes and escapes', () => {
    const rawByte = fc.integer({ min: 0x80, max: 0xff });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(rawByte, fc.constantFrom(0x22, 0x5c, 0x6e, 0x75, 0x41, 0x20))),
        (inner) => {
          agrees(Uint8Array.from([0x22, ...inner, 0x22]));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('on a long string of each byte value, at each alignment', () => {
    for (let byte = 0; byte < 256; byte++) {
      for (let offset = 0; offset < 4; offset++) {
        for (const at of [1, 2, 3, 4, 5, 150, 297, 298]) {
          const b = Buffer.alloc(300, 0x61);
          b[0] = 0x22;
          b[299] = 0x22;
          b[at] = byte;
          agrees(atOffset(b, offset));
        }
      }
    }
  });

  it.each([
    ['an empty body', ''],
    ['whitespace only', ' \n\t\r'],
    ['a BOM before a valid text', '\ufeff{}'],
    ['a NUL after a valid text', '{}\u0000'],
    ['two values', '{} {}'],
    ['a trailing comma', '[1,]'],
    ['a leading zero', '01'],
    ['a bare minus', '-'],
    ['a dot without digits', '1.'],
    ['an exponent without digits', '1e+'],
    ['a raw control character in a string', '"a\u0001b"'],
    ['a short \\u escape', '"\\u12"'],
    ['an unknown escape', '"\\x41"'],
    ['a single-quoted string', "'a'"],
    ['an unquoted key', '{a:1}'],
    ['a non-breaking space as whitespace', '\u00a0{}'],
    ['a huge number (Infinity)', '1e400'],
    ['negative zero', '-0'],
    ['an escaped lone surrogate', '"\\ud800"'],
    ['a raw U+2028 in a string', '"\u2028"'],
    ['a literal prefix', 'tru'],
    ['a literal with a tail', 'nulll'],
  ])('on %s', (_what, s) => {
    agrees(text(s));
  });

  it('on invalid UTF-8 and encoded surrogates inside and outside strings', () => {
    for (const bytes of [
      [0x22, 0xed, 0xa0, 0x80, 0x22], // a UTF-8-encoded lone surrogate in a string
      [0x22, 0xc3, 0x22], // a truncated sequence right before the closing quote
      [0x22, 0xe2, 0x5c, 0x6e, 0x22], // a truncated sequence before an escape
      [0x22, 0xff, 0xfe, 0x22],
      [0xed, 0xa0, 0x80],
      [0x31, 0x80],
      [0x5b, 0xc2, 0xa0, 0x5d], // U+00A0 (not JSON whitespace) inside an array
    ]) {
      agrees(Uint8Array.from(bytes));
    }
  });

  it('on deep nesting (no recursion limit), balanced or not', () => {
    for (const depth of [1, 63, 64, 65, 1000, 100_000]) {
      agrees(text('['.repeat(depth) + ']'.repeat(depth)));
      agrees(text('['.repeat(depth) + ']'.repeat(depth - 1)));
      agrees(text('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));
      agrees(text('{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + ']'));
      agrees(text('[{"a":'.repeat(depth) + '[]' + '}]'.repeat(depth)));
    }
  });

  it('accepts what it should: a typical RPC body and the route examples', () => {
    expect(isJsonText(text('{"op":"bench"}'))).toBe(true);
    expect(isJsonText(text(' {"a":[1,2.5e-3,true,false,null,"\\u00e9\\n"]} '))).toBe(true);
    expect(isJsonText(text('{"op":'))).toBe(false);
  });
});
