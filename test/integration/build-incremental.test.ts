import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * `npm run build` (scripts/build.mjs) is incremental, and dist/ is never left
 * silently stale: whatever happens to the outputs or the .tsbuildinfo between
 * builds, the next build leaves outputs that match the sources. Runs the
 * script on a two-file project (the repository's own build takes a minute on
 * a busy machine) with the same options as tsconfig.build.json.
 */

const run = promisify(execFile);
const script = join(packageRoot, 'scripts', 'build.mjs');
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warmroute-build-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        declaration: true,
        sourceMap: true,
        types: [],
        rootDir: '.',
        outDir: 'dist',
        noEmitOnError: false,
        incremental: true,
        tsBuildInfoFile: 'dist/.tsbuildinfo',
      },
      include: ['src'],
    }),
  );
  writeSource('a', 1);
  writeFileSync(join(dir, 'src', 'b.ts'), "import { a } from './a.js';\nexport const b = a + 1;\n");
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeSource(name: string, value: number): void {
  writeFileSync(join(dir, 'src', `${name}.ts`), `export const ${name} = ${value};\n`);
}

async function build(): Promise<{ stderr: string }> {
  const { stderr } = await run(process.execPath, [script, 'tsconfig.json'], { cwd: dir });
  return { stderr };
}

const out = (path: string): string => readFileSync(join(dir, 'dist', path), 'utf8');
const mtime = (path: string): bigint => statSync(join(dir, 'dist', path), { bigint: true }).mtimeNs;

describe('npm run build (scripts/build.mjs)', { timeout: 120_000 }, () => {
  it('builds everything once, then leaves an unchanged tree alone and re-emits what changed', async () => {
    // Act
    const first = await build();
    const before = mtime('src/b.js');
    const again = await build();
    const afterUnchanged = mtime('src/b.js');
    writeSource('a', 2);
    await build();

    // Assess
    expect(first.stderr).toMatch(/compiling everything/);
    expect(again.stderr).toBe('');
    expect(afterUnchanged).toBe(before);
    expect(out('src/a.js')).toContain('export const a = 2;');
  });

  it('rebuilds an output deleted after the build', async () => {
    // Prepare
    await build();
    rmSync(join(dir, 'dist', 'src', 'a.js'));
    rmSync(join(dir, 'dist', 'src', 'b.d.ts'));

    // Act
    const { stderr } = await build();

    // Assess
    expect(stderr).toMatch(/deleted or changed after the last build; rebuilding everything/);
    expect(out('src/a.js')).toContain('export const a = 1;');
    expect(out('src/b.d.ts')).toContain('export declare const b: number;');
  });

  it('rebuilds everything when dist/ (and with it the build info) is deleted', async () => {
    // Prepare
    await build();
    writeSource('a', 3);
    rmSync(join(dir, 'dist'), { recursive: true });

    // Act
    await build();

    // Assess
    expect(out('src/a.js')).toContain('export const a = 3;');
    expect(out('src/b.js')).toContain('a + 1');
    expect(out('src/a.d.ts')).toContain('export declare const a = 3;');
  });

  it('replaces an output restored from an older build while the build info stayed current', async () => {
    // Prepare: keep version 1's output, build version 2, put version 1's output back.
    await build();
    copyFileSync(join(dir, 'dist', 'src', 'a.js'), join(dir, 'a-v1.js'));
    writeSource('a', 2);
    await build();
    copyFileSync(join(dir, 'a-v1.js'), join(dir, 'dist', 'src', 'a.js'));

    // Act
    const { stderr } = await build();

    // Assess
    expect(stderr).toMatch(/rebuilding everything/);
    expect(out('src/a.js')).toContain('export const a = 2;');
  });

  it('re-emits from sources when the build info is stale (older build) or unreadable', async () => {
    // Prepare: version 1's build info beside version 2's sources.
    await build();
    copyFileSync(join(dir, 'dist', '.tsbuildinfo'), join(dir, 'info-v1'));
    writeSource('a', 2);
    await build();
    copyFileSync(join(dir, 'info-v1'), join(dir, 'dist', '.tsbuildinfo'));
    writeSource('a', 3);

    // Act
    await build();
    const afterStale = out('src/a.js');
    writeFileSync(join(dir, 'dist', '.tsbuildinfo'), '{ not json');
    writeSource('a', 4);
    await build();

    // Assess
    expect(afterStale).toContain('export const a = 3;');
    expect(out('src/a.js')).toContain('export const a = 4;');
    expect(out('src/a.d.ts')).toContain('export declare const a = 4;');
  });

  it('a dist/ without a build manifest (left by a bare tsc) is rebuilt once, then trusted', async () => {
    // Prepare
    await build();
    rmSync(join(dir, 'dist', '.build-manifest.json'));

    // Act
    const untrusted = await build();
    const trusted = await build();

    // Assess
    expect(untrusted.stderr).toMatch(/\.build-manifest\.json is missing; rebuilding everything/);
    expect(trusted.stderr).toBe('');
  });
});
