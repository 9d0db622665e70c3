import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { functionSettingsOf } from '../../src/config/function-settings.js';
import { loadFunctionsFile, startLocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A `pool` budget over HTTP (issue 18; README "Tenant-environment budget"):
 * the proxy route reads each request's isolation domain from its header and
 * spilled keys run in that domain's pooled tenants only.
 */

const functionsFile = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
/**
 * The smallest cap whose pooled share (a tenth, rounded up) holds 2 pooled
 * tenants for each of 2 domains; the host enforces the same cap, so one
 * environment too many would come back as its 429.
 */
const CAP = 31;

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function start(): Promise<TestGateway> {
  const host = await startLocalHost({
    port: 0,
    functionsFile,
    reclaim: 'idle',
    // Nothing expires while the test runs: every key stays counted.
    idleReclaimMs: 600_000,
    tenantEnvironmentCap: CAP,
  });
  cleanups.push(() => host.close());
  const functions = functionSettingsOf(loadFunctionsFile(functionsFile));
  const gw = await startTestGateway(
    {
      WARMROUTE_FUNCTIONS: JSON.stringify({
        ...functions,
        counter: { ...functions['counter'], tenantEnvironmentCap: CAP, idleLifetimeMs: 600_000 },
      }),
      WARMROUTE_ROUTES: JSON.stringify([
        {
          prefix: '/p',
          function: 'counter',
          mode: 'affinity',
          budget: { policy: 'pool', domain: { from: 'header', name: 'x-org' }, poolTenants: 2 },
        },
      ]),
    },
    { localHost: host },
  );
  cleanups.push(() => gw.close());
  return gw;
}

async function tenantOf(gw: TestGateway, key: string, org: string): Promise<string> {
  const res = await fetch(`${gw.url}/p/`, { headers: { 'x-affinity-key': key, 'x-org': org } });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  const tenant = res.headers.get('x-affinity-tenant');
  expect(tenant).toBeTruthy();
  return tenant as string;
}

describe('pool budget over HTTP', () => {
  it("spilled keys share their own organisation's pooled tenants, never another's", async () => {
    // Prepare
    const gw = await start();
    const byTenant = new Map<string, { org: string; keys: number }>();
    const record = (tenant: string, org: string): void => {
      const seen = byTenant.get(tenant);
      // A tenant serves one organisation only, whichever key brought it.
      if (seen !== undefined) expect(seen.org).toBe(org);
      byTenant.set(tenant, { org, keys: (seen?.keys ?? 0) + 1 });
    };

    // Act: one-off keys of org A past the free places, then org B's.
    for (let i = 0; i < 34; i++) record(await tenantOf(gw, `a-${i}`, 'org-a'), 'org-a');
    for (let i = 0; i < 8; i++) record(await tenantOf(gw, `b-${i}`, 'org-b'), 'org-b');

    // Assess: the shared tenants are each org's pooled ones, at most poolTenants per org.
    const shared = [...byTenant.entries()].filter(([, v]) => v.keys > 1);
    const sharedOf = (org: string) => shared.filter(([, v]) => v.org === org);
    expect(sharedOf('org-a').length).toBeGreaterThanOrEqual(1);
    expect(sharedOf('org-a').length).toBeLessThanOrEqual(2);
    expect(sharedOf('org-b').length).toBeGreaterThanOrEqual(1);
    expect(sharedOf('org-b').length).toBeLessThanOrEqual(2);
    const pooledKeys = shared.reduce((n, [, v]) => n + v.keys, 0);
    expect(pooledKeys).toBeGreaterThanOrEqual(8 + 2);
    expect(gw.localHost.stats().functions['counter']?.throttles ?? 0).toBe(0);
  });

  it('a request without its organisation is refused with 400 JSON and invokes nothing', async () => {
    // Prepare
    const gw = await start();
    const before = gw.invocations('counter');

    // Act
    const res = await fetch(`${gw.url}/p/`, { headers: { 'x-affinity-key': 'k' } });

    // Assess
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('WR_ERR_BAD_REQUEST');
    expect(body.error.message).toMatch(/x-org/);
    expect(gw.invocations('counter')).toBe(before);
  });
});
