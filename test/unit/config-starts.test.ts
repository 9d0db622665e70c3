import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { routeFunctionProblems } from '../../src/config/check-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigSchema, FUNCTION_NAME_PATTERN } from '../../src/config/schema.js';
import { createDependencies } from '../../src/create-dependencies.js';
import { isWarmrouteError } from '../../src/errors.js';

type Properties = typeof ConfigSchema.properties;

/** The schema's own bounds for a numeric field, so the test follows the schema. */
function boundsOf(field: keyof Properties): { min: number; max: number } {
  const schema = ConfigSchema.properties[field] as unknown as {
    minimum?: number;
    maximum?: number;
  };
  if (schema.minimum === undefined || schema.maximum === undefined) {
    throw new Error(`${field} has no bounds`);
  }
  return { min: schema.minimum, max: schema.maximum };
}

/** An integer in the field's range, its boundaries drawn often. */
function integerIn(field: keyof Properties): fc.Arbitrary<number> {
  const { min, max } = boundsOf(field);
  return fc.oneof(fc.constant(min), fc.constant(max), fc.integer({ min, max }));
}

function patternOf(field: keyof Properties): RegExp {
  const schema = ConfigSchema.properties[field] as unknown as { pattern: string };
  return new RegExp(schema.pattern);
}

// Mostly Lambda's own name forms (a name with an optional qualifier), sometimes anything the
// schema's coarser pattern allows: the loader must refuse those, not the invoker.
const functionName = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}(:[a-zA-Z0-9_-]{1,20})?$/) },
  {
    weight: 1,
    arbitrary: fc
      .stringMatching(new RegExp(FUNCTION_NAME_PATTERN))
      .filter((name) => name.length <= 140),
  },
);

const functionSettings = fc.record({
  timeoutSeconds: fc.oneof(fc.constant(900), fc.double({ min: 0.001, max: 900, noNaN: true })),
  memoryMb: fc.integer({ min: 128, max: 10_240 }),
  tenancy: fc.constantFrom('PER_TENANT' as const, 'NONE' as const),
});

