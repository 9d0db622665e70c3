import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { MAX_REPORTED_ERRORS } from '../../src/config/schema-errors.js';
import { configError } from '../helpers/config-error.js';

/**
 * The every-error report (WR_ERR_CONFIG) stays readable and complete:
 * a huge bad value is quoted in part with its length, a report cut at the
 * cap says how much it left out, an unknown field under a JSON setting
 * names the variable it came from, and a Redis password without REDIS_URL
 * (a missing or misspelt URL: the directory would silently live in memory)
 * is refused beside every other problem.
 */
describe('WR_ERR_CONFIG report limits', () => {
  it('bad JSON of 200 kB is quoted in part, with its length, not echoed whole', () => {
    // Prepare
    const raw = `{"counter":${'x'.repeat(200_000)}`;

    // Act
    const err = configError(() => loadConfig({ WARMROUTE_FUNCTIONS: raw }));

    // Assess
    expect(err.message).toContain('WARMROUTE_FUNCTIONS="{\\"counter\\":xxx');
    expect(err.message).toContain(`(${raw.length} characters): must be JSON`);
    expect(err.message.length).toBeLessThan(1_000);
  });

  it('a short bad value is still quoted whole', () => {
    // Act
    const err = configError(() => loadConfig({ PORT: 'eighty' }));

    // Assess
    expect(err.message).toContain('PORT="eighty": must be an integer');
  });

  it('a report cut at the cap says how many errors it left out', () => {
    // Prepare: 1,500 functions with one bad value each.
    const functions = Object.fromEntries(
      Array.from({ length: 1_500 }, (_, i) => [
        `f${String(i)}`,
        { timeoutSeconds: 0, memoryMb: 128, tenancy: 'NONE' },
      ]),
    );

    // Act
    const err = configError(() => loadConfig({ WARMROUTE_FUNCTIONS: JSON.stringify(functions) }));

    // Assess
    expect(err.message).toContain('WARMROUTE_FUNCTIONS (functions.f0.timeoutSeconds)');
    expect(err.message).toContain(
      `… and ${String(1_500 - MAX_REPORTED_ERRORS)} more schema error(s), not listed (the first ${String(MAX_REPORTED_ERRORS)} are)`,
    );
  });

  it('an unknown field under WARMROUTE_ROUTES names the variable', () => {
    // Act
    const err = configError(() =>
      loadConfig({
        WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/', function: 'counter', typo: 1 }]),
      }),
    );

    // Assess
    expect(err.message).toContain('WARMROUTE_ROUTES (routes.0): unknown setting(s) typo');
  });

  it('WARMROUTE_REDIS_PASSWORD without REDIS_URL is refused beside the other problems', () => {
    // Act
    const err = configError(() =>
      loadConfig({ WARMROUTE_REDIS_PASSWORD: 'pw-for-a-missing-url', PORT: 'x' }),
    );

    // Assess
    expect(err.message).toContain('WARMROUTE_REDIS_PASSWORD needs REDIS_URL');
    expect(err.message).toContain('PORT="x"');
    expect(err.message).not.toContain('pw-for-a-missing-url');
  });

  it('WARMROUTE_REDIS_PASSWORD with REDIS_URL loads', () => {
    // Act
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:6379',
      WARMROUTE_REDIS_PASSWORD: 'pw-for-the-url',
    });

    // Assess
    expect(config.redisPassword).toBe('pw-for-the-url');
  });
});

describe('REDIS_URL credentials', () => {
  it('a malformed percent-escape in the user name or password is refused at load, not echoed', () => {
    // Act
    const inUser = configError(() => loadConfig({ REDIS_URL: 'redis://a%ZZ@127.0.0.1:6379' }));
    const inPassword = configError(() =>
      loadConfig({ REDIS_URL: 'redis://user:s3cret%G1@127.0.0.1:6379' }),
    );

    // Assess
    for (const err of [inUser, inPassword]) {
      expect(err.message).toContain(
        'REDIS_URL: has a malformed percent-escape in its user name or password',
      );
    }
    expect(inPassword.message).not.toContain('s3cret');
  });

  it('well-formed escapes load', () => {
    // Act
    const config = loadConfig({ REDIS_URL: 'redis://us%40er:p%2Fw@127.0.0.1:6379' });

    // Assess
    expect(config.redisUrl).toBe('redis://us%40er:p%2Fw@127.0.0.1:6379');
  });
});
