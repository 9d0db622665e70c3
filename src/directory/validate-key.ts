import { WarmrouteError } from '../errors.js';

export const MAX_KEY_BYTES = 1024;

/** C0 controls, DEL and C1 controls. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
// A lone surrogate has no UTF-8 encoding: two different keys would encode to the same bytes.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `key` is not a valid affinity key, or undefined when it is. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'the key must be a string';
  if (key.length === 0) return 'the key is empty';
  if (LONE_SURROGATE.test(key)) return 'the key is not valid UTF-8';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `the key is ${bytes} bytes long (at most ${MAX_KEY_BYTES})`;
  if (hasControlCharacter(key)) return 'the key contains a control character';
  return undefined;
}

/**
 * Throws `WR_ERR_KEY_INVALID` unless `key` is 1–1024 bytes of UTF-8 without
 * control characters. The gateway and the SDK call it before anything else.
 */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new WarmrouteError('WR_ERR_KEY_INVALID', [problem]);
}
