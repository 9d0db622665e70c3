import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Read a Lua script shipped in `lambda/stores/lua/`. The code runs from the
 * TypeScript sources (tests) and from `dist/lambda/stores/` (compiled, where
 * tsc does not copy .lua files), so look beside this module first, then walk
 * up to the package root.
 */
export function loadLuaScript(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    for (const candidate of [join(dir, 'lua', name), join(dir, 'lambda', 'stores', 'lua', name)]) {
      if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`warmroute/lambda: Lua script ${name} not found`);
}
