import { posix } from 'node:path';

/**
 * A `.dockerignore` matcher with Docker's own rules, so a test can tell which files of the
 * repository reach an image build's context. No maintained npm package implements them for
 * Node (`@balena/dockerignore` is not a dependency here), so this is a small port of what the
 * Docker CLI and BuildKit run, github.com/moby/patternmatcher:
 *
 * - reading (`ignorefile.ReadAll`): a line starting with `#` is a comment; lines are trimmed;
 *   empty lines are skipped; a leading `!` makes an exception (a pattern that lets paths back
 *   in); the rest is `filepath.Clean`ed and a leading `/` dropped (paths are relative to the
 *   context root);
 * - matching (`MatchesOrParentMatches`): patterns in order, the last one that matches a path
 *   decides; a pattern also matches a path when it matches one of the path's parent
 *   directories (`node_modules` excludes `node_modules/a/b.js`);
 * - a pattern is Go's `filepath.Match` (`*` and `?` never cross `/`, `[...]` classes, `\`
 *   escapes the next character) plus `**`, any number of directories, zero included
 *   (`**` followed by `/` stands for that too), and a trailing `**` matching everything below.
 */

export interface DockerignorePattern {
  readonly text: string;
  readonly exception: boolean;
  readonly regexp: RegExp;
}

/** Go's `path.Clean` for slash paths (what `filepath.Clean` does on Linux). */
function clean(path: string): string {
  const cleaned = posix.normalize(path);
  return cleaned.length > 1 && cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
}

/** `ch` as a regular expression matching itself. */
function literal(ch: string): string {
  return /[A-Za-z0-9_]/.test(ch) ? ch : `\\${ch}`;
}

/** One pattern as a regular expression over a whole slash path (patternmatcher's `compile`). */
function compile(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        const rest = pattern.slice(i + 1);
        if (rest === '') {
          // `**` at the end matches everything below.
          source += '.*';
        } else if (i === 1 && pattern[1] === '*' && pattern[2] !== '/' && !/[*?[\\]/.test(rest)) {
          // A leading `**` glued to plain text is a suffix test in patternmatcher:
          // `**file` matches `file`, `dir/file` and `xfile`.
          source += '.*';
        } else {
          // Any number of whole directories, zero included.
          source += '(.*/)?';
        }
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '\\') {
      // Escapes the next character; a trailing `\` stands for itself.
      const next = pattern[i + 1];
      source += literal(next ?? '\\');
      if (next !== undefined) i++;
    } else if (ch === '[' || ch === ']') {
      // Classes go through as they are, `[^…]` negation included, as in patternmatcher.
      source += ch;
    } else if (ch !== undefined && '.+()|{}$'.includes(ch)) {
      // What patternmatcher escapes; like it, `^` outside a class stays an anchor.
      source += `\\${ch}`;
    } else {
      source += ch ?? '';
    }
  }
  return new RegExp(`${source}$`);
}

/** The patterns of a `.dockerignore` file's text, in order (ignorefile.ReadAll). */
export function parseDockerignore(text: string): readonly DockerignorePattern[] {
  const patterns: DockerignorePattern[] = [];
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    let body = line.trim();
    if (body === '') continue;
    const exception = body.startsWith('!');
    if (exception) body = body.slice(1).trim();
    if (body === '') throw new Error('.dockerignore: illegal exclusion pattern "!"');
    body = clean(body);
    if (body.length > 1 && body.startsWith('/')) body = body.slice(1);
    patterns.push({ text: body, exception, regexp: compile(body) });
  }
  return patterns;
}

/**
 * Whether `path` (slash-separated, relative to the context root) is left out of the build
 * context by `patterns` (MatchesOrParentMatches).
 */
export function isExcluded(patterns: readonly DockerignorePattern[], path: string): boolean {
  const file = clean(path);
  if (file === '.') return false;
  const parents = posix.dirname(file) === '.' ? [] : posix.dirname(file).split('/');
  let excluded = false;
  for (const pattern of patterns) {
    let match = pattern.regexp.test(file);
    for (let i = 0; !match && i < parents.length; i++) {
      match = pattern.regexp.test(parents.slice(0, i + 1).join('/'));
    }
    if (match) excluded = !pattern.exception;
  }
  return excluded;
}
