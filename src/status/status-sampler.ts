import type { Directory } from '../directory/types.js';
import { BoundedLabel, MAX_FUNCTION_LABELS, OTHER_LABEL } from '../invoker/metric-labels.js';
import { durationBuckets, type Metrics } from '../metrics.js';
import type { Scheduler } from '../scheduler/types.js';
import { readCumulative, StatusLabels, type CumulativeReading } from './cumulative-read.js';
import { intervalDelta, type IntervalDelta } from './interval-delta.js';
import { readBudgets } from './budget-status.js';
import { localHostStatus, type LocalHostSource } from './local-host-status.js';
import { Ring } from './ring.js';
import {
  STATUS_STEP_MS,
  STATUS_WINDOW_MS,
  type DirectoryStatus,
  type StatusDocument,
  type StatusPoint,
} from './status-document.js';
import { hitRatio, latency, summarize } from './window-summary.js';

/**
 * The data behind the status page: every step (5 s) the sampler reads the
 * cumulative values the gateway's metrics already hold (what `/metrics`
 * serves) and keeps the interval's deltas in a fixed ring covering the
 * window (15 min). The request path records nothing for the page, so an open
 * page costs the gateway one metric read per step plus one per poll, never
 * anything per request; with the page closed the cost is the step alone.
 *
 * Why deltas of cumulative metrics rather than events: the metrics are the
 * one place the gateway counts outcomes, so the page and Prometheus cannot
 * disagree, and a counter reset (registry reset) is detected like
 * Prometheus does (interval-delta.ts) instead of showing negative rates.
 *
 * Memory is bounded whatever the traffic: the ring has ceil(window / step)
 * slots; each slot keeps a few numbers, two bucket vectors and sparse maps
 * of the functions and reasons that had something in the interval, whose
 * label values are capped (StatusLabels). The document names only function
 * labels and reasons: no key and no tenant ID is ever read into the sampler.
 *
 * Reads run one at a time (a promise chain), and a document takes its
 * reading, the baseline and the ring in the same turn: its partial interval
 * is always measured against the latest step. Building the rest of a
 * document happens outside that chain, and concurrent polls share one
 * build (reused for a second), so a flood of polls neither multiplies the
 * work nor delays a step.
 *
 * Cost, measured (process CPU time, steady state after warm-up, vitest on the
 * shared 2-core dev VM at load ≈13, so high side): a step with 120 function
 * names (101 labels, the cap) active in every state 0.58 ms, with 10
 * functions 0.24 ms; a document over a full ring with every function active
 * in every interval 1.4 ms (10 functions: 0.16 ms). Over half of a
 * step is HotHistogram.get() building one labelled object per bucket and
 * series. test/unit/status-sampler.test.ts prints a figure for 120 names
 * that includes JIT warm-up (its first 100 steps), so it reads higher.
 */

export interface StatusSources {
  /** The gateway's registry and metric objects (src/metrics.ts). */
  readonly metrics: Metrics;
  readonly directory: Pick<Directory, 'health'>;
  readonly scheduler: Pick<Scheduler, 'stats'>;
  /** The embedded local host, when the gateway runs one. */
  readonly localHost?: LocalHostSource | undefined;
  /** The package version. */
  readonly version: string;
}

export interface StatusSamplerOptions {
  /** Default STATUS_STEP_MS (5 s). */
  readonly stepMs?: number;
  /** Default STATUS_WINDOW_MS (15 min); ring capacity = ceil(windowMs / stepMs). */
  readonly windowMs?: number;
  /**
   * How long a finished document is answered again, in milliseconds; default
   * STATUS_DOCUMENT_REUSE_MS (1 s, half the page's poll). 0: every call
   * after the last one finished builds anew (concurrent calls still share).
   */
  readonly documentReuseMs?: number;
  /** Milliseconds since the epoch, for the points' `t` only; default Date.now (tests pass a fake clock). */
  readonly now?: () => number;
  /** A monotonic clock in milliseconds, for interval lengths and reuse; default performance.now. */
  readonly monotonic?: () => number;
  /** Called when a timer step fails (reading a metric threw); the next step tries again. */
  readonly onError?: (err: unknown) => void;
}

