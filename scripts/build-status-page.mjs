#!/usr/bin/env node
/**
 * Builds the status page (status-page/) into dist/status-page/:
 *   status.js   status-page/src/main.ts bundled with uPlot by esbuild (ES2020, minified,
 *               uPlot's MIT licence kept in a leading comment)
 *   status.css  uPlot's stylesheet, then status-page/status.css
 *   index.html  copied as is
 *
 *   node scripts/build-status-page.mjs        (scripts/build.mjs calls buildStatusPage after tsc)
 *
 * The page's CSP is `script-src 'self'; style-src 'self'`, so nothing here may inline a script or
 * a style. Output bytes depend only on the inputs (no timestamps, no absolute paths).
 *
 * Skipped when nothing changed: `.inputs.json` beside the outputs records the size and mtime of
 * every input esbuild read (its metafile), the stylesheets, index.html, esbuild's and uPlot's
 * package.json and this script, and of every output. Loading esbuild and starting its service
 * costs a few hundred ms on a busy machine, paid by every `npm test`; comparing stats costs about
 * a millisecond. Any input or output changed, added by an edited import, or deleted means a full
 * page build.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const uplotDir = dirname(require.resolve('uplot/package.json'));
const OUTPUTS = ['status.js', 'status.css', 'index.html'];
const RECORD = '.inputs.json';

function fingerprint(path) {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s === undefined ? null : `${s.size}:${s.mtimeNs}`;
}

function fingerprints(root, paths) {
  return Object.fromEntries(paths.map((path) => [relative(root, path), fingerprint(path)]));
}

function upToDate(root, outDir) {
  let record;
  try {
    record = JSON.parse(readFileSync(join(outDir, RECORD), 'utf8'));
  } catch {
    return false;
  }
  const entries = Object.entries({ ...record.inputs, ...record.outputs });
  return (
    entries.length > 0 && entries.every(([path, print]) => fingerprint(join(root, path)) === print)
  );
}

function writeIfChanged(path, bytes) {
  let current;
  try {
    current = readFileSync(path);
  } catch {
    current = undefined;
  }
  if (current !== undefined && Buffer.compare(current, Buffer.from(bytes)) === 0) return;
  writeFileSync(path, bytes);
}

/** uPlot's licence as a `/*!` comment, which minifiers and later bundlers keep. */
function uplotBanner() {
  const { version } = JSON.parse(readFileSync(join(uplotDir, 'package.json'), 'utf8'));
  const licence = readFileSync(join(uplotDir, 'LICENSE'), 'utf8').trim().replaceAll('*/', '* /');
  return `/*! Bundles uPlot ${version} (https://github.com/leeoniya/uPlot):\n${licence}\n*/`;
}

/**
 * Builds `<root>/status-page` into `outDir` unless it is up to date. Returns whether it built.
 * Defaults: this package's root, and dist/status-page in it.
 */
export async function buildStatusPage({
  root = packageRoot,
  outDir = join(root, 'dist', 'status-page'),
} = {}) {
  const pageDir = join(root, 'status-page');
  if (upToDate(root, outDir)) return false;
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(pageDir, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    minify: true,
    // No source map: it would embed source paths, and the page is small enough to read as is.
    sourcemap: false,
    legalComments: 'none',
    banner: { js: uplotBanner() },
    tsconfig: join(pageDir, 'tsconfig.json'),
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles[0];
  if (js === undefined) throw new Error('esbuild wrote no output');

  const cssInputs = [join(uplotDir, 'dist', 'uPlot.min.css'), join(pageDir, 'status.css')];
  const css = cssInputs.map((path) => readFileSync(path, 'utf8').trim()).join('\n');
  const html = join(pageDir, 'index.html');

  mkdirSync(outDir, { recursive: true });
  writeIfChanged(join(outDir, 'status.js'), js.contents);
  writeIfChanged(join(outDir, 'status.css'), `${css}\n`);
  writeIfChanged(join(outDir, 'index.html'), readFileSync(html));

  const inputs = [
    ...Object.keys(result.metafile.inputs).map((path) => resolve(root, path)),
    ...cssInputs,
    html,
    join(uplotDir, 'LICENSE'),
    join(uplotDir, 'package.json'),
    join(pageDir, 'tsconfig.json'),
    // Another esbuild may write other bytes.
    require.resolve('esbuild/package.json'),
    fileURLToPath(import.meta.url),
  ];
  const record = {
    inputs: fingerprints(root, inputs.sort()),
    outputs: fingerprints(
      root,
      OUTPUTS.map((name) => join(outDir, name)),
    ),
  };
  writeFileSync(join(outDir, RECORD), `${JSON.stringify(record)}\n`);
  return true;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildStatusPage();
  } catch (err) {
    process.stderr.write(
      `build-status-page: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  }
}
