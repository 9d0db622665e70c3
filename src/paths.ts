import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found by walking up from this module. Code runs both from
 * `dist/src/…` (installed, `npx warmroute`) and from `src/…` (vitest runs the
 * TypeScript sources), so paths to shipped files are built from here rather
 * than from `import.meta.url` of the caller.
 */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('warmroute: cannot locate the package root');
    dir = parent;
  }
}

export const packageRoot = findPackageRoot();

/** Compiled JavaScript lives here; child processes (environments) run it. */
export const distDir = join(packageRoot, 'dist');

/** Example functions and the functions file that declares them. */
export const examplesDir = join(packageRoot, 'lambda', 'examples');
