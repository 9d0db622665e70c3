import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

let version: string | undefined;

/** warmroute's version from its package.json, read once ('unknown' if the file says none). */
export function packageVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return version;
}
