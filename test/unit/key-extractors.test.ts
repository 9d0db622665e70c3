import { describe, expect, it } from 'vitest';
import { cookieValue } from '../../src/http/key-extractors.js';
import { headerText, percentDecodedText } from '../../src/http/http-text.js';

describe('cookieValue (RFC 6265 §5.4 pairs)', () => {
  it('finds the named cookie among others, spaces around pairs ignored, the first one wins', () => {
    expect(cookieValue('a=1; sid=abc; b=2', 'sid')).toBe('abc');
    expect(cookieValue('sid=first;sid=second', 'sid')).toBe('first');
    expect(cookieValue('  sid =  v  ', 'sid')).toBe('v');
    expect(cookieValue('xsid=1; sidx=2', 'sid')).toBeUndefined();
    expect(cookieValue('sid', 'sid')).toBeUndefined();
    expect(cookieValue(undefined, 'sid')).toBeUndefined();
  });

  it('removes one pair of double quotes and keeps "=" inside the value', () => {
    expect(cookieValue('sid="a b"', 'sid')).toBe('a b');
    expect(cookieValue('sid=a=b==', 'sid')).toBe('a=b==');
    expect(cookieValue('sid="', 'sid')).toBe('"');
  });
});

describe('HTTP text: Latin-1 header strings back to the UTF-8 text they carry', () => {
  const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

  it('decodes UTF-8 bytes; ASCII and already-decoded text pass unchanged', () => {
    expect(headerText(latin1('caf\u00e9 \u20ac \u{1f642}'), 'h')).toBe(
      'caf\u00e9 \u20ac \u{1f642}',
    );
    expect(headerText('plain', 'h')).toBe('plain');
    expect(headerText('\u20ac', 'h')).toBe('\u20ac');
    expect(headerText(undefined, 'h')).toBeUndefined();
  });

  it('refuses bytes that are not UTF-8 (a lone 0xE9, an overlong or surrogate encoding)', () => {
    for (const bytes of [
      [0xe9],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ]) {
      expect(() => headerText(Buffer.from(bytes).toString('latin1'), 'h')).toThrow(
        /not valid UTF-8/,
      );
    }
  });

  it('percent-decodes to bytes, then UTF-8; a malformed escape stays as written', () => {
    expect(percentDecodedText('%E2%82%AC', 'c')).toBe('\u20ac');
    expect(percentDecodedText(`${latin1('\u20ac')}%20x`, 'c')).toBe('\u20ac x');
    expect(percentDecodedText('100%', 'c')).toBe('100%');
    expect(percentDecodedText('%zz%4', 'c')).toBe('%zz%4');
    expect(() => percentDecodedText('%FF', 'c')).toThrow(/not valid UTF-8/);
  });
});
