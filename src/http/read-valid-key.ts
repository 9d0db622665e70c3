import { readKey } from '../directory/index.js';

/**
 * The key from wherever a route found it, normalised and validated (the
 * rules are in src/directory/validate-key.ts); throws the catalogue's 400s.
 * `raw` is text already decoded by the extractor.
 */
export function readValidKey(raw: string | string[] | undefined, where: string): string {
  return readKey(Array.isArray(raw) ? raw[0] : raw, where);
}