const prefix = fc.stringMatching(/^\/[A-Za-z0-9._~!$&'+,;=@/-]*$/).filter((p) => p.length <= 512);
const paramName = fc.stringMatching(/^[A-Za-z0-9_.-]+$/).filter((n) => n.length <= 64);

function routeFor(functions: readonly string[]) {
  return fc
    .record({
      prefix,
      function: functions.length > 0 ? fc.constantFrom(...functions) : functionName,
      mode: fc.constantFrom('affinity' as const, 'fresh' as const, 'pooled' as const),
      poolSize: fc.oneof(
        fc.constant(1),
        fc.constant(100_000),
        fc.integer({ min: 1, max: 100_000 }),
      ),
      keyFrom: fc.constantFrom('default', 'header', 'cookie', 'path', 'json'),
      // Names of the kind each source accepts (src/config/check-config.ts keySourceProblem;
      // config-key-sources.test.ts draws the refused ones).
      keyName: fc.record({
        header: fc.stringMatching(/^[a-z0-9-]{1,64}$/),
        cookie: fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/),
        json: fc.array(fc.string({ minLength: 1, maxLength: 16 }), { minLength: 1, maxLength: 4 }),
      }),
      param: paramName,
      greedy: fc.boolean(),
    })
    .map((r) => {
      const template = r.greedy ? `/{${r.param}}/{proxy+}` : `/{${r.param}}`;
      const key =
        r.keyFrom === 'default'
          ? undefined
          : r.keyFrom === 'path'
            ? { from: 'path' as const, name: r.param }
            : r.keyFrom === 'json'
              ? {
                  from: r.keyFrom,
                  name: r.keyName.json.map((p) => p.replace(/\./g, '_')).join('.'),
                }
              : { from: r.keyFrom, name: r.keyName[r.keyFrom] };
      return {
        prefix: r.prefix,
        function: r.function,
        mode: r.mode,
        poolSize: r.poolSize,
        pathTemplate: template,
        ...(key === undefined ? {} : { key }),
      };
    });
}

/** A whole config drawn from what the schema accepts: every field, boundaries included. */
const configInput = fc.uniqueArray(functionName, { maxLength: 3 }).chain((names) =>
  fc.record({
    production: fc.boolean(),
    host: fc.stringMatching(patternOf('host')).filter((h) => h.length <= 255),
    port: integerIn('port'),
    adminPort: fc.option(integerIn('adminPort'), { nil: undefined }),
    adminHost: fc.option(
      fc.stringMatching(patternOf('adminHost')).filter((h) => h.length <= 255),
      { nil: undefined },
    ),
    localHost: fc.oneof(
      fc.constantFrom('127.0.0.1', 'localhost', '::1'),
      fc.stringMatching(patternOf('localHost')).filter((h) => h.length <= 255),
    ),
    localControlToken: fc.option(fc.stringMatching(/^[!-~]{16,64}$/), { nil: undefined }),
    functionsFile: fc.option(fc.string({ minLength: 1, maxLength: 64 }), { nil: undefined }),
    logLevel: fc.constantFrom(
      ...(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    ),
    headersTimeoutMs: integerIn('headersTimeoutMs'),
    bodyTimeoutMs: integerIn('bodyTimeoutMs'),
    keepAliveTimeoutMs: integerIn('keepAliveTimeoutMs'),
    maxConnections: integerIn('maxConnections'),
    secret: fc.string({ minLength: 16, maxLength: 64 }),
    adminToken: fc.option(fc.stringMatching(/^[!-~]{16,64}$/), { nil: undefined }),
    backend: fc.constantFrom('local' as const, 'endpoint' as const, 'aws' as const),
    lambdaEndpoint: fc.constantFrom('http://127.0.0.1:9', 'https://lambda.example.test/'),
    region: fc.stringMatching(patternOf('region')),
    localPort: integerIn('localPort'),
    keyHeader: fc.stringMatching(patternOf('keyHeader')).filter((h) => h.length <= 64),
    namespace: fc.stringMatching(patternOf('namespace')).filter((n) => n.length <= 64),
    tenantPrefix: fc.stringMatching(patternOf('tenantPrefix')).filter((p) => p.length <= 32),
    l1Max: integerIn('l1Max'),
    l1TtlMs: integerIn('l1TtlMs'),
    keyIdleTtlSeconds: integerIn('keyIdleTtlSeconds'),
    redisCommandTimeoutMs: integerIn('redisCommandTimeoutMs'),
    requestTimeoutMs: integerIn('requestTimeoutMs'),
    serializePerKey: fc.boolean(),
    maxQueuePerKey: integerIn('maxQueuePerKey'),
    maxQueueWaitMs: integerIn('maxQueueWaitMs'),
    perTenantConcurrency: integerIn('perTenantConcurrency'),
    globalConcurrency: integerIn('globalConcurrency'),
    maxPayloadBytes: integerIn('maxPayloadBytes'),
    coldStartPricePerGb: fc.oneof(
      fc.constant(0),
      fc.double({ min: 0, max: 1_000_000, noNaN: true }),
    ),
    logTail: fc.boolean(),
    stage: fc.string({ minLength: 1, maxLength: 64 }),
    shutdownGraceMs: integerIn('shutdownGraceMs'),
    routes: fc.array(routeFor(names), { maxLength: 4 }),
    functions: fc
      .constant(names)
      .chain((list) =>
        fc
          .tuple(...list.map(() => functionSettings))
          .map((s) => Object.fromEntries(list.map((name, i) => [name, s[i]]))),
      ),
  }),
);

// Issue 11, defect 11: a config the loader accepts must start. Drawn from the
// schema's ranges; no listen() (building the app is what used to throw). Not
// drawn: redisUrl (a unit test makes no connection; the directory tests cover
// Redis); the loader still checks that it parses.
describe('config: every config the loader accepts builds a gateway', () => {
  it('createDependencies + buildApp succeed for every accepted config', async () => {
    let accepted = 0;
    let drawn = 0;
    await fc.assert(
      fc.asyncProperty(configInput, async (input) => {
        drawn++;
        let config;
        try {
          // Optional fields drawn as undefined are left out, as a config file would.
          const drawnConfig = {
            ...input,
            // The whole request includes its headers (a refusal the table test covers):
            // most draws keep that order, so the property is about what is accepted.
            bodyTimeoutMs: Math.max(input.bodyTimeoutMs, input.headersTimeoutMs),
          };
          const overrides = Object.fromEntries(
            Object.entries(drawnConfig).filter(
              // An admin host alone is refused (the table test covers it): pair it with a port.
              ([name, value]) =>
                value !== undefined && (name !== 'adminHost' || input.adminPort !== undefined),
            ),
          );
          config = loadConfig({}, { overrides });
        } catch (err) {
          // Refusing is allowed (cross-field rules); crashing differently is not.
          if (isWarmrouteError(err) && err.code === 'WR_ERR_CONFIG') return;
          throw err;
        }
        // `warmroute start` adds the functions file's functions, then checks routes once more.
        if (config.backend === 'local' && routeFunctionProblems(config).length > 0) return;
        accepted++;
        const logger = pino({ level: 'silent' });
        const deps = await createDependencies(config, {
          logger,
          endpoint: config.backend === 'endpoint' ? config.lambdaEndpoint : 'http://127.0.0.1:9',
          defaultMetrics: false,
        });
        try {
          const gateway = buildApp(config, { ...deps, logger });
          await gateway.app.ready();
          await gateway.admin?.ready();
          await gateway.close();
        } finally {
          await deps.close();
        }
      }),
      { numRuns: 60, seed: 11_2026 },
    );
    // The property says nothing if nearly every draw is refused.
    expect(accepted).toBeGreaterThan(drawn / 2);
  }, 120_000);
});
