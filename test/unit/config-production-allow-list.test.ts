import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { isWarmrouteError } from '../../src/errors.js';

/**
 * In production, a gateway in front of real Lambda (or an endpoint) needs
 * its allow-list: without one, a client could name any function or ARN the
 * gateway's role may invoke (`POST /v1/functions/<anything>/invoke`). The
 * local host runs only the functions of its own file, so it needs none.
 */
const production = {
  WARMROUTE_ENV: 'production',
  WARMROUTE_SECRET: 'production-secret-0123456789abcdef',
};

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (isWarmrouteError(err)) return err.message;
    throw err;
  }
  return '';
}

describe('production needs an allow-list for a remote backend', () => {
  it.each([
    ['aws', {}],
    ['endpoint', { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001' }],
  ])('WARMROUTE_BACKEND=%s without WARMROUTE_FUNCTIONS is refused', (backend, extra) => {
    // Act
    const message = problemsOf({ ...production, ...extra, WARMROUTE_BACKEND: backend });

    // Assess
    expect(message).toContain(
      `WARMROUTE_FUNCTIONS: required in production with WARMROUTE_BACKEND=${backend}`,
    );
  });

  it('an empty object is no allow-list either', () => {
    // Act
    const message = problemsOf({
      ...production,
      WARMROUTE_BACKEND: 'aws',
      WARMROUTE_FUNCTIONS: '{}',
    });

    // Assess
    expect(message).toContain('WARMROUTE_FUNCTIONS: required in production');
  });

  it('with functions declared, production on AWS loads', () => {
    // Act
    const config = loadConfig({
      ...production,
      WARMROUTE_BACKEND: 'aws',
      WARMROUTE_FUNCTIONS: JSON.stringify({
        counter: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' },
      }),
    });

    // Assess
    expect(Object.keys(config.functions)).toEqual(['counter']);
  });

  it('outside production, or with the local host, no allow-list is needed', () => {
    // Act + Assess
    expect(problemsOf({ WARMROUTE_BACKEND: 'aws' })).toBe('');
    expect(problemsOf({ ...production, WARMROUTE_BACKEND: 'local' })).toBe('');
  });
});
