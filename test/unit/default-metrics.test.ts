import perfHooks from 'node:perf_hooks';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_LOOP_MONITORING_PRECISION_MS, createMetrics } from '../../src/metrics.js';

/**
 * Issue 16: prom-client's default process metrics at a lower idle cost. The
 * event-loop delay monitor samples every EVENT_LOOP_MONITORING_PRECISION_MS
 * instead of prom-client's 10 ms; every default metric is still exported
 * under the same name.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

async function names(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
}

describe('default process metrics', () => {
  it('sample the event-loop delay every 100 ms unless told otherwise', () => {
    // Prepare
    const monitor = vi.spyOn(perfHooks, 'monitorEventLoopDelay');

    // Act
    createMetrics({ coldStartPricePerGb: 1 });
    createMetrics({ coldStartPricePerGb: 1, eventLoopMonitoringPrecisionMs: 10 });

    // Assess
    expect(EVENT_LOOP_MONITORING_PRECISION_MS).toBe(100);
    expect(monitor.mock.calls).toEqual([[{ resolution: 100 }], [{ resolution: 10 }]]);
  });

  it('are every metric prom-client exports at its own settings, under the warmroute_process_ prefix', async () => {
    // Prepare: prom-client's defaults as they were before issue 16.
    const reference = new Registry();
    collectDefaultMetrics({ register: reference, prefix: 'warmroute_process_' });

    // Act
    const metrics = createMetrics({ coldStartPricePerGb: 1 });
    const exported = (await names(metrics.registry)).filter((n) =>
      n.startsWith('warmroute_process_'),
    );

    // Assess: the same names, the event-loop gauges among them.
    expect(exported).toEqual(await names(reference));
    expect(exported).toEqual(
      expect.arrayContaining([
        'warmroute_process_nodejs_eventloop_lag_seconds',
        'warmroute_process_nodejs_eventloop_lag_p99_seconds',
        'warmroute_process_nodejs_eventloop_lag_max_seconds',
        'warmroute_process_nodejs_gc_duration_seconds',
      ]),
    );
  });

  it('are left out when turned off', async () => {
    // Prepare
    const monitor = vi.spyOn(perfHooks, 'monitorEventLoopDelay');

    // Act
    const metrics = createMetrics({ defaultMetrics: false, coldStartPricePerGb: 1 });

    // Assess
    expect(
      (await names(metrics.registry)).filter((n) => n.startsWith('warmroute_process_')),
    ).toEqual([]);
    expect(monitor).not.toHaveBeenCalled();
  });
});
