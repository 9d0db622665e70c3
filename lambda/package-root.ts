import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `name` in package.json; the exports (`warmroute/lambda`, …) rely on it too. */
const PACKAGE_NAME = 'warmroute';

function isPackageRoot(dir: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
    return parsed.name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/**
 * The warmroute package root: the nearest folder above `moduleUrl` whose
 * package.json is warmroute's own. Code runs from the TypeScript sources
 * (`src/…`, `lambda/…` under vitest), from the build (`dist/src/…`) and from an
 * installed package (`node_modules/warmroute/dist/…`); in each case the
 * runtime assets the package ships beside its sources (`src/redis/lua`,
 * `lambda/stores/lua`, `lambda/examples`) are found from this one folder.
 * Matching the name rather than "any package.json" keeps a stray
 * package.json (a user's, or one written into dist/) from being taken for it.
 */
export function findPackageRoot(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  let dir = start;
  for (;;) {
    if (isPackageRoot(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `warmroute: cannot locate the package root (no package.json named "${PACKAGE_NAME}" above ${start})`,
      );
    }
    dir = parent;
  }
}
