import { LRUCache } from 'lru-cache';
import { DeadlineHeap, type Deadlined } from '../localhost/deadline-heap.js';
import { TokenBucket } from './keep-warm-bucket.js';
import { decidePing, type PingAnswer } from './keep-warm-decision.js';
import { GapSample } from './keep-warm-gaps.js';
import type { KeepWarmPrice } from './keep-warm-price.js';

/**
 * Cost-aware keep-warm for one function (issue 18): decides when the gateway
 * sends a keep-warm ping (lambda/protocol.ts, answered by the library
 * without running the handler) so that a key coming back after the idle
 * lifetime still finds its environment warm, and only when that is expected
 * to cost less than letting it go cold.
 *
 * - Fed by the invoker after each answered request of a route that opted in
 *   (`observe(key, tenantId, atMs)`). Per key it keeps the last `keyHistory`
 *   idle gaps longer than the ping interval T' (shorter ones never bear on
 *   a decision); per function the last `functionHistory` of all keys.
 * - A key's environment is taken to die L (`idleLifetimeMs()`, the learned
 *   lifetime; a low quantile of it is the safe choice) after the tenant's
 *   last use. Pings go at T' = L − margin after the last use (or ping), so a
 *   ping reaches the environment before it dies even with timer lateness
 *   and reclaim jitter inside the margin.
 * - Before each ping the expected cost of stopping is compared with that of
 *   the cheapest plan of pings (src/budget/keep-warm-decision.ts), from the
 *   empirical distribution of the key's own past gaps longer than the time
 *   already elapsed, or the function's when the key has fewer than
 *   `minKeyGaps` of those: a key whose history is all short think times
 *   says nothing about whether it comes back after a pause, its function's
 *   other keys do (on the bench's session trace, deciding on the key's
 *   whole history instead cost 1.66× the clairvoyant bound; 1.10× now,
 *   test/unit/keep-warm-session-trace.test.ts). For one ping that is
 *   "P(return within the ping's extra window) × cold start > ping".
 *   Prices (`price()`) are the bench's terms: src/budget/keep-warm-price.ts.
 * - A key that has not come back within the break-even gap (L + ⌊cold /
 *   ping⌋ × T', beyond which not even a certain return pays for the pings)
 *   is recorded as a gap of Infinity: one-off keys count against keep-warm,
 *   which a history of returns alone would never show.
 * - At most `pingsPerMinute` (token bucket, `burst` saved up); a ping the
 *   budget refuses ends that key's chain for this gap. Pings are granted
 *   in deadline order, not by value: simple, and the budget is a bound on
 *   traffic, not the policy.
 * - A tenant used by another key (pooled tenants) or pinged for one is
 *   alive for all its keys: the next decision moves to that tenant's last
 *   use instead of pinging.
 *
 * Counters (`counters()`) add up: pingsSent = pingsUseful + pingsWasted +
 * pingsPending. A ping is useful when its key came back after the
 * environment would have died unpinged but while the pings kept it alive
 * (that gap's cold start avoided), wasted when the key came back before it
 * would have died anyway, after the pings stopped, answered not warm
 * (`observe(…, warm: false)`), never came back within the horizon, or was
 * forgotten (least recently used beyond `maxKeys`); pending while its gap
 * is still open.
 *
 * Time: one timer (unref'd) armed for the earliest deadline of an indexed
 * heap holding at most one deadline per key: the next decision, or the
 * horizon. `observe` is O(log keys), allocation-free for a known key; a
 * decision is O(log history × pings considered).
 */

