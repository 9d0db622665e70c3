import { computeOracle } from '../oracle.js';
import { generateTrace } from '../workload/trace.js';
import { runGatewayScenario } from './gateway-scenario.js';
import { computeLruBound } from './lru-bound.js';
import { withScenarioHost } from './scenario-host.js';

/**
 * Diagnostic behind the hit-rate bench's closing note: replays one small
 * trace through warmroute at C = 1 and C = 4 on fresh hosts and prints
 * warmroute's hits next to the LRU bound and the oracle computed from the
 * same run. At C = 1 the host sees requests in exactly the trace's order, so
 * warmroute must equal the LRU bound; what it loses at C > 1 is the host
 * seeing a different order (queued same-key requests arrive later, recency
 * is set at the end of an invocation, busy environments cannot be evicted).
 * Run: `node dist/bench/scenarios/ordering-check.js` after `npm run build`.
 */
export async function orderingCheck(): Promise<
  { concurrency: number; hits: number; lruBound: number; oracle: number }[]
> {
  const trace = generateTrace({ keys: 30, requests: 300, zipfS: 1.1, seed: 20_240_607 });
  const limits = { idleTimeoutMs: 300_000, maxEnvironments: 8 };
  const rows = [];
  for (const concurrency of [1, 4]) {
    const run = await withScenarioHost(limits, (s) =>
      runGatewayScenario(s, { trace, concurrency, keyName: (k) => `key-${k}` }),
    );
    const times = run.records.map((r) => ({ key: r.key, start: r.start, end: r.end }));
    const model = { idleTimeoutMs: limits.idleTimeoutMs, capacity: limits.maxEnvironments };
    const row = {
      concurrency,
      hits: run.records.filter((r) => r.result?.state === 'hit').length,
      lruBound: computeLruBound(times, model).hits,
      oracle: computeOracle(times, model).hits,
    };
    console.log(
      `C=${concurrency}: warmroute ${row.hits} hits, LRU bound ${row.lruBound}, oracle ${row.oracle} (of ${trace.length})`,
    );
    rows.push(row);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await orderingCheck();