/** A finished document is served again for this long: the page polls every 2 s. */
export const STATUS_DOCUMENT_REUSE_MS = 1_000;

interface Sample {
  readonly point: StatusPoint;
  readonly delta: IntervalDelta;
}

/** A reading and when it was taken: `t` labels the point, `m` (monotonic) measures it. */
interface Stamped {
  readonly reading: CumulativeReading;
  readonly t: number;
  readonly m: number;
}

/** What a document is built from, taken in one turn so that the ring and the baseline agree. */
interface DocumentInputs {
  readonly base: Stamped;
  readonly now: Stamped;
  readonly samples: readonly Sample[];
  readonly queueDepth: number;
  readonly inflight: number;
  readonly directory: DirectoryStatus;
  readonly localHost: StatusDocument['localHost'];
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(
      `${name} must be a positive integer of milliseconds, got ${String(value)}`,
    );
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(
      `${name} must be a non-negative integer of milliseconds, got ${String(value)}`,
    );
  return value;
}

export class StatusSampler {
  readonly #sources: StatusSources;
  readonly #stepMs: number;
  readonly #windowMs: number;
  readonly #reuseMs: number;
  readonly #now: () => number;
  readonly #monotonic: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #ring: Ring<Sample>;
  readonly #labels = new StatusLabels();
  /** Kept for the sampler's life so that the same local-host functions fold into `other` on every poll. */
  readonly #hostNames = new BoundedLabel(new Set([OTHER_LABEL]), MAX_FUNCTION_LABELS);
  #baseline: Stamped | undefined;
  /** The first baseline's label: where the series starts. */
  #startedAt: number | undefined;
  /** Reads run one at a time, so each reading is at least its predecessor (no false counter reset). */
  #tail: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The document being built; every caller meanwhile gets it. */
  #building: Promise<StatusDocument> | undefined;
  #last: { readonly document: StatusDocument; readonly m: number } | undefined;

  constructor(sources: StatusSources, options: StatusSamplerOptions = {}) {
    this.#sources = sources;
    this.#stepMs = positiveInteger('stepMs', options.stepMs ?? STATUS_STEP_MS);
    this.#windowMs = positiveInteger('windowMs', options.windowMs ?? STATUS_WINDOW_MS);
    if (this.#windowMs < this.#stepMs)
      throw new RangeError(
        `windowMs (${String(this.#windowMs)}) must be at least stepMs (${String(this.#stepMs)})`,
      );
    this.#reuseMs = nonNegativeInteger(
      'documentReuseMs',
      options.documentReuseMs ?? STATUS_DOCUMENT_REUSE_MS,
    );
    this.#now = options.now ?? Date.now;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#onError = options.onError ?? (() => undefined);
    this.#ring = new Ring(Math.ceil(this.#windowMs / this.#stepMs));
  }

