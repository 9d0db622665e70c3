// Builds one example function for `sam build` (BuildMethod: makefile, see the
// Makefile beside this file): `node build-function.mjs <function name> <artifacts dir>`.
//
// Why not SAM's esbuild build method: warmroute/lambda's Redis snapshot store
// loads its Lua script from disk at run time (src/redis/script-loader.ts),
// from `lambda/stores/lua/` under the nearest package.json named "warmroute"
// above the running module. An esbuild-only artifact holds just the bundle,
// so the first checkpoint to Redis fails with "cannot locate the package
// root". This script bundles the same way (esbuild, ESM, Node 22) and adds the
// two things the loader needs beside the bundle.
//
// The function's entry (code folder and handler) comes from
// lambda/examples/functions.json, the file the local host reads too.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXAMPLES = join(REPO_ROOT, 'lambda', 'examples');
/** Where the snapshot store's scripts live relative to the package root (SCRIPT_FOLDERS.snapshot). */
const SNAPSHOT_LUA = join('lambda', 'stores', 'lua');

const [name, artifactsDir] = process.argv.slice(2);
if (!name || !artifactsDir) {
  console.error('usage: node build-function.mjs <function name> <artifacts dir>');
  process.exit(2);
}
const { functions } = JSON.parse(readFileSync(join(EXAMPLES, 'functions.json'), 'utf8'));
const fn = functions.find((f) => f.name === name);
if (!fn) {
  console.error(`build-function: no function "${name}" in lambda/examples/functions.json`);
  process.exit(2);
}
const moduleName = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
const entry = ['.mjs', '.js']
  .map((ext) => join(EXAMPLES, fn.codeDir, moduleName + ext))
  .find((file) => existsSync(file));
if (!entry) {
  console.error(`build-function: no ${moduleName}.mjs or .js in lambda/examples/${fn.codeDir}`);
  process.exit(2);
}
/** How the examples import the function library (lambda/examples/<name>/index.mjs). */
const LIBRARY_IMPORT = 'warmroute/lambda';
/**
 * `warmroute/lambda` from this checkout's TypeScript sources rather than through the package's
 * `exports` (dist/lambda, written by `npm run build`): a dist/ older than the sources would
 * otherwise be deployed without a word (as deploy/cdk/lib/function-bundling.ts does).
 */
const LIBRARY_SOURCE = join(REPO_ROOT, 'lambda', 'index.ts');

mkdirSync(artifactsDir, { recursive: true });
const result = await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // Handler `index.handler` → index.mjs, which Lambda loads as an ES module.
  outfile: join(artifactsDir, `${moduleName}.mjs`),
  sourcemap: true,
  // The Lambda Node.js runtime ships the AWS SDK v3.
  external: ['@aws-sdk/*'],
  // ioredis is CommonJS: an ESM bundle needs a real require for the Node built-ins it loads.
  banner: {
    js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
  },
  alias: { [LIBRARY_IMPORT]: LIBRARY_SOURCE },
  logLevel: 'warning',
});
// A warning here (an unresolvable require, a missing export) is a function that fails at run time:
// refuse it, as deploy/cdk/lib/function-bundling.ts does (esbuild has printed it above).
if (result.warnings.length > 0) {
  console.error(`build-function: esbuild warnings while bundling ${entry}`);
  process.exit(1);
}
// The package-root marker (named as warmroute's, so the Lua loader takes this folder for the
// package root) and the snapshot store's scripts at the same relative path as in the package.
writeFileSync(
  join(artifactsDir, 'package.json'),
  `${JSON.stringify({ name: 'warmroute', private: true, description: `${name}, bundled for AWS Lambda by deploy/sam` }, null, 2)}\n`,
);
cpSync(join(REPO_ROOT, SNAPSHOT_LUA), join(artifactsDir, SNAPSHOT_LUA), { recursive: true });
