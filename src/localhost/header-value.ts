/**
 * What Node's http module accepts in an outgoing header value: HTAB, SP,
 * visible ASCII and obs-text (U+0080–U+00FF, written as Latin-1 bytes).
 * `setHeader`/`writeHead` throw ERR_INVALID_CHAR for anything else, so a
 * value that reached a header unchecked could end the process.
 */
const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function isHeaderSafe(value: string): boolean {
  return HEADER_VALUE_RE.test(value);
}

/**
 * The entries of `headers` whose values Node can write; `dropped` names the
 * others. Callers produce safe values already; this is the last line that
 * turns a mistake into a missing header instead of a thrown error.
 */
export function safeHeaders(headers: Readonly<Record<string, string>>): {
  readonly headers: Record<string, string>;
  readonly dropped: readonly string[];
} {
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (isHeaderSafe(value)) out[name] = value;
    else dropped.push(name);
  }
  return { headers: out, dropped };
}
