import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { promtoolCheckMetrics } from '../helpers/prometheus.js';
import { startWarmStateGateway } from '../helpers/warm-state-gateway.js';

/**
 * Issue 13: `promtool check metrics` on a real scrape of a gateway that has
 * served hits, fresh keys, a rehydration and a function error, so every
 * labelled series the load creates is in the exposition. Proves the names,
 * HELP and TYPE lines of src/metrics.ts pass Prometheus's own linter; it
 * cannot prove anything about series this load does not create.
 *
 * The test gateway runs without prom-client's default process metrics (they
 * vary by machine); `warmroute start` serves them, so they are linted from
 * the same factory on their own, with one allow-list.
 */

/**
 * prom-client's default metrics name three gauges `*_total`; the names are
 * prom-client's (collectDefaultMetrics), dashboards and alerts do not use
 * them, and renaming them would break anyone who does.
 */
const PROM_CLIENT_DEFAULT_FINDINGS = [
  'warmroute_process_nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'warmroute_process_nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'warmroute_process_nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
];

describe('promtool check metrics on /metrics under load', () => {
  it('reports nothing', async () => {
    // Prepare
    const ws = await startWarmStateGateway();
    onTestFinished(() => ws.close());
    const key = `lint-${randomBytes(4).toString('hex')}`;

    // Act: fresh, hits, a rehydration after eviction, fresh keys on another function, a function error.
    const first = await ws.warm(key);
    await ws.warm(key);
    expect(ws.gw.localHost.evict({ function: 'warm-counter', tenant: first.tenant })).toBe(1);
    const rehydrated = await ws.warm(key);
    for (let i = 0; i < 3; i++) await ws.workspace(`${key}-${String(i)}`, { op: 'list' });
    const failed = await request(`${ws.gw.url}/v1/functions/fails/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      body: '{}',
    });
    await failed.body.text();
    const scrape = await (await request(`${ws.gw.adminUrl}/metrics`)).body.text();

    // Assess: the load produced what the scrape is meant to cover, and promtool finds nothing.
    expect([first.state, rehydrated.state, failed.statusCode]).toEqual([
      'fresh',
      'rehydrated',
      502,
    ]);
    expect(scrape).toMatch(/^warmroute_invocations_total\{.*state="hit"/m);
    expect(scrape).toMatch(/^warmroute_rehydration_duration_seconds_bucket\{/m);
    expect(scrape).toMatch(/^warmroute_backend_errors_total\{/m);
    expect(await promtoolCheckMetrics(scrape)).toEqual([]);
  });

  it('reports only the allow-listed prom-client names on the default process metrics', async () => {
    // Prepare
    const metrics = createMetrics({ defaultMetrics: true, coldStartPricePerGb: 0.0000166667 });

    // Act
    const findings = await promtoolCheckMetrics(await metrics.registry.metrics());

    // Assess: every allow-listed finding is still real (so the list cannot go stale), and nothing else.
    expect(findings.sort()).toEqual([...PROM_CLIENT_DEFAULT_FINDINGS].sort());
  });
});