/** The settings a route's configuration fills (everything but the wiring). */
export interface KeepWarmOptions {
  /** Most pings a minute for this function (token bucket rate). */
  readonly pingsPerMinute: number;
  /** Pings that may be saved up. Default ⌈pingsPerMinute / 6⌉ (ten seconds' worth), at least 1. */
  readonly burst?: number;
  /** Ping this share of L before the environment would die. Default 0.1, in (0, 1). */
  readonly marginRatio?: number;
  /** Least margin (ms): timer lateness and the network. Default 50. */
  readonly minMarginMs?: number;
  /** Keys remembered, least recently used forgotten first. Default 10,000. */
  readonly maxKeys?: number;
  /** Gaps remembered per key. Default 16. */
  readonly keyHistory?: number;
  /** A key's own gaps decide once this many are longer than the time elapsed; the function's before. Default 4. */
  readonly minKeyGaps?: number;
  /** Gaps remembered for the whole function. Default 1,024. */
  readonly functionHistory?: number;
  /**
   * The function's gaps decide only once this many are longer than the time
   * elapsed (else: no ping). Default 4: few, because the completed gaps a
   * function has seen under-represent long pauses (the ones still open are
   * not counted), and at cold/ping ≈ 200 even a small chance of a return
   * pays for a ping; on the bench's session trace (seed 1) 16, 8, 4 and 1
   * cost 1.17, 1.12, 1.10 and 1.07 × the clairvoyant bound.
   */
  readonly minFunctionGaps?: number;
  /** Longest chain of pings across one gap considered. Default 1,000. */
  readonly maxPingsPerGap?: number;
}

/** Sends one ping; a rejection (or a throw) counts as a failed ping. Not awaited. */
export type KeepWarmSend = (functionName: string, tenantId: string) => Promise<unknown>;

export interface KeepWarmPlannerOptions extends KeepWarmOptions {
  readonly functionName: string;
  readonly send: KeepWarmSend;
  /** L: the idle time after which environments are taken as gone; undefined while unknown (no ping). */
  readonly idleLifetimeMs: () => number | undefined;
  /** Current prices (cheap: called at each decision). */
  readonly price: () => KeepWarmPrice;
  /** Clock (ms). Default Date.now. */
  readonly now?: () => number;
}

export interface KeepWarmCounters {
  readonly pingsSent: number;
  /** Estimated cost of the pings sent (integer pUSD). */
  readonly pingCostPico: number;
  readonly coldStartsAvoided: number;
  readonly pingsUseful: number;
  readonly pingsWasted: number;
  readonly pingsPending: number;
  /** Pings the per-minute budget refused. */
  readonly pingsDenied: number;
  /** Pings whose send rejected (also counted sent, then useful or wasted by outcome). */
  readonly pingsFailed: number;
  /** Keys remembered now. */
  readonly keys: number;
}

/** Longest delay setTimeout honours. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** What the key's deadline is for: the next ping decision, or judging the gap at the horizon. */
type Phase = 'decide' | 'horizon';

interface KeyEntry extends Deadlined {
  tenantId: string;
  lastUseMs: number;
  readonly gaps: GapSample;
  phase: Phase;
  /** Pings sent in the open gap. */
  pings: number;
  lastPingMs: number;
  /** When the environment would have died had it not been pinged (lastUse + L). */
  deathUnpingedMs: number;
  /** When the environment is believed to die now. */
  aliveUntilMs: number;
  /** The open gap was already recorded (horizon) and its pings counted wasted. */
  closed: boolean;
  /** A ping of the open gap failed: no more for this gap. */
  failed: boolean;
  /** Bumped by each use, so a late failure of an earlier gap's ping changes nothing. */
  use: number;
}

export class KeepWarmPlanner {
  readonly functionName: string;
  readonly pingsPerMinute: number;
  readonly burst: number;
  readonly marginRatio: number;
  readonly minMarginMs: number;
  readonly maxKeys: number;
  readonly keyHistory: number;
  readonly minKeyGaps: number;
  readonly minFunctionGaps: number;
  readonly maxPingsPerGap: number;
  private readonly send: KeepWarmSend;
  private readonly lifetime: () => number | undefined;
  private readonly price: () => KeepWarmPrice;
  private readonly now: () => number;
  private readonly keys: LRUCache<string, KeyEntry>;
  private readonly tenantLastUse: LRUCache<string, number>;
  private readonly functionGaps: GapSample;
  private readonly heap = new DeadlineHeap<KeyEntry>();
  private readonly bucket: TokenBucket;
  private readonly answer: PingAnswer = { pings: 0, stopCostPico: 0, planCostPico: 0 };
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closedPlanner = false;
  private sent = 0;
  private costPico = 0;
  private avoided = 0;
  private useful = 0;
  private wasted = 0;
  private denied = 0;
  private failedPings = 0;

