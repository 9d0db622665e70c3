import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings } from '../../src/config/schema.js';
import { errorCatalogue } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

describe('README stays in step with the code', () => {
  it('documents every error code with its HTTP status', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(readme, code).toMatch(
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${entry.status}\\s*\\|`),
      );
    }
  });

  it('documents every setting the config loader reads', () => {
    for (const setting of settings) {
      expect(readme, setting.env).toMatch(new RegExp(`\\|\\s*\`${setting.env}\`\\s*\\|`));
    }
  });

  it('gives the two commands a newcomer runs', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
