import { validateKey } from '../directory/index.js';
import { WarmrouteError } from '../errors.js';

/** The key from wherever a route found it, validated; throws the catalogue's 400s. */
export function readValidKey(raw: string | string[] | undefined, where: string): string {
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined || key === '')
    throw new WarmrouteError('WR_ERR_KEY_MISSING', [`expected in ${where}`]);
  validateKey(key);
  return key;
}
