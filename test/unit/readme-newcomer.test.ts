import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * What a newcomer copies from the README and docs/sdk.md must work as
 * copied, and the SDK is documented once (README: the first call; docs/sdk.md:
 * the rest), so the two cannot drift apart again.
 */

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
const sdkDoc = readFileSync(join(packageRoot, 'docs/sdk.md'), 'utf8');

/** The fenced code blocks of a Markdown text in a language. */
function blocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```', 'gm'))].map(
    (m) => m[1] ?? '',
  );
}

/** Prose paragraphs, whitespace-normalised: the unit a copy would repeat. */
function paragraphs(markdown: string): string[] {
  return markdown
    .replace(/^```[\s\S]*?^```/gm, '')
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length >= 80 && !p.startsWith('|'));
}

describe('README and docs/sdk.md, as a newcomer uses them', () => {
  it('every shell variable a README shell block expands is set in that block or is a warmroute/AWS variable', () => {
    // Prepare
    const unset: string[] = [];

    // Act
    for (const block of blocks(readme, 'sh')) {
      const assigned = new Set([...block.matchAll(/^\s*([A-Za-z_]\w*)=/gm)].map((m) => m[1]));
      for (const m of block.matchAll(/\$\{?([A-Za-z_]\w*)/g)) {
        const name = m[1] ?? '';
        if (!assigned.has(name) && !/^(WARMROUTE|AWS)_/.test(name)) unset.push(name);
      }
    }

    // Assess
    expect(unset).toEqual([]);
  });

  it('SDK examples take the gateway URL and the Lambda endpoint from the environment, with the default ports as fallback', () => {
    // Prepare
    const examples = [...blocks(readme, 'js'), ...blocks(sdkDoc, 'js')].filter((b) =>
      b.includes("from 'warmroute/sdk'"),
    );

    // Act: every loopback URL literal in them.
    const literals = examples.flatMap((b) =>
      [...b.matchAll(/^.*'http:\/\/127\.0\.0\.1:\d+'.*$/gm)].map((m) => m[0].trim()),
    );

    // Assess
    expect(examples.length).toBeGreaterThanOrEqual(3);
    expect(literals.length).toBeGreaterThan(0);
    for (const line of literals) {
      expect(line).toMatch(
        /process\.env\.(WARMROUTE_URL|AWS_ENDPOINT_URL_LAMBDA) \?\? 'http:\/\/127\.0\.0\.1:(3000|9001)'/,
      );
    }
  });

  it('the SDK is documented once: no paragraph of docs/sdk.md is repeated in the README, and the README links to it', () => {
    // Prepare
    const inReadme = new Set(paragraphs(readme));

    // Act
    const repeated = paragraphs(sdkDoc).filter((p) => inReadme.has(p));

    // Assess
    expect(repeated).toEqual([]);
    expect(readme).toContain('[docs/sdk.md](docs/sdk.md)');
  });

  it('says that a clone needs npm install before npx warmroute local', () => {
    expect(readme).not.toMatch(/works from a clone/);
    expect(readme).toMatch(
      /In a clone, run `npm install` first[^.]*, then `npx warmroute local` or\s+`node dist\/src\/cli\.js local`/,
    );
  });
});