  constructor(options: KeepWarmPlannerOptions) {
    this.functionName = options.functionName;
    this.pingsPerMinute = options.pingsPerMinute;
    this.burst = options.burst ?? Math.max(1, Math.ceil(options.pingsPerMinute / 6));
    this.marginRatio = options.marginRatio ?? 0.1;
    this.minMarginMs = options.minMarginMs ?? 50;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.keyHistory = options.keyHistory ?? 16;
    this.minKeyGaps = options.minKeyGaps ?? 4;
    const functionHistory = options.functionHistory ?? 1_024;
    this.minFunctionGaps = options.minFunctionGaps ?? 4;
    this.maxPingsPerGap = options.maxPingsPerGap ?? 1_000;
    const problems: string[] = [];
    const positiveInteger = (name: string, v: number): void => {
      if (!(Number.isSafeInteger(v) && v >= 1))
        problems.push(`${name} must be a positive integer, got ${v}`);
    };
    if (typeof this.functionName !== 'string' || this.functionName.length === 0)
      problems.push('functionName must be a non-empty string');
    if (!(Number.isFinite(this.pingsPerMinute) && this.pingsPerMinute >= 0))
      problems.push(`pingsPerMinute must be a finite number ≥ 0, got ${this.pingsPerMinute}`);
    if (!(Number.isFinite(this.burst) && this.burst >= 1))
      problems.push(`burst must be a finite number ≥ 1, got ${this.burst}`);
    if (!(this.marginRatio > 0 && this.marginRatio < 1))
      problems.push(`marginRatio must be in (0, 1), got ${this.marginRatio}`);
    if (!(Number.isFinite(this.minMarginMs) && this.minMarginMs >= 0))
      problems.push(`minMarginMs must be a finite number ≥ 0, got ${this.minMarginMs}`);
    positiveInteger('maxKeys', this.maxKeys);
    positiveInteger('keyHistory', this.keyHistory);
    positiveInteger('minKeyGaps', this.minKeyGaps);
    positiveInteger('functionHistory', functionHistory);
    positiveInteger('minFunctionGaps', this.minFunctionGaps);
    positiveInteger('maxPingsPerGap', this.maxPingsPerGap);
    if (this.minKeyGaps > this.keyHistory)
      problems.push(`minKeyGaps (${this.minKeyGaps}) must be ≤ keyHistory (${this.keyHistory})`);
    if (this.minFunctionGaps > functionHistory)
      problems.push(
        `minFunctionGaps (${this.minFunctionGaps}) must be ≤ functionHistory (${functionHistory})`,
      );
    if (problems.length > 0) throw new RangeError(`keep-warm: ${problems.join('; ')}`);
    this.send = options.send;
    this.lifetime = options.idleLifetimeMs;
    this.price = options.price;
    this.now = options.now ?? Date.now;
    this.functionGaps = new GapSample(functionHistory);
    this.bucket = new TokenBucket(this.pingsPerMinute, this.burst, this.now());
    this.keys = new LRUCache<string, KeyEntry>({
      max: this.maxKeys,
      dispose: (entry) => {
        this.forget(entry);
      },
    });
    this.tenantLastUse = new LRUCache<string, number>({ max: this.maxKeys });
  }

