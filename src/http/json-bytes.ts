/**
 * Whether `JSON.parse(bytes.toString('utf8'))` would succeed, decided on the
 * bytes without decoding them or building any value. The RPC route passes
 * the body to the function as bytes; it only has to refuse one that is not
 * JSON, and parsing it to throw the result away built every object and
 * string of the payload for nothing.
 *
 * Same verdict as JSON.parse on the decoded text (a property test checks it
 * against JSON.parse over arbitrary bytes):
 *   - outside strings only ASCII is allowed, so a byte ≥ 0x80 (a BOM, or a
 *     byte the decoder turns into U+FFFD) is refused, as JSON.parse refuses
 *     any such character there;
 *   - inside strings every byte ≥ 0x20 but `"` and `\` stands for itself:
 *     the decoder never merges an ASCII byte into a multi-byte sequence, and
 *     whatever it makes of the other bytes (a character or U+FFFD) is allowed
 *     in a JSON string; escaped lone surrogates (`\ud800`) are valid JSON;
 *   - nesting depth is bounded by memory only, as in V8's iterative parser.
 *
 * No allocation on the usual path: the container stack is one module-level
 * byte array, grown for deep documents (a byte a level, doubled as needed).
 * A scan that grew it beyond STACK_KEEP_BYTES gives it back when it ends, so
 * one 6 MB body of `[` does not hold ~8 MiB for the life of the process.
 */

const ARRAY = 1;
const OBJECT = 2;

const STACK_START_BYTES = 64;
/** Kept between scans up to this size; a larger one is dropped after its scan. */
const STACK_KEEP_BYTES = 64 * 1024;

let stack = new Uint8Array(STACK_START_BYTES);

/** The container stack's size in bytes now (tests: it must not stay at a deep body's size). */
export function containerStackBytes(): number {
  return stack.length;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(b: Uint8Array, i: number): number {
  while (i < b.length && isWhitespace(b[i] as number)) i++;
  return i;
}

function isHexDigit(c: number | undefined): boolean {
  return (
    c !== undefined &&
    ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** 1 for the bytes a string holds as they are: everything from 0x20 up but `"` and `\\`. */
const PLAIN_IN_STRING = new Uint8Array(256).fill(1, 0x20);
PLAIN_IN_STRING[0x22] = 0;
PLAIN_IN_STRING[0x5c] = 0;

/** Bodies from this size on are scanned a word at a time inside strings. */
const WORD_SCAN_FROM = 256;

/**
 * The body as aligned 32-bit words (undefined for short bodies): long
 * strings are skipped four bytes at a step, so a large base64 blob in a
 * string costs about what JSON.parse's own string scan costs.
 */
let words: Uint32Array | undefined;
/** Byte index (into the body) of `words[0]`. */
let wordsAt = 0;

/** Whether a 32-bit word holds a byte below 0x20, a `"` or a `\\` (exact: no false negatives). */
function hasSpecialByte(w: number): boolean {
  const quote = w ^ 0x22222222;
  const backslash = w ^ 0x5c5c5c5c;
  const spread =
    ((w - 0x20202020) & ~w) |
    ((quote - 0x01010101) & ~quote) |
    ((backslash - 0x01010101) & ~backslash);
  return (spread & 0x80808080) !== 0;
}

/** `i` at the opening quote; the index after the closing quote, or -1. */
function scanString(b: Uint8Array, i: number): number {
  const n = b.length;
  i++;
  for (;;) {
    if (words !== undefined) {
      // Byte steps to a word boundary, then whole words while none can end the run.
      while (i < n && ((i - wordsAt) & 3) !== 0 && PLAIN_IN_STRING[b[i] as number] === 1) i++;
      if (i >= wordsAt && ((i - wordsAt) & 3) === 0) {
        let k = (i - wordsAt) >> 2;
        const end = words.length;
        while (k < end && !hasSpecialByte(words[k] as number)) k++;
        i = wordsAt + k * 4;
      }
    }
    while (i < n && PLAIN_IN_STRING[b[i] as number] === 1) i++;
    if (i >= n) return -1;
    const c = b[i] as number;
    if (c === 0x22) return i + 1;
    if (c !== 0x5c) return -1; // a control character
    const e = b[i + 1];
    if (
      e === 0x22 ||
      e === 0x5c ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    ) {
      i += 2;
    } else if (
      e === 0x75 &&
      isHexDigit(b[i + 2]) &&
      isHexDigit(b[i + 3]) &&
      isHexDigit(b[i + 4]) &&
      isHexDigit(b[i + 5])
    ) {
      i += 6;
    } else {
      return -1;
    }
  }
}

/** `i` at `-` or a digit; the index after the number, or -1. */
function scanNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i]) && b[i] !== 0x30) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

