import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEYS_PATH_PREFIX, keyPath } from '../../status-page/src/key-path.js';

/**
 * The explain box's request path (status-page/src/key-path.ts): the admin
 * token goes with it, so it must reach `/v1/keys/{key}` for exactly that key
 * or not be sent at all.
 */

const ORIGIN = 'http://127.0.0.1:8080';

/** What a browser (a WHATWG URL parser) requests for `path`. */
function requested(path: string): string {
  return new URL(path, ORIGIN).pathname;
}

describe('status page: explain-a-key path', () => {
  it('refuses the keys "." and "..", which a browser would send to /v1/keys/ and /v1/', () => {
    for (const key of ['.', '..']) {
      const result = keyPath(key, ORIGIN);

      expect(result.ok, key).toBe(false);
      if (result.ok) continue;
      expect(result.code).toBe('WR_PAGE_KEY_NOT_IN_URL');
      expect(result.message).toContain(`"${key}"`);
      expect(result.message).toContain('curl --path-as-is');
      expect(result.message).toContain(`'${ORIGIN}/v1/keys/${key}'`);
    }
    // What the refusal prevents: the parser rewrites the path, also written %2E.
    expect(requested('/v1/keys/..')).toBe('/v1/');
    expect(requested('/v1/keys/%2E%2E')).toBe('/v1/');
  });

  it('asks for an empty key to be typed, and refuses a key with a lone surrogate instead of throwing', () => {
    expect(keyPath('', ORIGIN)).toMatchObject({ ok: false, code: 'WR_PAGE_KEY_REQUIRED' });
    expect(keyPath('a\uD800b', ORIGIN)).toMatchObject({ ok: false, code: 'WR_PAGE_KEY_INVALID' });
  });

  it('sends every other key to /v1/keys/{key}, unchanged by the URL parser and decoding to the key', () => {
    const keys = fc.oneof(
      fc.string({ minLength: 1 }),
      fc.constantFrom('...', '%2E%2E', '.a', 'a/..', '../x', '?q', '#h', 'ü/ß', ' '),
    );
    fc.assert(
      fc.property(keys, (key) => {
        fc.pre(key !== '.' && key !== '..');
        const result = keyPath(key, ORIGIN);

        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(requested(result.path)).toBe(result.path);
        expect(result.path.startsWith(KEYS_PATH_PREFIX)).toBe(true);
        expect(decodeURIComponent(result.path.slice(KEYS_PATH_PREFIX.length))).toBe(key);
      }),
      { numRuns: 500 },
    );
  });
});
