import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../lambda/package-root.js';

/**
 * The one Lua script loader, for the directory's scripts (`src/redis/lua/`)
 * and the snapshot store's (`lambda/stores/lua/`). One convention for both
 * folders: every script is `<name>-<numberOfKeys>.lua` in a `lua/` folder,
 * whose header lists KEYS, ARGV and its reply codes (reply-codes.ts); shared
 * Lua lives in `lua/includes/*.lua` and is pulled in by a line
 *
 *     --- @include "includes/epoch-check"
 *
 * after the header comment and before the first line of code, expanded here
 * at load time (`expandIncludes`). A Redis 7 shebang (`#!lua flags=no-writes`)
 * stays the first line; an include cannot have one. Scripts ship as source files (package.json
 * `files`), not inside dist/: tsc does not copy .lua files, and one copy means
 * the sources, the build and an installed package all run the same script.
 */

/** The folders of Lua scripts, relative to the package root. */
const SCRIPT_FOLDERS = {
  directory: join('src', 'redis', 'lua'),
  /** Beside the function library that uses it: `warmroute/lambda` reads it from an installed package. */
  snapshot: join('lambda', 'stores', 'lua'),
} as const;

/**
 * A script folder under the package root. Resolved when called, not at import:
 * a function that only uses the file store must not fail at import when the
 * package root cannot be found (e.g. inside a bundle).
 */
export function scriptFolder(which: keyof typeof SCRIPT_FOLDERS): string {
  return join(findPackageRoot(import.meta.url), SCRIPT_FOLDERS[which]);
}

export interface ScriptDefinition {
  readonly lua: string;
  readonly numberOfKeys: number;
}

