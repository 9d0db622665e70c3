import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { configError } from '../helpers/config-error.js';

describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
    expect(config.keyHeader).toBe('x-affinity-key');
    expect(config.backend).toBe('local');
    expect(config.serializePerKey).toBe(true);
    expect(config.maxPayloadBytes).toBe(6 * 1024 * 1024);
  });

  it('converts environment variables to typed values', () => {
    const config = loadConfig({
      PORT: '8080',
      WARMROUTE_SERIALIZE_PER_KEY: 'false',
      WARMROUTE_COLD_START_PRICE_PER_GB: '0.0002',
    });
    expect(config.port).toBe(8080);
    expect(config.serializePerKey).toBe(false);
    expect(config.coldStartPricePerGb).toBe(0.0002);
  });

  it('reads integers and numbers only in plain decimal form (review finding 10)', () => {
    // Number() alone took these: 0x10 → 16, 1e3 → 1000, 0b1 → 1, 0o7 → 7, Infinity.
    for (const raw of ['0x10', '1e3', '0b1', '0o7', '1.0', '+5', '1_000', 'Infinity', ' ']) {
      const err = configError(() => loadConfig({ WARMROUTE_STATS_FLUSH_INTERVAL_MS: raw }));
      expect(err.message, raw).toContain(
        `WARMROUTE_STATS_FLUSH_INTERVAL_MS=${JSON.stringify(raw)}: must be an integer`,
      );
    }
    for (const raw of ['1e-4', '0x1', 'Infinity', '.5', '5.']) {
      const err = configError(() => loadConfig({ WARMROUTE_COLD_START_PRICE_PER_GB: raw }));
      expect(err.message, raw).toContain(
        `WARMROUTE_COLD_START_PRICE_PER_GB=${JSON.stringify(raw)}: must be a decimal number`,
      );
    }
    // Decimal text, surrounding spaces allowed, is read as before.
    expect(loadConfig({ WARMROUTE_STATS_FLUSH_INTERVAL_MS: ' 100 ' }).statsFlushIntervalMs).toBe(
      100,
    );
    expect(loadConfig({ WARMROUTE_COLD_START_PRICE_PER_GB: '2' }).coldStartPricePerGb).toBe(2);
    expect(loadConfig({ WARMROUTE_COLD_START_PRICE_PER_GB: '0.5' }).coldStartPricePerGb).toBe(0.5);
  });

  it('reports every bad value in one message', () => {
    const err = configError(() =>
      loadConfig({
        PORT: 'eighty',
        REDIS_URL: 'http://nope',
        WARMROUTE_TENANT_CONCURRENCY: '0',
        WARMROUTE_LOG_LEVEL: 'loud',
        WARMROUTE_SERIALIZE_PER_KEY: 'maybe',
      }),
    );
    expect(err.code).toBe('WR_ERR_CONFIG');
    for (const name of [
      'PORT',
      'REDIS_URL',
      'WARMROUTE_TENANT_CONCURRENCY',
      'WARMROUTE_LOG_LEVEL',
      'WARMROUTE_SERIALIZE_PER_KEY',
    ]) {
      expect(err.message).toContain(name);
    }
    expect(err.message).toContain('must be one of fatal, error, warn, info, debug, trace, silent');
  });

  it('reports every bad value even when there are more than the validator reports by default (8)', () => {
    // Twelve integer settings, each out of its bound: all twelve must be named.
    const env: Record<string, string> = {
      PORT: '70000',
      WARMROUTE_TENANT_CONCURRENCY: '0',
      WARMROUTE_GLOBAL_CONCURRENCY: '0',
      WARMROUTE_MAX_PAYLOAD_BYTES: '0',
      WARMROUTE_MAX_QUEUE_WAIT_MS: '0',
      WARMROUTE_MAX_QUEUE_PER_KEY: '-1',
      WARMROUTE_L1_TTL_MS: '0',
      WARMROUTE_L1_MAX: '-1',
      WARMROUTE_REQUEST_TIMEOUT_MS: '1',
      WARMROUTE_REDIS_COMMAND_TIMEOUT_MS: '0',
      WARMROUTE_KEY_IDLE_TTL_SECONDS: '1',
      WARMROUTE_MAX_CONNECTIONS: '0',
    };
    const err = configError(() => loadConfig(env));
    for (const name of Object.keys(env)) expect(err.message, name).toContain(name);
  });

  it('requires a secret in production', () => {
    const err = configError(() => loadConfig({ WARMROUTE_ENV: 'production' }));
    expect(err.message).toContain('WARMROUTE_SECRET');
    expect(
      loadConfig({ NODE_ENV: 'production', WARMROUTE_SECRET: 's'.repeat(32) }).production,
    ).toBe(true);
  });

  it('selects the endpoint backend when AWS_ENDPOINT_URL_LAMBDA is set', () => {
    expect(loadConfig({ AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001' }).backend).toBe(
      'endpoint',
    );
    expect(
      loadConfig({ AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001', WARMROUTE_BACKEND: 'aws' })
        .backend,
    ).toBe('aws');
  });

  it('reads routes from a file, lets the environment override, and validates them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wr-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        port: 4000,
        routes: [
          { prefix: '/a', function: 'f', mode: 'affinity', key: { from: 'cookie', name: 'sid' } },
          { prefix: '/b', function: 'f', mode: 'pooled' },
          { prefix: 'c', function: 'f', mode: 'sticky' },
        ],
        bogus: true,
      }),
    );
    const err = configError(() => loadConfig({ WARMROUTE_CONFIG: file, PORT: '4001' }));
    expect(err.message).toContain('routes.2.prefix');
    expect(err.message).toContain('routes.2.mode');
    expect(err.message).toContain('unknown setting(s) bogus');
    expect(err.message).toContain('pooled mode needs poolSize');

    writeFileSync(
      file,
      JSON.stringify({ port: 4000, routes: [{ prefix: '/a', function: 'f', mode: 'affinity' }] }),
    );
    const config = loadConfig({ WARMROUTE_CONFIG: file, PORT: '4001' });
    expect(config.port).toBe(4001);
    expect(config.routes).toHaveLength(1);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
  });

  it('uses a dev admin token only outside production and never over a configured one', () => {
    expect(loadConfig({}, { devAdminToken: 'dev-token-0123456789' }).adminToken).toBe(
      'dev-token-0123456789',
    );
    expect(
      loadConfig(
        { WARMROUTE_ADMIN_TOKEN: 'mine-0123456789abcdef' },
        { devAdminToken: 'dev-token-0123456789' },
      ).adminToken,
    ).toBe('mine-0123456789abcdef');
    expect(
      loadConfig(
        { WARMROUTE_ENV: 'production', WARMROUTE_SECRET: 's'.repeat(32) },
        { devAdminToken: 'dev-token-0123456789' },
      ).adminToken,
    ).toBeUndefined();
  });
});
