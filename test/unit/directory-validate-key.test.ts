import { describe, expect, it } from 'vitest';
import { isWarmrouteError } from '../../src/errors.js';
import { keyProblem, validateKey } from '../../src/directory/validate-key.js';
import { loadConfig } from '../../src/config/load-config.js';
import { resolveSecret } from '../../src/directory/resolve-secret.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isWarmrouteError(err) ? err.code : 'not-a-warmroute-error';
  }
}

describe('validateKey', () => {
  it('accepts 1–1024 bytes of UTF-8 without control characters', () => {
    for (const key of ['a', 'x'.repeat(1024), 'é'.repeat(512), 'user:42/ws 7', '🙂']) {
      expect(
        codeOf(() => {
          validateKey(key);
        }),
      ).toBeUndefined();
    }
  });

  it('rejects empty, too long (in bytes), control characters and lone surrogates with WR_ERR_KEY_INVALID', () => {
    const bad = [
      '',
      'x'.repeat(1025),
      'é'.repeat(513),
      'a\nb',
      'tab\t',
      'nul\u0000',
      'del\u007f',
      'c1\u0085',
      '\ud800x',
      'x\udc00',
    ];
    for (const key of bad) {
      expect(
        codeOf(() => {
          validateKey(key);
        }),
        JSON.stringify(key),
      ).toBe('WR_ERR_KEY_INVALID');
    }
    expect(keyProblem('é'.repeat(513))).toMatch(/1026 bytes/);
  });
});

describe('resolveSecret', () => {
  it('fails in production without a secret, with WR_ERR_CONFIG naming the variable', () => {
    let caught: unknown;
    try {
      resolveSecret({ secret: undefined, production: true, logger: { warn: () => undefined } });
    } catch (err) {
      caught = err;
    }
    expect(isWarmrouteError(caught) && caught.code).toBe('WR_ERR_CONFIG');
    expect((caught as Error).message).toMatch(/WARMROUTE_SECRET/);
  });

  it('generates a random secret with a warning in development', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (msg: unknown) => warnings.push(msg) };
    const a = resolveSecret({ secret: undefined, production: false, logger });
    const b = resolveSecret({ secret: undefined, production: false, logger });
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(a).not.toBe(b);
    expect(warnings).toHaveLength(2);
  });

  it('keeps a configured secret; a short one is refused by the config schema, in production and out', () => {
    const logger = { warn: () => undefined };
    expect(resolveSecret({ secret: 's'.repeat(40), production: true, logger })).toBe(
      's'.repeat(40),
    );
    // The length rule lives in the schema alone (resolveSecret's old dev-only branch was unreachable).
    expect(
      codeOf(() => loadConfig({ WARMROUTE_SECRET: 'short', WARMROUTE_ENV: 'production' })),
    ).toBe('WR_ERR_CONFIG');
    expect(codeOf(() => loadConfig({ WARMROUTE_SECRET: 'short' }))).toBe('WR_ERR_CONFIG');
  });
});