const FILE_NAME = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-(\d+)\.lua$/;
/** `--- @include "includes/name"`, alone on its line; the name is relative to the `lua/` folder. */
const INCLUDE = /^---[ \t]*@include[ \t]+"([^"]*)"[ \t]*$/;
/** Opens a Lua long comment, `--[[` or `--[==[`; group 1 is its level (the `=`s). */
const LONG_COMMENT_OPEN = /^--\[(=*)\[/;
/** Include names stay inside the folder's `includes/` (no `..`, no absolute paths). */
const INCLUDE_NAME = /^includes\/[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** `resolve-key` → `wrResolveKey`: the prefix keeps script commands apart from Redis's own. */
export function commandName(baseName: string): string {
  return `wr${baseName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}`;
}

/**
 * The line parts of `text`, each with its own line ending (`\n`, `\r\n` or
 * none for the last), so an expanded script keeps the endings it had.
 */
function linesOf(text: string): { line: string; end: string }[] {
  const parts = text.split(/(\r?\n)/);
  const lines: { line: string; end: string }[] = [];
  for (let i = 0; i < parts.length; i += 2)
    lines.push({ line: parts[i] ?? '', end: parts[i + 1] ?? '' });
  if (lines.at(-1)?.line === '' && lines.at(-1)?.end === '') lines.pop();
  return lines;
}

function misplaced(name: string, lineNumber: number, why: string): Error {
  return new Error(
    `Lua include directive in ${name} line ${lineNumber} ${why}: write --- @include "includes/<name>" ` +
      'alone on its line, before the first line of code and outside --[[ ]] comments',
  );
}

/**
 * What a line holds from `text` on (the rest of a line outside any long
 * comment): `open` is the closer of a long comment left open at its end;
 * `code` is true when code comes first. A closed long comment may be
 * followed by another (`--[[ a ]] --[[ b`), so the scan goes on after each.
 */
function scanLine(text: string): { open: string | undefined; code: boolean } {
  let rest = text.trim();
  for (;;) {
    const open = LONG_COMMENT_OPEN.exec(rest);
    if (open === null) return { open: undefined, code: rest !== '' && !rest.startsWith('--') };
    const close = `]${open[1] ?? ''}]`;
    const closeAt = rest.indexOf(close, open[0].length);
    if (closeAt === -1) return { open: close, code: false };
    rest = rest.slice(closeAt + close.length).trim();
  }
}

/** Redis 7 reads flags from a first line `#!lua flags=…`, and only from line 1. */
function isShebang(line: string, index: number): boolean {
  return index === 0 && line.startsWith('#!');
}

/**
 * The include names `text` asks for, by line index, checked against Lua's
 * syntax as far as directives need it: a directive counts only in the
 * preamble (a shebang line, blank lines and comments before the first line
 * of code) and outside a long comment (`--[[ … ]]`, where a directive is
 * documentation: expanding it there would put the functions inside the
 * comment, and the real directive below would then insert nothing). Any
 * other `@include` — inside a long comment, after code, unquoted, not alone
 * on its line — is a mistake that would silently leave the functions out,
 * so it fails.
 */
function directivesOf(name: string, lines: readonly { line: string }[]): Map<number, string> {
  const directives = new Map<number, string>();
  let closeLongComment: string | undefined;
  let inCode = false;
  for (const [index, { line }] of lines.entries()) {
    const lineNumber = index + 1;
    if (closeLongComment !== undefined) {
      if (line.includes('@include'))
        throw misplaced(name, lineNumber, 'is inside a --[[ ]] comment');
      const closeAt = line.indexOf(closeLongComment);
      if (closeAt === -1) continue;
      const after = scanLine(line.slice(closeAt + closeLongComment.length));
      closeLongComment = after.open;
      if (after.code) inCode = true;
      continue;
    }
    if (isShebang(line, index)) continue;
    const trimmed = line.trim();
    const directive = INCLUDE.exec(trimmed);
    if (directive !== null && line.startsWith('---')) {
      if (inCode) throw misplaced(name, lineNumber, 'comes after the first line of code');
      directives.set(index, directive[1] ?? '');
      continue;
    }
    if (line.includes('@include')) throw misplaced(name, lineNumber, 'is not a directive');
    if (inCode) continue;
    const scanned = scanLine(trimmed);
    closeLongComment = scanned.open;
    if (scanned.code) inCode = true;
  }
  return directives;
}

/**
 * `source` (the text of `file`) with every include directive replaced by the
 * included file's text, itself expanded. Each include is inserted once per
 * script, where it is first named (a later directive for it becomes nothing),
 * so two includes may both name a third. A cycle, a missing include, a
 * malformed name or a misplaced directive (`directivesOf`) fails, naming the
 * file that asked for it. `readInclude` returns the text of
 * `includes/<name>.lua`, or undefined when there is none.
 */
export function expandIncludes(
  file: string,
  source: string,
  readInclude: (name: string) => string | undefined,
): string {
  const inserted = new Set<string>();
  const expand = (name: string, text: string, stack: readonly string[]): string => {
    const lines = linesOf(text);
    if (stack.length > 1 && isShebang(lines[0]?.line ?? '', 0)) {
      // Expanded, it would not be on line 1, where Redis reads it.
      throw new Error(`Lua include ${name} starts with #!: only a script's first line may`);
    }
    const directives = directivesOf(name, lines);
    return lines
      .map(({ line, end }, index) => {
        const included = directives.get(index);
        if (included === undefined) return line + end;
        if (!INCLUDE_NAME.test(included)) {
          throw new Error(
            `Lua include "${included}" in ${name} must be "includes/<name>" (lower-case, dashes)`,
          );
        }
        if (stack.includes(included)) {
          throw new Error(`Lua include cycle: ${[...stack, included].join(' -> ')}`);
        }
        if (inserted.has(included)) return end;
        const body = readInclude(included);
        if (body === undefined) {
          throw new Error(`Lua include "${included}" named in ${name} not found (${included}.lua)`);
        }
        inserted.add(included);
        return expand(included, body, [...stack, included]).replace(/\r?\n$/, '') + end;
      })
      .join('');
  };
  return expand(file, source, [file]);
}

/**
 * Every `name-<numberOfKeys>.lua` file in `dir`, includes expanded, keyed by
 * command name, in the shape of ioredis's `scripts` constructor option.
 * ioredis then sends EVALSHA and falls back to EVAL on NOSCRIPT (after SCRIPT
 * FLUSH or a Redis restart). A broken install fails here, naming the path.
 */
export function loadScripts(dir: string): Record<string, ScriptDefinition> {
  if (!existsSync(dir)) throw new Error(`warmroute: Lua script folder not found: ${dir}`);
  const readInclude = (name: string): string | undefined => {
    const path = join(dir, `${name}.lua`);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };
  const scripts: Record<string, ScriptDefinition> = {};
  // `includes/` is a folder, so it never matches `.lua`.
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.lua')) continue;
    const match = FILE_NAME.exec(file);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new Error(`Lua script file name must be name-<numberOfKeys>.lua: ${file}`);
    }
    scripts[commandName(match[1])] = {
      lua: expandIncludes(file, readFileSync(join(dir, file), 'utf8'), readInclude),
      numberOfKeys: Number(match[2]),
    };
  }
  return scripts;
}

let directory: Record<string, ScriptDefinition> | undefined;
let snapshot: Record<string, ScriptDefinition> | undefined;

/** The directory's scripts (`src/redis/lua/`), read once per process. */
export function directoryScripts(): Record<string, ScriptDefinition> {
  directory ??= loadScripts(scriptFolder('directory'));
  return directory;
}

/** The snapshot store's scripts (`lambda/stores/lua/`), read once per process. */
export function snapshotScripts(): Record<string, ScriptDefinition> {
  snapshot ??= loadScripts(scriptFolder('snapshot'));
  return snapshot;
}
