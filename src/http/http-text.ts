import { WarmrouteError } from '../errors.js';

/**
 * HTTP carries bytes; Node hands header values (and so cookies) over as
 * Latin-1 strings, one character per byte. These helpers turn such a string
 * back into the UTF-8 text a client meant, so a key sent in a header, a
 * cookie or a percent-encoded URL is the same key as one sent in JSON.
 * Bytes that are not UTF-8 are refused: guessing would let two different
 * byte strings name one key.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function notUtf8(where: string): WarmrouteError {
  return new WarmrouteError('WR_ERR_KEY_INVALID', [`the ${where} is not valid UTF-8`]);
}

/** `ascii`: nothing to decode; `bytes`: one byte per character; `text`: already decoded (not from the wire). */
function kindOf(value: string): 'ascii' | 'bytes' | 'text' {
  let kind: 'ascii' | 'bytes' = 'ascii';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return 'text';
    if (code > 0x7f) kind = 'bytes';
  }
  return kind;
}

/** A header value as Node gives it (Latin-1 of the raw bytes) → the UTF-8 text it carries. */
export function headerText(value: string | undefined, where: string): string | undefined {
  // Characters above U+00FF cannot come off the wire; such a string (from
  // inject() or an embedding program) is text already.
  if (value === undefined || kindOf(value) !== 'bytes') return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    throw notUtf8(where);
  }
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * A percent-encoded value taken from a Latin-1 header string (a cookie) →
 * its UTF-8 text. `%XX` escapes are decoded to bytes; a malformed escape
 * (`%zz`, a lone `%`) stays as written, as the cookie parser leaves it.
 */
export function percentDecodedText(raw: string, where: string): string {
  if (!raw.includes('%') || kindOf(raw) === 'text') return headerText(raw, where) ?? raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    const hex = code === 0x25 ? raw.slice(i + 1, i + 3) : '';
    if (hex.length === 2 && HEX.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(code & 0xff);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw notUtf8(where);
  }
}
