import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, settings, type ConfigField } from '../../src/config/schema.js';
import { createDependencies, createDirectoryStore } from '../../src/create-dependencies.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The config schema is the only place that knows a default (issue 12): the
 * README's "Configuration" table says what users were told, `defaults` in
 * src/config/schema.ts is what the loader fills in, and the components the
 * real factory builds from an empty config are given exactly those values.
 *
 * What it proves: README table = schema (`settings`, `defaults`) = what
 * `loadConfig({})` returns; the directory's and scheduler's `.settings` equal
 * the documented defaults; the L1 cache's lru-cache instance holds the
 * documented `max`/`ttl`; the memory store's idle TTL and the tenant prefix
 * show in a stored key; the Redis client's command timeout and reconnect cap
 * are the documented ones (its live options).
 *
 * What it cannot prove: `.settings` repeats what a constructor was given, not
 * what the component then uses, and a component holding its own literal equal
 * to the schema's default passes every comparison here. The behaviour with
 * values other than the defaults is proven in
 * test/integration/config-single-source.test.ts (its header lists what that
 * covers and what it does not). (A `??` fallback on a required option is also
 * refused by the linter: `@typescript-eslint/no-unnecessary-condition`, part
 * of `strictTypeChecked`.)
 */

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

interface TableRow {
  readonly env: string;
  readonly field: string | undefined;
  readonly meaning: string;
}

/** The rows of the README's "Configuration" table. */
function configurationTable(): TableRow[] {
  const section = readme.slice(readme.indexOf('\n## Configuration'));
  const rows: TableRow[] = [];
  for (const line of section.split('\n').slice(2)) {
    if (line.startsWith('## ') || line.startsWith('### ')) break;
    const cells = /^\|\s*`([A-Z0-9_]+)`\s*\|\s*(?:`([A-Za-z0-9]+)`|—)\s*\|\s*(.*?)\s*\|$/.exec(
      line,
    );
    if (cells?.[1] !== undefined && cells[3] !== undefined) {
      rows.push({ env: cells[1], field: cells[2], meaning: cells[3] });
    }
  }
  return rows;
}

