/** Where the explain box asks about a key (the admin route `GET /v1/keys/{key}`). */
export const KEYS_PATH_PREFIX = '/v1/keys/';

export type KeyPath =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * The request path for `key`, or why the page will not send it. A URL
 * parser removes the dot segments `.` and `..` from a path, even written
 * `%2E` (WHATWG URL), so the keys `.` and `..` would be asked of `/v1/keys/`
 * and `/v1/`, with the admin token attached. Any key whose path the parser
 * would change is refused, and the message shows the command that sends the
 * path as it is. `origin` only fills in that command.
 */
export function keyPath(key: string, origin: string): KeyPath {
  if (key === '')
    return { ok: false, code: 'WR_PAGE_KEY_REQUIRED', message: 'Type the key to explain.' };
  let encoded: string;
  try {
    encoded = encodeURIComponent(key);
  } catch {
    // A lone UTF-16 surrogate (a broken paste) has no URL form; no key header could carry it either.
    return {
      ok: false,
      code: 'WR_PAGE_KEY_INVALID',
      message: 'The key holds a broken character (a lone UTF-16 surrogate); type it again.',
    };
  }
  const path = `${KEYS_PATH_PREFIX}${encoded}`;
  if (new URL(path, 'http://gateway.invalid').pathname === path) return { ok: true, path };
  return {
    ok: false,
    code: 'WR_PAGE_KEY_NOT_IN_URL',
    message:
      `A browser cannot ask for the key "${key}": it reads "." and ".." in a URL path as ` +
      `"this folder" and "the folder above" and would ask another path. Ask the gateway ` +
      `directly: curl --path-as-is -H "authorization: Bearer $WARMROUTE_ADMIN_TOKEN" ` +
      `'${origin}${path}'`,
  };
}