  /**
   * `key` (on `tenantId`) was answered at `atMs` (its environment's idle
   * time starts there). `warm: false` when the answer said the environment
   * was not warm (`fresh`/`rehydrated` on a new environment): the gap's
   * pings then did not keep it. Bad arguments are ignored: this runs on the
   * request path and must not throw.
   */
  observe(key: string, tenantId: string, atMs: number, warm?: boolean): void {
    if (this.closedPlanner || typeof key !== 'string' || typeof tenantId !== 'string') return;
    if (!Number.isFinite(atMs)) return;
    this.touchTenant(tenantId, atMs);
    const lifetime = this.validLifetime();
    let entry = this.keys.get(key);
    if (entry !== undefined) {
      const gap = atMs - entry.lastUseMs;
      // Overlapping requests of one key can be answered out of order: the later answer counts.
      if (gap < 0) return;
      this.closeGap(entry, atMs, warm);
      // Only gaps past the first ping time are kept: a decision only ever asks about gaps
      // longer than the time already elapsed, and a session's many short think times would
      // push the few pauses that matter out of the history.
      if (!entry.closed && lifetime !== undefined && gap > this.intervalOf(lifetime)) {
        entry.gaps.add(gap);
        this.functionGaps.add(gap);
      }
    } else {
      entry = {
        deadline: 0,
        heapIndex: -1,
        tenantId,
        lastUseMs: atMs,
        gaps: new GapSample(this.keyHistory),
        phase: 'decide',
        pings: 0,
        lastPingMs: -Infinity,
        deathUnpingedMs: atMs,
        aliveUntilMs: atMs,
        closed: false,
        failed: false,
        use: 0,
      };
      this.keys.set(key, entry);
    }
    entry.tenantId = tenantId;
    entry.lastUseMs = atMs;
    entry.pings = 0;
    entry.lastPingMs = -Infinity;
    entry.closed = false;
    entry.failed = false;
    entry.use++;
    if (lifetime === undefined) {
      this.heap.delete(entry);
      return;
    }
    entry.deathUnpingedMs = atMs + lifetime;
    entry.aliveUntilMs = entry.deathUnpingedMs;
    entry.phase = 'decide';
    this.heap.set(entry, atMs + this.intervalOf(lifetime));
    this.arm();
  }

  counters(): KeepWarmCounters {
    return {
      pingsSent: this.sent,
      pingCostPico: this.costPico,
      coldStartsAvoided: this.avoided,
      pingsUseful: this.useful,
      pingsWasted: this.wasted,
      pingsPending: this.sent - this.useful - this.wasted,
      pingsDenied: this.denied,
      pingsFailed: this.failedPings,
      keys: this.keys.size,
    };
  }

  /** The ping interval T' for a lifetime L: L less the margin. */
  intervalOf(lifetimeMs: number): number {
    return lifetimeMs - Math.max(this.minMarginMs, this.marginRatio * lifetimeMs);
  }

  /** Stops the timer and all further pings (the gateway's shutdown). */
  close(): void {
    this.closedPlanner = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private validLifetime(): number | undefined {
    const lifetime = this.lifetime();
    if (lifetime === undefined || !Number.isFinite(lifetime)) return undefined;
    // A margin that swallows the whole lifetime leaves no time to ping in.
    return this.intervalOf(lifetime) > 0 ? lifetime : undefined;
  }

  private touchTenant(tenantId: string, atMs: number): void {
    const last = this.tenantLastUse.get(tenantId);
    if (last === undefined || atMs > last) this.tenantLastUse.set(tenantId, atMs);
  }

  /** Counts the open gap's pings by outcome, the key being back at `atMs`. */
  private closeGap(entry: KeyEntry, atMs: number, warm: boolean | undefined): void {
    if (entry.pings === 0 || entry.closed) return;
    const bridged = warm !== false && atMs > entry.deathUnpingedMs && atMs <= entry.aliveUntilMs;
    if (bridged) {
      this.avoided++;
      this.useful += entry.pings;
    } else {
      this.wasted += entry.pings;
    }
  }

  /** The key left the LRU: its open gap's pings will never be judged. */
  private forget(entry: KeyEntry): void {
    this.heap.delete(entry);
    if (!entry.closed) this.wasted += entry.pings;
    entry.pings = 0;
    entry.closed = true;
  }

  private arm(): void {
    if (this.closedPlanner) return;
    const head = this.heap.peek();
    if (head === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedAt = Infinity;
      return;
    }
    // A timer due no later than the head fires in time and re-arms: no churn on every observe.
    if (this.timer !== undefined && this.armedAt <= head.deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = head.deadline;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.armedAt = Infinity;
        this.runDue();
      },
      // setTimeout fires at once for a delay past 2^31 − 1 ms (a far horizon): wait the most it can.
      Math.min(MAX_TIMER_DELAY_MS, Math.max(0, head.deadline - this.now())),
    );
    this.timer.unref();
  }

