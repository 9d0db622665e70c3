#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`): an incremental `tsc -b` that never leaves
 * the output directory silently stale.
 *
 *   node scripts/build.mjs [tsconfig]      default: tsconfig.build.json
 *
 * Why a wrapper: `tsc -b` trusts its .tsbuildinfo. It skips the build when no
 * input is newer than that file and re-emits only inputs whose text changed;
 * it never looks at the outputs. An output deleted or overwritten by anything
 * else stays missing or wrong, and `tsc -b` reports success. So this script
 *   - keeps the .tsbuildinfo inside the output directory (tsconfig.build.json),
 *     so deleting dist/ always means a full build;
 *   - records the size and mtime of every output in `.build-manifest.json`
 *     beside it after each build, and starts from scratch (`--force`) when
 *     dist/ no longer matches that record (an output deleted, replaced or
 *     restored from elsewhere, or no record: dist/ came from a bare `tsc`);
 *   - checks after the build that every output exists, and fails if not;
 *   - then builds the status page into dist/status-page (scripts/build-status-page.mjs).
 * test/integration/build-incremental.test.ts checks the stale-output cases (deleted, replaced,
 * restored, no record); the unreadable-manifest and still-missing-after-rebuild branches have no test.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { buildStatusPage } from './build-status-page.mjs';

// Loaded with require: an ESM import of this 9 MB CommonJS file first scans it for export
// names, which costs about half a second of every build.
const ts = createRequire(import.meta.url)('typescript');

const project = resolve(process.argv[2] ?? 'tsconfig.build.json');

const parsed = ts.getParsedCommandLineOfConfigFile(
  project,
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
if (parsed === undefined) throw new Error(`build: cannot read ${project}`);
const { outDir, tsBuildInfoFile } = parsed.options;
if (outDir === undefined || tsBuildInfoFile === undefined) {
  throw new Error(`build: ${project} must set outDir and tsBuildInfoFile`);
}
if (relative(outDir, tsBuildInfoFile).startsWith('..')) {
  throw new Error(
    `build: tsBuildInfoFile must lie inside outDir (${outDir}), or deleting it leaves a stale record`,
  );
}
const manifestPath = join(dirname(tsBuildInfoFile), '.build-manifest.json');
const show = (path) => relative(process.cwd(), path) || '.';

/** Every file the build must leave: each input's outputs, and the build info. */
function expectedOutputs() {
  const ignoreCase = !ts.sys.useCaseSensitiveFileNames;
  const outputs = parsed.fileNames.flatMap((file) =>
    ts.getOutputFileNames(parsed, file, ignoreCase),
  );
  return [...new Set([...outputs, tsBuildInfoFile])];
}

function fingerprint(path) {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s === undefined ? undefined : `${s.size}:${s.mtimeNs}`;
}

/** Why dist/ cannot be trusted, or undefined when it is exactly what the last build left. */
function staleReason(expected) {
  if (!existsSync(tsBuildInfoFile)) return undefined; // no record: tsc builds everything anyway
  if (!existsSync(manifestPath)) return `${show(manifestPath)} is missing`;
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return `${show(manifestPath)} is unreadable`;
  }
  for (const path of expected) {
    const key = relative(outDir, path);
    if (recorded[key] === undefined) continue; // a new input: tsc -b sees it
    if (fingerprint(path) !== recorded[key])
      return `${show(path)} was deleted or changed after the last build`;
  }
  return undefined;
}

/** `tsc -b` in this process (TypeScript is loaded once); returns tsc's exit status. */
function runTsc(force) {
  const pretty = process.stdout.isTTY === true;
  const host = ts.createSolutionBuilderHost(
    ts.sys,
    undefined,
    ts.createDiagnosticReporter(ts.sys, pretty),
    ts.createBuilderStatusReporter(ts.sys, pretty),
  );
  return ts.createSolutionBuilder(host, [project], { force }).build();
}

const expected = expectedOutputs();
const reason = staleReason(expected);
if (reason !== undefined) {
  process.stderr.write(`build: ${reason}; rebuilding everything\n`);
} else if (!existsSync(tsBuildInfoFile)) {
  process.stderr.write(
    `build: no ${show(tsBuildInfoFile)}, compiling everything (later builds are incremental)\n`,
  );
}
let status = runTsc(reason !== undefined);
let missing = expected.filter((path) => !existsSync(path));
if (missing.length > 0 && reason === undefined) {
  process.stderr.write(`build: ${show(missing[0])} was not emitted; rebuilding everything\n`);
  status = runTsc(true);
  missing = expected.filter((path) => !existsSync(path));
}
if (missing.length > 0) {
  process.stderr.write(
    `build: still missing after a full build: ${missing.map(show).join(', ')}\n`,
  );
  process.exit(1);
}
const manifest = {};
for (const path of expected) manifest[relative(outDir, path)] = fingerprint(path);
writeFileSync(manifestPath, `${JSON.stringify(manifest)}\n`);
// The status page is bundled by esbuild (browser code, uPlot inlined), not emitted by tsc. Only
// a project with a status-page/ folder has one (not the small projects the build tests use).
const projectRoot = dirname(project);
try {
  if (existsSync(join(projectRoot, 'status-page'))) {
    await buildStatusPage({ root: projectRoot, outDir: join(outDir, 'status-page') });
  }
} catch (err) {
  process.stderr.write(`build: status page: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
// Type errors still fail the build (tsc's non-zero status, as with `tsc -p`); outputs are
// emitted anyway (noEmitOnError: false).
process.exit(status);
