import type { KeepWarmPrice } from './keep-warm-price.js';

/**
 * Whether to send a keep-warm ping now, and how many the plan it starts
 * expects to need: the expected-cost comparison of src/budget/keep-warm.ts,
 * pure and allocation-free.
 *
 * The key was last used e ms ago (`elapsedMs`) and has not come back since;
 * its environment is believed alive until d ms after that use
 * (`aliveForMs`, d > e). A ping now keeps it alive until e + L (`lifetimeMs`);
 * a plan of n pings sends them at e, e + T', …, e + (n − 1)·T' (`intervalMs`,
 * T' < L), each only if the key has not come back by then, and keeps the
 * environment until e + (n − 1)·T' + L. With S(x) the probability that the
 * key's gap exceeds x given that it exceeds e (its past gaps, `sorted`),
 *
 *     stop:   cold × S(d)
 *     plan n: ping × Σ_{j<n} S(e + j·T') + cold × S(e + (n − 1)·T' + L)
 *
 * and a ping is sent only when some plan is strictly cheaper than stopping.
 * For n = 1 that is the rule "P(the key returns within the ping's extra
 * window (d, e + L]) × cold > ping". Looking further ahead is what lets a
 * key whose gaps need three pings be kept warm at all: no single ping of
 * such a chain pays for itself, the chain does. When every past gap is the
 * same g, the rule pays min(cold, pingsToBridge(g) × ping) per gap: the
 * clairvoyant bound of bench/lib/keep-warm-cost.ts.
 *
 * The decision is re-taken before each ping (the caller calls again at
 * e + T'); since both options share the costs already sunk, the best plan
 * found now stays the best then unless the history changed.
 *
 * Gaps recorded as Infinity are keys that did not come back within the
 * horizon (they count in S at every x). With no past gap longer than e,
 * there is no evidence this key returns this late: stop.
 */

export interface PingQuestion {
  /** Past gaps (ms) ascending, Infinity last; only the first `count` are read. */
  readonly sorted: ArrayLike<number>;
  readonly count: number;
  readonly elapsedMs: number;
  readonly aliveForMs: number;
  readonly lifetimeMs: number;
  readonly intervalMs: number;
  readonly price: KeepWarmPrice;
  /** Longest plan considered. */
  readonly maxPings: number;
}

export interface PingAnswer {
  /** Pings of the cheapest plan (0: stop, send nothing). */
  pings: number;
  /** Expected cost of stopping now (pUSD). */
  stopCostPico: number;
  /** Expected cost of the cheapest plan (pUSD; equals stopCostPico when it is to stop). */
  planCostPico: number;
}

/** Index of the first entry > x in sorted[0, count). */
function upperBound(sorted: ArrayLike<number>, count: number, x: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Infinity) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Fills `answer` (pass one to reuse it: a decision then allocates nothing but a closure). */
export function decidePing(
  q: PingQuestion,
  answer: PingAnswer = { pings: 0, stopCostPico: 0, planCostPico: 0 },
): PingAnswer {
  const { sorted, count, elapsedMs: e, lifetimeMs: L, intervalMs: step, price } = q;
  answer.pings = 0;
  answer.stopCostPico = 0;
  answer.planCostPico = 0;
  const base = count - upperBound(sorted, count, e);
  if (base === 0 || !(q.aliveForMs > e) || !(step > 0) || !(L > step)) return answer;
  const survives = (x: number): number => (count - upperBound(sorted, count, x)) / base;
  const stop = price.coldStartPico * survives(q.aliveForMs);
  answer.stopCostPico = stop;
  answer.planCostPico = stop;
  // Past the longest finite gap S is flat (only keys that never came back): more pings only cost.
  let longestFinite = 0;
  for (let i = count - 1; i >= 0; i--) {
    const g = sorted[i] ?? Infinity;
    if (Number.isFinite(g)) {
      longestFinite = g;
      break;
    }
  }
  let pingsCost = 0;
  for (let n = 1; n <= q.maxPings; n++) {
    const sentAt = e + (n - 1) * step;
    pingsCost += price.pingPico * survives(sentAt);
    const cost = pingsCost + price.coldStartPico * survives(sentAt + L);
    if (cost < answer.planCostPico) {
      answer.planCostPico = cost;
      answer.pings = n;
    }
    if (sentAt + L >= longestFinite) break;
  }
  return answer;
}
