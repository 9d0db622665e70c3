import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tenantEnvironmentCapOf } from '../../src/budget/function-budget.js';
import { RouteBudgets } from '../../src/budget/route-budget.js';
import { loadConfig } from '../../src/config/load-config.js';
import { isWarmrouteError } from '../../src/errors.js';

const FUNCTIONS = { fn: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' } };

function configProblems(routes: unknown, extra: Record<string, unknown> = {}): string {
  try {
    loadConfig(
      {
        WARMROUTE_BACKEND: 'endpoint',
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
        WARMROUTE_ROUTES: JSON.stringify(routes),
        WARMROUTE_FUNCTIONS: JSON.stringify(FUNCTIONS),
      },
      { overrides: extra },
    );
  } catch (err) {
    if (isWarmrouteError(err) && err.code === 'WR_ERR_CONFIG') return err.message;
    throw err;
  }
  return '';
}

const route = (budget: unknown, more: Record<string, unknown> = {}) => [
  { prefix: '/app', function: 'fn', mode: 'affinity', budget, ...more },
];

describe('budget config', () => {
  it('accepts each policy with the fields it reads', () => {
    // Act
    const problems = [
      configProblems(route({ policy: 'queue', queueWaitMs: 500 })),
      configProblems(route({ policy: 'reject' })),
      configProblems(
        route({ policy: 'pool', domain: { from: 'header', name: 'x-org' }, poolTenants: 3 }),
      ),
      configProblems(
        route(
          { policy: 'pool', domain: { from: 'path', name: 'org' } },
          { pathTemplate: '/{org}/{proxy+}' },
        ),
      ),
      configProblems([], {
        rpcBudget: { policy: 'pool', domain: { from: 'json', name: 'org.id' } },
      }),
    ];

    // Assess
    expect(problems).toEqual(['', '', '', '', '']);
  });

  it('refuses pool without a domain, in the one-message style', () => {
    // Act
    const message = configProblems(route({ policy: 'pool' }));

    // Assess
    expect(message).toContain(
      "  - routes (/app): budget policy pool needs domain, the request's isolation domain",
    );
  });

  it('refuses fields the policy does not read, a budget on a non-affinity route, an unreadable domain', () => {
    // Act
    const message = configProblems([
      {
        prefix: '/a',
        function: 'fn',
        mode: 'affinity',
        budget: { policy: 'reject', queueWaitMs: 5 },
      },
      {
        prefix: '/b',
        function: 'fn',
        mode: 'affinity',
        budget: { policy: 'queue', domain: { from: 'header', name: 'x-org' } },
      },
      { prefix: '/c', function: 'fn', mode: 'pooled', poolSize: 2, budget: { policy: 'queue' } },
      {
        prefix: '/d',
        function: 'fn',
        mode: 'affinity',
        budget: { policy: 'pool', domain: { from: 'path', name: 'org' } },
      },
      {
        prefix: '/e',
        function: 'fn',
        mode: 'affinity',
        budget: { policy: 'pool', domain: { from: 'header', name: 'X_Org' } },
      },
    ]);

    // Assess: every problem, one line each.
    expect(message).toContain(
      'routes (/a): budget queueWaitMs is read by policy queue only, not reject',
    );
    expect(message).toContain('routes (/b): budget domain is read by policy pool only, not queue');
    expect(message).toContain('routes (/c): budget applies to affinity mode only');
    expect(message).toContain('routes (/d): budget domain from path parameter {org}');
    expect(message).toContain('routes (/e): budget domain: key header "X_Org" has "_"');
  });

  it('refuses a path domain on the RPC route', () => {
    // Act
    const message = configProblems([], {
      rpcBudget: { policy: 'pool', domain: { from: 'path', name: 'org' } },
    });

    // Assess
    expect(message).toContain('rpcBudget: budget domain from path parameter {org}');
  });

  it('turns any value of the new fields into a config error or a config, never a crash', () => {
    const anyValue = fc.oneof(
      fc.anything(),
      fc.constantFrom('queue', 'pool', 'reject', -1, 0, 1.5, 1e12, null),
    );
    const budget = fc.oneof(
      anyValue,
      fc.record(
        {
          policy: fc.oneof(fc.constantFrom('queue', 'pool', 'reject', 'other'), anyValue),
          queueWaitMs: anyValue,
          domain: fc.oneof(
            anyValue,
            fc.record({
              from: fc.constantFrom('header', 'cookie', 'path', 'json', 'x'),
              name: fc.string(),
            }),
          ),
          poolTenants: anyValue,
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(
        budget,
        budget,
        anyValue,
        anyValue,
        anyValue,
        (routeBudget, rpcBudget, cap, reserved, idle) => {
          // Act
          try {
            const config = loadConfig(
              {
                WARMROUTE_BACKEND: 'endpoint',
                AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
                WARMROUTE_ROUTES: JSON.stringify(route(routeBudget)),
                WARMROUTE_FUNCTIONS: JSON.stringify({
                  fn: {
                    ...FUNCTIONS.fn,
                    tenantEnvironmentCap: cap,
                    reservedConcurrency: reserved,
                    idleLifetimeMs: idle,
                  },
                }),
              },
              { overrides: { rpcBudget } },
            );
            // A loaded config always yields budgets and a cap.
            const budgets = new RouteBudgets(config);
            expect(['queue', 'pool', 'reject']).toContain(budgets.of('/app').policy);
            const fnSettings = config.functions['fn'];
            if (fnSettings !== undefined) {
              expect(Number.isSafeInteger(tenantEnvironmentCapOf(fnSettings))).toBe(true);
            }
          } catch (err) {
            // Assess: only ever the config error.
            expect(isWarmrouteError(err) && err.code === 'WR_ERR_CONFIG').toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('tenant-environment cap', () => {
  it("is Lambda's 2,500 per 1,000 concurrency unless set", () => {
    expect(tenantEnvironmentCapOf({})).toBe(2_500);
    expect(tenantEnvironmentCapOf({ reservedConcurrency: 100 })).toBe(250);
    expect(tenantEnvironmentCapOf({ reservedConcurrency: 0 })).toBe(1);
    expect(tenantEnvironmentCapOf({ reservedConcurrency: 100, tenantEnvironmentCap: 7 })).toBe(7);
  });

  it('gives routes that do not opt in strict isolation and queue', () => {
    // Prepare
    const budgets = new RouteBudgets({ routes: [], maxQueueWaitMs: 1_234 });

    // Assess
    expect(budgets.of('rpc')).toEqual({
      policy: 'queue',
      queueWaitMs: 1_234,
      poolTenants: 4,
      domain: undefined,
    });
    expect(budgets.of('/unknown').policy).toBe('queue');
  });
});