  private runDue(): void {
    if (this.closedPlanner) return;
    const now = this.now();
    for (let head = this.heap.peek(); head !== undefined && head.deadline <= now;) {
      if (head.phase === 'horizon') this.recordHorizon(head);
      else this.decide(head, now);
      head = this.heap.peek();
    }
    this.arm();
  }

  /** The key did not come back within the horizon: a gap of Infinity, its pings wasted. */
  private recordHorizon(entry: KeyEntry): void {
    this.heap.delete(entry);
    entry.gaps.add(Infinity);
    this.functionGaps.add(Infinity);
    this.wasted += entry.pings;
    entry.pings = 0;
    entry.closed = true;
  }

  private decide(entry: KeyEntry, now: number): void {
    const lifetime = this.validLifetime();
    if (lifetime === undefined) {
      this.heap.delete(entry);
      return;
    }
    const interval = this.intervalOf(lifetime);
    const tenantLast = Math.max(
      this.tenantLastUse.get(entry.tenantId) ?? -Infinity,
      entry.lastUseMs,
      entry.lastPingMs,
    );
    // Another key (or a ping for one) used this tenant since: alive longer, look again later.
    if (tenantLast + interval > now) {
      entry.aliveUntilMs = Math.max(entry.aliveUntilMs, tenantLast + lifetime);
      this.heap.set(entry, tenantLast + interval);
      return;
    }
    const price = this.price();
    const affordable = this.affordablePings(price);
    const elapsed = now - entry.lastUseMs;
    const sample =
      entry.gaps.countAbove(elapsed) >= this.minKeyGaps
        ? entry.gaps
        : this.functionGaps.countAbove(elapsed) >= this.minFunctionGaps
          ? this.functionGaps
          : undefined;
    if (entry.failed || sample === undefined || affordable < 1) {
      this.toHorizon(entry, lifetime, interval, affordable, now);
      return;
    }
    const answer = decidePing(
      {
        sorted: sample.sorted(),
        count: sample.count,
        elapsedMs: elapsed,
        aliveForMs: tenantLast + lifetime - entry.lastUseMs,
        lifetimeMs: lifetime,
        intervalMs: interval,
        price,
        maxPings: affordable,
      },
      this.answer,
    );
    if (answer.pings === 0) {
      this.toHorizon(entry, lifetime, interval, affordable, now);
      return;
    }
    if (!this.bucket.take(now)) {
      this.denied++;
      this.toHorizon(entry, lifetime, interval, affordable, now);
      return;
    }
    this.sent++;
    this.costPico += price.pingPico;
    entry.pings++;
    entry.lastPingMs = now;
    entry.aliveUntilMs = now + lifetime;
    this.touchTenant(entry.tenantId, now);
    this.heap.set(entry, now + interval);
    this.dispatch(entry);
  }

  /** Most pings a gap may take: as many as one cold start pays for (none for a price that is not a price). */
  private affordablePings(price: KeepWarmPrice): number {
    const { coldStartPico: cold, pingPico: ping } = price;
    if (!(Number.isFinite(cold) && cold >= 0 && Number.isFinite(ping) && ping >= 0)) return 0;
    return ping > 0 ? Math.min(this.maxPingsPerGap, Math.floor(cold / ping)) : this.maxPingsPerGap;
  }

  /** Stop pinging this gap; judge it at the break-even gap unless the key comes back first. */
  private toHorizon(
    entry: KeyEntry,
    lifetime: number,
    interval: number,
    affordable: number,
    now: number,
  ): void {
    entry.phase = 'horizon';
    const horizon = entry.lastUseMs + lifetime + Math.max(affordable, entry.pings) * interval;
    if (horizon <= now) this.recordHorizon(entry);
    else this.heap.set(entry, horizon);
  }

  private dispatch(entry: KeyEntry): void {
    const use = entry.use;
    const onFailure = (): void => {
      this.failedPings++;
      // The environment may not have been reached: no more pings for this gap.
      if (entry.use === use) entry.failed = true;
    };
    try {
      void this.send(this.functionName, entry.tenantId).then(undefined, onFailure);
    } catch {
      onFailure();
    }
  }
}
