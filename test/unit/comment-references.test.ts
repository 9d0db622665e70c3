import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * Comments and docs point only at things a reader of this repository can
 * open: every repository path (`src/…`, `lambda/…`, `docs/…`, …) and every
 * source or doc file named by itself (`.ts`, `.lua`, `.md`, …) in a comment
 * of src/, lambda/, bench/ or test/, or anywhere in docs/, exists; and no
 * file points at notes kept outside the repository (the phrases below).
 */

const SCANNED = ['src', 'lambda', 'bench', 'test', 'docs'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'coverage', 'results']);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return SKIPPED_DIRS.has(e.name) ? [] : walk(join(dir, e.name));
    return e.isFile() ? [join(dir, e.name)] : [];
  });
}

const repoFiles = walk(packageRoot);
const repoNames = new Set(repoFiles.map((f) => basename(f)));

/** The comment text of a source file (line and block comments; Lua's `--`). */
function commentsOf(path: string, text: string): string {
  if (path.endsWith('.md')) return text;
  if (path.endsWith('.lua')) return [...text.matchAll(/--(.*)$/gm)].map((m) => m[1]).join('\n');
  const parts: string[] = [];
  // Strings first, so a `//` inside a URL or a string literal is not read as a comment.
  const token =
    /'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`|\/\*[\s\S]*?\*\/|\/\/.*$/gm;
  for (const m of text.matchAll(token)) {
    const t = m[0];
    if (t.startsWith('/*') || t.startsWith('//')) parts.push(t);
  }
  return parts.join('\n');
}

const scanned = SCANNED.flatMap((dir) => walk(join(packageRoot, dir)))
  .filter((f) => /\.(ts|mts|mjs|js|cjs|lua|md)$/.test(f))
  .map((path) => ({ path, comments: commentsOf(path, readFileSync(path, 'utf8')) }));

/** Paths that exist once a command has run (ignored by .gitignore): `npm run bench` writes here. */
const GENERATED = ['bench/results'];

const PATH = /(?<![\w./-])((?:src|lambda|docs|bench|test|deploy|dashboards|scripts)\/[\w./-]*\w)/g;
const FILE_NAME = /(?<![\w/.-])([\w-]+\.(?:ts|lua|md|mjs|cjs|json))\b/g;
// Docs also tell the reader to create files (`save as blue.mjs`): there only source and doc names count.
const DOC_FILE_NAME = /(?<![\w/.-])([\w-]+\.(?:ts|lua|md))\b/g;

function exists(reference: string): boolean {
  if (GENERATED.some((g) => reference === g || reference.startsWith(`${g}/`))) return true;
  if (existsSync(join(packageRoot, reference))) return true;
  // An import specifier names the .ts as .js.
  return (
    reference.endsWith('.js') && existsSync(join(packageRoot, reference.replace(/\.js$/, '.ts')))
  );
}

describe('references in comments and docs', () => {
  it('scans the files it means to', () => {
    expect(scanned.length).toBeGreaterThan(100);
    expect(scanned.some((f) => f.path.endsWith('.lua'))).toBe(true);
    expect(scanned.some((f) => f.path.endsWith('.md'))).toBe(true);
  });

  it('every repository path a comment names exists', () => {
    const missing: string[] = [];
    for (const { path, comments } of scanned) {
      for (const m of comments.matchAll(PATH)) {
        const reference = m[1] ?? '';
        // Patterns and placeholders (`lua/*.lua`, `src/<module>`) name no one file.
        if (/[*<>{}]/.test(comments.slice(m.index, m.index + reference.length + 1))) continue;
        if (!exists(reference)) missing.push(`${relative(packageRoot, path)}: ${reference}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every file name a comment names is a file of this repository', () => {
    const missing: string[] = [];
    for (const { path, comments } of scanned) {
      for (const m of comments.matchAll(path.endsWith('.md') ? DOC_FILE_NAME : FILE_NAME)) {
        const name = m[1] ?? '';
        if (!repoNames.has(name)) missing.push(`${relative(packageRoot, path)}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every relative link in docs/ resolves', () => {
    const missing: string[] = [];
    for (const { path, comments } of scanned.filter((f) => f.path.endsWith('.md'))) {
      for (const m of comments.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue; // a URL
        if (!existsSync(join(dirname(path), target)))
          missing.push(`${relative(packageRoot, path)}: ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('nothing points at notes outside the repository', () => {
    // Built from parts so that this file does not match itself.
    const phrases = [
      '../' + 'shared',
      'shared ' + 'design',
      "module's " + 'report',
      'module’s ' + 'report',
    ];
    const found = scanned.flatMap(({ path }) => {
      const text = readFileSync(path, 'utf8').toLowerCase();
      return phrases
        .filter((p) => text.includes(p))
        .map((p) => `${relative(packageRoot, path)}: "${p}"`);
    });
    expect(found).toEqual([]);
  });
});
