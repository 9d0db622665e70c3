import type { Directory } from '../directory/types.js';
import { durationBuckets, type Metrics } from '../metrics.js';
import type { Scheduler } from '../scheduler/types.js';
import { readCumulative, StatusLabels, type CumulativeReading } from './cumulative-read.js';
import { intervalDelta, type IntervalDelta } from './interval-delta.js';
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
 * Steps, documents and the baseline run one at a time (a promise chain): a
 * document's partial interval is always measured against the latest step.
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
  readonly directory: Pick<Directory, 'health' | 'counters'>;
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
  /** Milliseconds since the epoch; default Date.now (tests pass a fake clock). */
  readonly now?: () => number;
  /** Called when a timer step fails (reading a metric threw); the next step tries again. */
  readonly onError?: (err: unknown) => void;
}

interface Sample {
  readonly point: StatusPoint;
  readonly delta: IntervalDelta;
}

interface Baseline {
  readonly reading: CumulativeReading;
  readonly t: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(
      `${name} must be a positive integer of milliseconds, got ${String(value)}`,
    );
  return value;
}

export class StatusSampler {
  readonly #sources: StatusSources;
  readonly #stepMs: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #ring: Ring<Sample>;
  readonly #labels = new StatusLabels();
  #baseline: Baseline | undefined;
  #tail: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(sources: StatusSources, options: StatusSamplerOptions = {}) {
    this.#sources = sources;
    this.#stepMs = positiveInteger('stepMs', options.stepMs ?? STATUS_STEP_MS);
    this.#windowMs = positiveInteger('windowMs', options.windowMs ?? STATUS_WINDOW_MS);
    if (this.#windowMs < this.#stepMs)
      throw new RangeError(
        `windowMs (${String(this.#windowMs)}) must be at least stepMs (${String(this.#stepMs)})`,
      );
    this.#now = options.now ?? Date.now;
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
   * takes it and pushes nothing.
   */
  step(): Promise<void> {
    return this.#serial(async () => {
      const before = this.#baseline;
      const reading = await this.#read();
      const t = this.#now();
      this.#baseline = { reading, t };
      if (before === undefined) return;
      const delta = intervalDelta(before.reading, reading);
      this.#ring.push({ delta, point: this.#point(before.t, t, delta, false) });
    });
  }

  /** The document now: the ring plus the partial interval since the last step (partial: true). Never names a key or tenant. */
  document(): Promise<StatusDocument> {
    return this.#serial(async () => {
      await this.#ensureBaseline();
      const base = this.#baseline as Baseline;
      const reading = await this.#read();
      const t = this.#now();
      const partialDelta = intervalDelta(base.reading, reading);
      const samples = this.#ring.toArray();
      const series = samples.map((s) => s.point);
      series.push(this.#point(base.t, t, partialDelta, true));
      const deltas = samples.map((s) => s.delta);
      deltas.push(partialDelta);
      const summary = summarize(deltas, reading.functions.keys(), durationBuckets);
      const host = this.#sources.localHost;
      return {
        v: 1,
        generatedAt: new Date(t).toISOString(),
        version: this.#sources.version,
        stepMs: this.#stepMs,
        windowMs: this.#windowMs,
        series,
        ...summary,
        directory: this.#directory(),
        ...(host === undefined ? {} : { localHost: localHostStatus(host) }),
      };
    });
  }

  /** Stops the timer; idempotent. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
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
    const reading = await this.#read();
    this.#baseline = { reading, t: this.#now() };
  }

  #read(): Promise<CumulativeReading> {
    return readCumulative(this.#sources.metrics, this.#labels, durationBuckets);
  }

  #point(from: number, to: number, delta: IntervalDelta, partial: boolean): StatusPoint {
    const { queued, running } = this.#sources.scheduler.stats();
    return {
      t: to,
      seconds: Math.max(0, to - from) / 1000,
      partial,
      requests: delta.requests,
      hitRatio: hitRatio(delta.requests),
      hitLatency: latency(durationBuckets, delta.hitBuckets),
      coldLatency: latency(durationBuckets, delta.coldBuckets),
      coldStarts: delta.coldStarts,
      coldStartCostUsd: delta.coldStartCostUsd,
      queueDepth: queued,
      inflight: running,
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
