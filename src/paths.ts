import { join } from 'node:path';
import { findPackageRoot } from '../lambda/package-root.js';

/**
 * The package root (the folder of warmroute's package.json). Code runs from
 * `src/…` (vitest runs the TypeScript sources), from `dist/src/…` (the build)
 * and from `node_modules/warmroute/dist/src/…` (installed), so paths to shipped
 * files are built from here rather than from the caller's `import.meta.url`.
 * Runtime assets ship as source folders listed in package.json `files`
 * (`src/redis/lua`, `lambda/stores/lua`, `lambda/examples`), next to dist/.
 */
export const packageRoot = findPackageRoot(import.meta.url);

/** Compiled JavaScript lives here; child processes (environments) run it. */
export const distDir = join(packageRoot, 'dist');

/** Example functions and the functions file that declares them. */
export const examplesDir = join(packageRoot, 'lambda', 'examples');