  /** Starts the step timer (unref'd, idempotent). The first step's baseline is taken here. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#serial(() => this.#ensureBaseline()).catch(this.#onError);
    this.#timer = setInterval(() => {
      this.step().catch(this.#onError);
    }, this.#stepMs);
    this.#timer.unref();
  }

  /**
   * Takes one step now: reads the cumulative metrics, pushes the interval's
   * deltas into the ring. Without a baseline yet (no `start()`), this step
   * takes it and pushes nothing. Waits for reads only, never for a
   * document's build.
   */
  step(): Promise<void> {
    return this.#serial(async () => {
      const before = this.#baseline;
      const now = await this.#stamp(before);
      this.#setBaseline(now);
      if (before === undefined) return;
      const delta = intervalDelta(before.reading, now.reading);
      const { queued, running } = this.#sources.scheduler.stats();
      this.#ring.push({ delta, point: this.#point(before, now, delta, false, queued, running) });
      // The reused document lacks this step's point.
      this.#last = undefined;
    });
  }

  /**
   * The document now: the ring plus the partial interval since the last step
   * (partial: true). Never names a key or tenant. Calls while one is being
   * built share it, and a finished one is answered again for
   * `documentReuseMs`: a flood of polls costs one build per period, not one
   * per request.
   */
  document(): Promise<StatusDocument> {
    const last = this.#last;
    if (last !== undefined && this.#monotonic() - last.m < this.#reuseMs)
      return Promise.resolve(last.document);
    if (this.#building !== undefined) return this.#building;
    const building = this.#build();
    this.#building = building;
    const settle = (): void => {
      if (this.#building === building) this.#building = undefined;
    };
    building.then((document) => {
      settle();
      this.#last = { document, m: this.#monotonic() };
    }, settle);
    return building;
  }

  /** Stops the timer; idempotent. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #build(): Promise<StatusDocument> {
    // Only the read and the snapshot are serialised; the summary is built outside, so a step waits for one read at most.
    const inputs = await this.#serial(async () => {
      await this.#ensureBaseline();
      const base = this.#baseline as Stamped;
      const now = await this.#stamp(base);
      const { queued, running } = this.#sources.scheduler.stats();
      const host = this.#sources.localHost;
      return {
        base,
        now,
        samples: this.#ring.toArray(),
        queueDepth: queued,
        inflight: running,
        directory: this.#directory(),
        localHost: host === undefined ? undefined : localHostStatus(host, this.#hostNames),
      } satisfies DocumentInputs;
    });
    const { base, now, samples } = inputs;
    const partialDelta = intervalDelta(base.reading, now.reading);
    const series = samples.map((s) => s.point);
    series.push(this.#point(base, now, partialDelta, true, inputs.queueDepth, inputs.inflight));
    const deltas = samples.map((s) => s.delta);
    deltas.push(partialDelta);
    const summary = summarize(deltas, now.reading.functions.keys(), durationBuckets);
    // Gauges of current state (and keep-warm totals): read now, outside the serialised read.
    const budgets = await readBudgets(this.#sources.metrics.registry);
    return {
      v: 1,
      generatedAt: new Date(now.t).toISOString(),
      startedAt: new Date(this.#startedAt ?? base.t).toISOString(),
      version: this.#sources.version,
      stepMs: this.#stepMs,
      windowMs: this.#windowMs,
      series,
      ...summary,
      directory: inputs.directory,
      budgets,
      ...(inputs.localHost === undefined ? {} : { localHost: inputs.localHost }),
    };
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async #ensureBaseline(): Promise<void> {
    if (this.#baseline !== undefined) return;
    this.#setBaseline(await this.#stamp(undefined));
  }

  #setBaseline(stamped: Stamped): void {
    this.#baseline = stamped;
    this.#startedAt ??= stamped.t;
  }

  /**
   * Reads the metrics and stamps the reading. The label `t` is the wall
   * clock, but never earlier than the previous label plus the monotonic time
   * since: the wall clock set back must not send the series backwards (the
   * page's charts need it ordered); set forward, it only moves the labels,
   * as interval lengths come from the monotonic clock.
   */
  async #stamp(previous: Stamped | undefined): Promise<Stamped> {
    const reading = await readCumulative(this.#sources.metrics, this.#labels, durationBuckets);
    const m = this.#monotonic();
    const wall = this.#now();
    const t = previous === undefined ? wall : Math.max(wall, previous.t + (m - previous.m));
    return { reading, t, m };
  }

  #point(
    from: Stamped,
    to: Stamped,
    delta: IntervalDelta,
    partial: boolean,
    queueDepth: number,
    inflight: number,
  ): StatusPoint {
    return {
      t: to.t,
      seconds: Math.max(0, to.m - from.m) / 1000,
      partial,
      requests: delta.requests,
      hitRatio: hitRatio(delta.requests),
      hitLatency: latency(durationBuckets, delta.hitBuckets),
      coldLatency: latency(durationBuckets, delta.coldBuckets),
      coldStarts: delta.coldStarts,
      coldStartCostUsd: delta.coldStartCostUsd,
      queueDepth,
      inflight,
      rejections: delta.rejections,
      errors: delta.errors,
    };
  }

  #directory(): DirectoryStatus {
    const health = this.#sources.directory.health();
    const degraded = health.status === 'degraded';
    return {
      store: health.store,
      status: health.status,
      degradedSince: degraded ? (health.degradedSince ?? null) : null,
      reason: degraded ? (health.reason ?? null) : null,
    };
  }
}
