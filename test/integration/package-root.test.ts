import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findPackageRoot } from '../../lambda/package-root.js';
import { packageRoot } from '../../src/paths.js';
import { scriptFolder } from '../../src/redis/script-loader.js';

/**
 * How shipped files are found (issue 11, defect 10): from the package root,
 * the nearest folder whose package.json is warmroute's, wherever the module
 * runs from. Before, the Lua loader walked up six folders taking any
 * matching file, and src/paths.ts needed a src/ folder beside package.json.
 */

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() ?? '', { recursive: true, force: true });
});

function manifest(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
}

describe('findPackageRoot', () => {
  it('finds the installed package from its compiled modules, skipping package.json files of other names', () => {
    // Prepare: node_modules/warmroute inside a user's project, with a stray dist/package.json.
    const project = mkdtempSync(join(tmpdir(), 'warmroute-root-'));
    dirs.push(project);
    manifest(project, 'my-app');
    const installed = join(project, 'node_modules', 'warmroute');
    manifest(installed, 'warmroute');
    manifest(join(installed, 'dist'), 'not-warmroute');
    const module = join(installed, 'dist', 'lambda', 'stores', 'redis-snapshot-store.js');
    mkdirSync(join(installed, 'dist', 'lambda', 'stores'), { recursive: true });
    // Act
    const root = findPackageRoot(pathToFileURL(module).href);
    // Assess
    expect(root).toBe(installed);
  });

  it('fails with a message naming where it looked when no warmroute package.json is above', () => {
    // Prepare
    const elsewhere = mkdtempSync(join(tmpdir(), 'warmroute-noroot-'));
    dirs.push(elsewhere);
    manifest(elsewhere, 'something-else');
    // Act / Assess
    expect(() => findPackageRoot(pathToFileURL(join(elsewhere, 'bundle.js')).href)).toThrow(
      /cannot locate the package root.*warmroute-noroot-/,
    );
  });

  it('resolves the same root from the sources as src/paths.ts, and the store scripts under it', () => {
    expect(scriptFolder('snapshot')).toBe(join(packageRoot, 'lambda', 'stores', 'lua'));
    expect(scriptFolder('directory')).toBe(join(packageRoot, 'src', 'redis', 'lua'));
  });
});
