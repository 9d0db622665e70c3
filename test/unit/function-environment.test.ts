import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The function library's variables have one list (lambda/environment.ts);
 * the README's "Function library" table is that list, row for row, so a
 * variable added, renamed or reworded in the code shows in the docs.
 */

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

/** `| \`NAME\` | meaning |` rows of the "Function library" section. */
function functionLibraryTable(): { env: string; meaning: string }[] {
  const start = readme.indexOf('\n## Function library');
  if (start === -1) throw new Error('README has no "Function library" section');
  const rest = readme.slice(start + 1);
  const end = rest.indexOf('\n## ');
  const section = end === -1 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*(.*?)\s*\|$/gm)].map((m) => ({
    env: m[1] ?? '',
    meaning: m[2] ?? '',
  }));
}

describe('function library environment variables', () => {
  it('the README "Function library" table is FUNCTION_ENVIRONMENT, in order, with its descriptions', () => {
    expect(functionLibraryTable()).toEqual(
      Object.values(FUNCTION_ENVIRONMENT).map((v) => ({ env: v.env, meaning: v.description })),
    );
  });

  it('every name is a WARMROUTE_ variable, listed once', () => {
    const names = Object.values(FUNCTION_ENVIRONMENT).map((v) => v.env);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^WARMROUTE_[A-Z0-9_]+$/);
  });
});
