import { WarmrouteError } from '../errors.js';

/**
 * The one set of rules for affinity keys, whatever the source (header,
 * cookie, path parameter, JSON field, admin path, SDK argument):
 *
 * 1. A key is Unicode text. Bytes from HTTP (headers, cookies, URLs) are read
 *    as UTF-8 by the gateway's extractors; bytes that are not UTF-8 are refused.
 * 2. Spaces and tabs at either end are removed (HTTP strips them from header
 *    values, so every source does the same: `"victim "` and `"victim"` are one
 *    key), and the text is put in Unicode Normalization Form C (`"é"` typed as
 *    one code point or as `e` + combining accent is one key).
 * 3. The result must be 1–1024 bytes of UTF-8, without control characters
 *    (C0, DEL, C1) and without lone surrogates.
 *
 * `normalizeKey` applies rule 2; `keyProblem` / `validateKey` check rule 3 and
 * that the key is already normal, so a component handed a key that skipped
 * normalisation refuses it instead of treating one key as two.
 */

export const MAX_KEY_BYTES = 1024;

const SPACE = 0x20;
const TAB = 0x09;

/** Rule 2: trim spaces/tabs at both ends, then NFC (skipped for ASCII, which NFC never changes). */
export function normalizeKey(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlank(text.charCodeAt(start))) start++;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  const trimmed = start === 0 && end === text.length ? text : text.slice(start, end);
  return isAscii(trimmed) || LONE_SURROGATE.test(trimmed) ? trimmed : trimmed.normalize('NFC');
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

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

/** Rule 3 alone, for text that normalizeKey has just produced. */
function ruleProblem(key: string): string | undefined {
  if (key.length === 0) return 'the key is empty';
  if (LONE_SURROGATE.test(key)) return 'the key is not valid UTF-8 (lone surrogate)';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `the key is ${bytes} bytes long (at most ${MAX_KEY_BYTES})`;
  if (hasControlCharacter(key)) return 'the key contains a control character';
  return undefined;
}

/** Why `key` is not a valid, normalised affinity key, or undefined when it is. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'the key must be a string';
  const problem = ruleProblem(key);
  if (problem !== undefined) return problem;
  if (normalizeKey(key) !== key) {
    return 'the key is not normalised (no spaces at either end, Unicode NFC): pass it through normalizeKey';
  }
  return undefined;
}

/**
 * Throws `WR_ERR_KEY_INVALID` unless `key` is a valid, normalised key. The
 * gateway and the SDK call it before anything else.
 */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new WarmrouteError('WR_ERR_KEY_INVALID', [problem]);
}

/**
 * Rules 2 and 3 for a key taken from a request: the normalised key, or
 * `WR_ERR_KEY_MISSING` when nothing is left (absent, empty, only spaces),
 * or `WR_ERR_KEY_INVALID`.
 */
export function readKey(text: string | undefined, where: string): string {
  const key = text === undefined ? '' : normalizeKey(text);
  if (key === '') throw new WarmrouteError('WR_ERR_KEY_MISSING', [`expected in ${where}`]);
  // Normal already: only rule 3 is left to check (validateKey would normalise again).
  const problem = ruleProblem(key);
  if (problem !== undefined) throw new WarmrouteError('WR_ERR_KEY_INVALID', [problem]);
  return key;
}

/**
 * An environment id, as a function reports it: it reaches a response header
 * and a Redis hash (Lua ARGV), so it is short and only has characters safe in
 * both without encoding. The library makes 16 hex digits; `id` may be set by
 * the function, hence the margin. One check for the invoker and the directory.
 */
const ENV_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function isValidEnvId(value: unknown): value is string {
  return typeof value === 'string' && ENV_ID.test(value);
}
