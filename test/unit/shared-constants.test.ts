import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, readWarmRequest } from '../../lambda/protocol.js';
import { REDIS_SNAPSHOT_CLIENT_DEFAULTS } from '../../lambda/stores/redis-snapshot-store.js';
import { ConfigSchema, RouteSchema, defaults } from '../../src/config/schema.js';
import { MAX_POOL_SIZE } from '../../src/directory/tenant-id.js';
import { DEFAULT_KEY_HEADER } from '../../src/key-header.js';
import { LAMBDA_SYNC_PAYLOAD_BYTES } from '../../src/lambda-limits.js';
import { MAX_SYNC_PAYLOAD_BYTES } from '../../src/localhost/invoke-request.js';
import { gatewayRedactPaths } from '../../src/logger.js';
import { packageRoot } from '../../src/paths.js';
import { DEFAULT_CALL_MODE } from '../../src/routing-mode.js';
import { MAX_PAYLOAD_BYTES } from '../../src/sdk/client.js';
import { MAX_RESPONSE_BYTES } from '../../src/sdk/http-transport.js';

/** A schema's numeric bound (TypeBox keeps the JSON Schema keywords on the object). */
function maximumOf(schema: unknown): unknown {
  return (schema as { readonly maximum?: unknown }).maximum;
}

/**
 * Facts that used to be written in several places (issue 12): each is one
 * constant now, and every place that states it reads that constant.
 */

describe('one constant per fact', () => {
  it("bounds a pooled route's poolSize with the directory's MAX_POOL_SIZE", () => {
    expect(maximumOf(RouteSchema.properties.poolSize)).toBe(MAX_POOL_SIZE);
  });

  it("states Lambda's 6 MB payload limit once for the config, the SDK and the local host", () => {
    expect(LAMBDA_SYNC_PAYLOAD_BYTES).toBe(6 * 1024 * 1024);
    expect(maximumOf(ConfigSchema.properties.maxPayloadBytes)).toBe(LAMBDA_SYNC_PAYLOAD_BYTES);
    expect(defaults.maxPayloadBytes).toBe(LAMBDA_SYNC_PAYLOAD_BYTES);
    expect(MAX_PAYLOAD_BYTES).toBe(LAMBDA_SYNC_PAYLOAD_BYTES);
    expect(MAX_SYNC_PAYLOAD_BYTES).toBe(LAMBDA_SYNC_PAYLOAD_BYTES);
    expect(MAX_RESPONSE_BYTES).toBeGreaterThan(LAMBDA_SYNC_PAYLOAD_BYTES);
  });

  it("uses the key header module's default in the config", () => {
    expect(defaults.keyHeader).toBe(DEFAULT_KEY_HEADER);
  });

  it('reads a warm request whose mode is missing or unknown as the default call mode', () => {
    // Prepare
    const context = (mode: unknown) => ({
      custom: { warmroute: { v: PROTOCOL_VERSION, key: 'k', mode, stateVersion: 0 } },
    });

    // Act / Assess
    expect(readWarmRequest(context(undefined))?.mode).toBe(DEFAULT_CALL_MODE);
    expect(readWarmRequest(context('sideways'))?.mode).toBe(DEFAULT_CALL_MODE);
    expect(readWarmRequest(context('fresh'))?.mode).toBe('fresh');
  });
});

describe("the gateway logger's redaction list", () => {
  it('censors the configured key header, not the default one', () => {
    // Act
    const custom = gatewayRedactPaths('x-session');
    const byDefault = gatewayRedactPaths();

    // Assess
    expect(custom).toContain('req.headers["x-session"]');
    expect(custom).not.toContain(`req.headers["${DEFAULT_KEY_HEADER}"]`);
    expect(byDefault).toContain(`req.headers["${DEFAULT_KEY_HEADER}"]`);
    for (const paths of [custom, byDefault]) {
      expect(paths).toEqual(
        expect.arrayContaining([
          'req.headers.authorization',
          'adminToken',
          'secret',
          'config.secret',
          'config.adminToken',
        ]),
      );
    }
  });
});

describe("RedisSnapshotStore's client defaults", () => {
  it('are stated in docs/protocol.md and in the redisOptions JSDoc', () => {
    // Prepare
    const docs = readFileSync(join(packageRoot, 'docs/protocol.md'), 'utf8');
    const row = docs.split('\n').find((line) => line.startsWith('| `RedisSnapshotStore`')) ?? '';
    const source = readFileSync(
      join(packageRoot, 'lambda/stores/redis-snapshot-store.ts'),
      'utf8',
    ).replace(/\n\s*\* ?/g, ' ');

    // Assess
    expect(row).not.toBe('');
    for (const [option, value] of Object.entries(REDIS_SNAPSHOT_CLIENT_DEFAULTS)) {
      expect(row, option).toContain(`\`${option}: ${String(value)}\``);
      expect(source, option).toContain(`\`${option}: ${String(value)}\``);
    }
  });
});