/** The default a README meaning states, as written (undefined: it states none). */
function documentedDefault(meaning: string): string | undefined {
  const patterns = [
    /\(default `([^`]+)`/, // "(default `5000`)"
    /\(default and maximum: [^`]*`([^`]+)`/, // "(default and maximum: Lambda's 6 MB, `6291456`)"
    /`([^`]+)` \([^)`]*\bdefault\)/, // "`local` (run the local host, default)"
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(meaning);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/** Settings the table lists without a default, each for a reason. */
const WITHOUT_DOCUMENTED_DEFAULT: Partial<Record<ConfigField, string>> = {
  routes: 'no routes unless configured ("Routes" says what warmroute start serves then)',
  functions:
    'none unless configured: no allow-list (with the local host, the functions file fills it)',
};

/** `defaults[field]` as the README writes it. */
function written(field: ConfigField): string {
  return String((defaults as Record<string, unknown>)[field]);
}

const table = configurationTable();
const documented = new Map(
  table
    .filter((row) => row.field !== undefined)
    .map((row) => [row.field as ConfigField, documentedDefault(row.meaning)]),
);

/** The README's default for `field` as a value of the field's type. */
function readmeDefault(field: ConfigField): string | number | boolean {
  const text = documented.get(field);
  if (text === undefined) throw new Error(`README states no default for ${field}`);
  if (text === 'true' || text === 'false') return text === 'true';
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

describe('README "Configuration" table and the config schema', () => {
  it('has one row per setting, in the order of `settings`, with its field and description', () => {
    expect(table.map((row) => row.env)).toEqual(settings.map((s) => s.env));
    for (const setting of settings) {
      const row = table.find((r) => r.env === setting.env);
      expect(row?.field, setting.env).toBe(setting.field ?? undefined);
      expect(row?.meaning, setting.env).toBe(setting.description);
    }
  });

  it('states for every setting with a default exactly the default of `defaults`', () => {
    for (const setting of settings) {
      if (setting.field === null) continue;
      const field = setting.field;
      const hasDefault = Object.hasOwn(defaults, field);
      const text = documented.get(field);
      if (!hasDefault) {
        // Optional settings (no default) must not claim one.
        expect(text, `${setting.env} has no default in the schema`).toBeUndefined();
        continue;
      }
      if (WITHOUT_DOCUMENTED_DEFAULT[field] !== undefined) {
        expect(text, setting.env).toBeUndefined();
        continue;
      }
      expect(text, `${setting.env}: README default`).toBe(written(field));
    }
  });

  it('fills in exactly `defaults` for an empty environment', () => {
    const config = loadConfig({});
    for (const [field, value] of Object.entries(defaults)) {
      expect(config[field as ConfigField], field).toEqual(value);
    }
  });
});

/** The Redis store the real factory builds for `env`, closed when the test ends (not started). */
function factoryRedisStore(env: Record<string, string>): RedisDirectoryStore {
  const store = createDirectoryStore(loadConfig(env), {
    logger: pino({ level: 'silent' }),
    clock: Date.now,
  });
  onTestFinished(() => store.close());
  if (!(store instanceof RedisDirectoryStore)) throw new Error('expected the Redis store');
  return store;
}

describe('components built from an empty config run with the documented defaults', () => {
  it('directory, scheduler and memory store (the real factory)', async () => {
    // Prepare: the real factory, as warmroute start and the embedded transport call it.
    const config = loadConfig({});
    const deps = await createDependencies(config, {
      logger: pino({ level: 'silent' }),
      endpoint: 'http://127.0.0.1:9',
      defaultMetrics: false,
    });
    onTestFinished(() => deps.close());

    // Assess: each component's effective settings.
    const directory = deps.directory;
    if (!(directory instanceof KeyDirectory)) throw new Error('expected a KeyDirectory');
    expect(directory.l1Limits).toEqual({
      max: readmeDefault('l1Max'),
      ttlMs: readmeDefault('l1TtlMs'),
    });
    expect(deps.directory.settings).toEqual({
      tenantPrefix: readmeDefault('tenantPrefix'),
      namespace: readmeDefault('namespace'),
      l1: { max: readmeDefault('l1Max'), ttlMs: readmeDefault('l1TtlMs') },
      statsFlushIntervalMs: readmeDefault('statsFlushIntervalMs'),
    });
    expect(deps.scheduler.settings).toEqual({
      serializePerKey: readmeDefault('serializePerKey'),
      maxQueuePerKey: readmeDefault('maxQueuePerKey'),
      maxQueueWaitMs: readmeDefault('maxQueueWaitMs'),
      perTenantConcurrency: readmeDefault('perTenantConcurrency'),
      globalConcurrency: readmeDefault('globalConcurrency'),
      maxGlobalQueue: readmeDefault('maxGlobalQueue'),
      retryAfterSeconds: readmeDefault('queueRetryAfterSeconds'),
    });
    // The memory store's idle expiry, as a stored key reports it.
    await deps.directory.rotate('single-source');
    const explained = await deps.directory.explain('single-source');
    expect(explained.store).toBe('memory');
    expect(explained.expiresInSeconds).toBe(readmeDefault('keyIdleTtlSeconds'));
    expect(explained.tenantId.startsWith(String(readmeDefault('tenantPrefix')))).toBe(true);
  });

  it('Redis store: command timeout and reconnect backoff of its client (not connected)', () => {
    // Prepare: the factory's store for a config with REDIS_URL (nothing connects before start()).
    const store = factoryRedisStore({ REDIS_URL: 'redis://127.0.0.1:9' });

    // Assess
    const client = store.client;
    if (!(client instanceof Redis)) throw new Error('expected a standalone client');
    expect(client.options.commandTimeout).toBe(readmeDefault('redisCommandTimeoutMs'));
    // The backoff grows to its bound: a late attempt waits exactly the documented maximum.
    expect(client.options.retryStrategy?.(1_000)).toBe(readmeDefault('redisMaxReconnectDelayMs'));
  });

  it('Redis Cluster store: the same command timeout and reconnect backoff (not connected)', () => {
    // Prepare: WARMROUTE_REDIS_CLUSTER_NODES instead of REDIS_URL (a lazy Cluster connects at start()).
    const store = factoryRedisStore({ WARMROUTE_REDIS_CLUSTER_NODES: '127.0.0.1:9' });

    // Assess
    const client = store.client;
    if (!(client instanceof Cluster)) throw new Error('expected a cluster client');
    expect(client.options.redisOptions?.commandTimeout).toBe(
      readmeDefault('redisCommandTimeoutMs'),
    );
    expect(client.options.clusterRetryStrategy?.(1_000)).toBe(
      readmeDefault('redisMaxReconnectDelayMs'),
    );
  });
});
