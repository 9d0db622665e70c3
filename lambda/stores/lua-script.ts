import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../package-root.js';

/**
 * Where the store's Lua scripts live: `lambda/stores/lua/` under the package
 * root. They ship as source files (listed in package.json `files`), not inside
 * dist/: tsc does not copy .lua files, and one copy means the sources, the
 * build and an installed package all read the same script. Resolved from the
 * package root, so the same path works from `lambda/stores/` (tests) and from
 * `dist/lambda/stores/` (built, installed). A function, not a constant: a
 * function that only uses the file store must not fail at import when the
 * package root cannot be found (e.g. inside a bundle).
 */
export function luaScriptDir(): string {
  return join(findPackageRoot(import.meta.url), 'lambda', 'stores', 'lua');
}

/** Read `lambda/stores/lua/<name>`; a broken install fails here, naming the path it tried. */
export function loadLuaScript(name: string): string {
  const path = join(luaScriptDir(), name);
  if (!existsSync(path)) {
    throw new Error(`warmroute/lambda: Lua script ${name} not found (looked for ${path})`);
  }
  return readFileSync(path, 'utf8');
}