/** `word` (ASCII) at `i`; the index after it, or -1. */
function scanWord(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** A key (string), whitespace and a colon from `i`; the index after the colon, or -1. */
function scanKey(b: Uint8Array, i: number): number {
  if (b[i] !== 0x22) return -1;
  i = skipWhitespace(b, scanString(b, i));
  if (i < 0 || b[i] !== 0x3a) return -1;
  return i + 1;
}

function push(depth: number, kind: number): void {
  if (depth === stack.length) {
    const grown = new Uint8Array(stack.length * 2);
    grown.set(stack);
    stack = grown;
  }
  stack[depth] = kind;
}

/** True when the UTF-8 decoding of `b` is one JSON text (what JSON.parse accepts). */
export function isJsonText(b: Uint8Array): boolean {
  // Too short to nest deep enough to grow the stack past STACK_KEEP_BYTES.
  if (b.length < WORD_SCAN_FROM) return scanText(b);
  const skip = (4 - (b.byteOffset & 3)) & 3;
  wordsAt = skip;
  words = new Uint32Array(b.buffer, b.byteOffset + skip, (b.length - skip) >> 2);
  try {
    return scanText(b);
  } finally {
    words = undefined;
    if (stack.length > STACK_KEEP_BYTES) stack = new Uint8Array(STACK_START_BYTES);
  }
}

function scanText(b: Uint8Array): boolean {
  const n = b.length;
  let depth = 0;
  let i = 0;
  for (;;) {
    // A value starts at i (after whitespace).
    i = skipWhitespace(b, i);
    const c = b[i];
    switch (c) {
      case 0x7b: // {
        i = skipWhitespace(b, i + 1);
        if (b[i] === 0x7d) {
          i++;
          break;
        }
        i = scanKey(b, i);
        if (i < 0) return false;
        push(depth++, OBJECT);
        continue;
      case 0x5b: // [
        i = skipWhitespace(b, i + 1);
        if (b[i] === 0x5d) {
          i++;
          break;
        }
        push(depth++, ARRAY);
        continue;
      case 0x22:
        i = scanString(b, i);
        break;
      case 0x74:
        i = scanWord(b, i, 'true');
        break;
      case 0x66:
        i = scanWord(b, i, 'false');
        break;
      case 0x6e:
        i = scanWord(b, i, 'null');
        break;
      default:
        if (c === 0x2d || isDigit(c)) i = scanNumber(b, i);
        else return false;
    }
    if (i < 0) return false;
    // After a value: close containers, or a comma and the next member.
    for (;;) {
      i = skipWhitespace(b, i);
      if (depth === 0) return i === n;
      const top = stack[depth - 1];
      const d = b[i];
      if (d === 0x2c) {
        i++;
        if (top === OBJECT) {
          i = scanKey(b, skipWhitespace(b, i));
          if (i < 0) return false;
        }
        break;
      }
      if ((top === ARRAY && d === 0x5d) || (top === OBJECT && d === 0x7d)) {
        depth--;
        i++;
        continue;
      }
      return false;
    }
  }
}
