import { describe, expect, it } from 'vitest';
import { isExcluded, parseDockerignore } from './helpers/dockerignore.js';

/**
 * The .dockerignore matcher the Dockerfile checks rely on (helpers/dockerignore.ts) answers as
 * Docker does. The single-pattern and multi-pattern cases are the expectations of
 * moby/patternmatcher's own test table (patternmatcher_test.go, `MatchesOrParentMatches`), the
 * code the Docker CLI and BuildKit run; the file-reading cases follow its ignorefile package.
 */

const excludedBy = (file: string, path: string): boolean =>
  isExcluded(parseDockerignore(file), path);

// [pattern, path, excluded] from patternmatcher_test.go (TestMatches and TestMatch).
const single: readonly (readonly [string, string, boolean])[] = [
  ['**', 'file', true],
  ['**', 'dir/file', true],
  ['**/', 'dir/file', true],
  ['**/**', 'dir/file', true],
  ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/dir2/file', true],
  ['**/dir', 'dir', true],
  ['**/dir', 'dir/file', true],
  ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**file', 'file', true],
  ['**file', 'dir/file', true],
  ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false],
  ['**/*.txt', 'file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['a/*.txt', 'a/dir/file.txt', false],
  ['a/*.txt', 'a/file.txt', true],
  ['a[b-d]e', 'ace', true],
  ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true],
  ['.*', '.foo', true],
  ['.*', 'foo', false],
  ['abc.def', 'abcdef', false],
  ['abc?def', 'abcZdef', true],
  ['abc?def', 'abcdef', false],
  ['**/foo/bar', 'foo/bar', true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false],
  ['abc/**', 'abc/def/ghi', true],
  ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false],
  ['a(b)c/def', 'a(b)c/def', true],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['ab[^c]', 'abc', false],
  ['*x', 'xxx', true],
];

describe('.dockerignore matcher (moby/patternmatcher semantics)', () => {
  it.each(single)('%s on %s: excluded %s', (pattern, path, expected) => {
    // Act
    const excluded = excludedBy(pattern, path);

    // Assess
    expect(excluded).toBe(expected);
  });

  it('the last matching pattern decides; an exception lets a path back in', () => {
    // Act + Assess: patternmatcher's multi-pattern cases, then the folder exception cases.
    expect(excludedBy('**\n!util/docker/web', 'util/docker/web/foo')).toBe(false);
    expect(excludedBy('**\n!util/docker/web\nutil/docker/web/foo', 'util/docker/web/foo')).toBe(
      true,
    );
    expect(excludedBy('**\n!dist/*.whl', 'dist/proxy.py-2.4.0rc3-py3-none-any.whl')).toBe(false);
    expect(excludedBy('!fileutils.go\n*.go', 'fileutils.go')).toBe(true);
    expect(excludedBy('*.go\n!fileutils.go', 'fileutils.go')).toBe(false);
    expect(excludedBy('docs\n!docs/README.md', 'docs/README.md')).toBe(false);
    expect(excludedBy('docs/\n!docs/README.md', 'docs/README.md')).toBe(false);
  });

  it('a pattern that matches a parent directory excludes everything below it', () => {
    // Act + Assess
    expect(excludedBy('node_modules', 'node_modules/a/b/c.js')).toBe(true);
    expect(excludedBy('*', 'src/deep/file.ts')).toBe(true);
    expect(excludedBy('*\n!src', 'src/deep/file.ts')).toBe(false);
    expect(excludedBy('*\n!src\n**/.env', 'src/deep/.env')).toBe(true);
    expect(excludedBy('src/*.ts', 'src/deep/file.ts')).toBe(false);
  });

  it('reads the file as Docker does: comments, blank lines, spaces, leading slash, BOM', () => {
    // Prepare
    const file =
      '\uFEFF# a comment\n\n  /dist/  \n ! /dist/keep.js \n  # not a comment: a pattern\n';

    // Act + Assess
    expect(excludedBy(file, 'dist/x.js')).toBe(true);
    expect(excludedBy(file, 'dist/keep.js')).toBe(false);
    expect(excludedBy(file, '# a comment')).toBe(false);
    expect(excludedBy(file, '# not a comment: a pattern')).toBe(true);
    expect(excludedBy('*.go', '.')).toBe(false);
  });

  it('refuses a lone "!" and a malformed class, as Docker refuses the build', () => {
    // Act + Assess
    expect(() => parseDockerignore('!')).toThrow(/illegal exclusion pattern/);
    expect(() => parseDockerignore('a[')).toThrow();
  });
});
