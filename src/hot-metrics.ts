import type { Metric, OpenMetricsContentType, Registry } from 'prom-client';

/**
 * A counter and a histogram for the metrics every request touches, served
 * by prom-client's own Registry (exposition format, content type, default
 * labels all stay prom-client's). prom-client's `observe()`/`inc()` re-hash
 * the label object and build closures on every call, even on a labelled
 * child: its four calls per request profiled at ~2.5 % of the gateway's
 * CPU. Here a label set is resolved once into a series, and recording is a
 * bucket search and two additions. A unit test checks that the text they
 * expose equals prom-client's own Counter and Histogram fed the same values.
 */

type LabelValues<L extends string> = Partial<Record<L, string | number>>;

/** What prom-client's Registry reads of a metric (the shape its own metrics' `get()` returns). */
export interface HotMetricData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: {
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }[];
}

interface HotMetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  readonly registers: readonly (Registry | Registry<OpenMetricsContentType>)[];
}

/** Stable identity of a label set (label order does not matter). */
function seriesId(
  labelNames: readonly string[],
  labels: Partial<Record<string, string | number>>,
): string {
  let id = '';
  for (const name of labelNames) {
    const value = labels[name];
    if (value !== undefined) id += `${name}:${String(value)},`;
  }
  return id;
}

function checkLabels(metric: string, labelNames: readonly string[], labels: object): void {
  for (const name of Object.keys(labels)) {
    if (!labelNames.includes(name))
      throw new Error(`Added label "${name}" is not included in initial labelset of ${metric}`);
  }
}

abstract class HotMetric<L extends string, S extends { readonly labels: LabelValues<L> }> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  abstract readonly type: HotMetricData['type'];
  protected readonly labelNames: readonly L[];
  protected series = new Map<string, S>();

  constructor(options: HotMetricOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...(options.labelNames ?? [])].sort();
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series of a label set, made on first use. The labels are checked on
   * every lookup: the id skips names it does not know, so an unknown label
   * would otherwise land in an existing series.
   */
  protected seriesFor(labels: LabelValues<L>): S {
    checkLabels(this.name, this.labelNames, labels);
    const id = seriesId(this.labelNames, labels);
    let s = this.series.get(id);
    if (s === undefined) {
      s = this.newSeries({ ...labels });
      this.series.set(id, s);
    }
    return s;
  }

  protected abstract newSeries(labels: LabelValues<L>): S;

  protected data(values: HotMetricData['values']): Promise<HotMetricData> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  reset(): void {
    this.series = new Map();
  }
}

/** One label set of a counter; `labels()` hands it out, so recording allocates nothing. */
class CounterSeries<L extends string> {
  value = 0;

  constructor(readonly labels: LabelValues<L>) {}

  inc(amount = 1): void {
    if (!(amount >= 0)) throw new Error('It is not possible to decrease a counter');
    this.value += amount;
  }
}

export class HotCounter<L extends string = never> extends HotMetric<L, CounterSeries<L>> {
  readonly type = 'counter' as const;

  /** A series to increment on the hot path (resolve it once per label set). */
  labels(labels: LabelValues<L>): { inc(amount?: number): void } {
    return this.seriesFor(labels);
  }

  inc(labels: LabelValues<L> = {}, amount = 1): void {
    this.seriesFor(labels).inc(amount);
  }

  get(): Promise<HotMetricData> {
    return this.data(
      [...this.series.values()].map((s) => ({
        labels: { ...s.labels } as Record<string, string | number>,
        value: s.value,
      })),
    );
  }

  protected newSeries(labels: LabelValues<L>): CounterSeries<L> {
    return new CounterSeries(labels);
  }
}

/** One label set of a histogram: counts per bucket (not cumulative; the last slot is +Inf). */
class HistogramSeries<L extends string> {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelValues<L>,
    private readonly upperBounds: readonly number[],
  ) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

export class HotHistogram<L extends string = never> extends HotMetric<L, HistogramSeries<L>> {
  readonly type = 'histogram' as const;
  private readonly upperBounds: readonly number[];
  private unlabelled: HistogramSeries<L> | undefined;

  constructor(options: HotMetricOptions<L> & { readonly buckets: readonly number[] }) {
    super(options);
    this.upperBounds = [...options.buckets].sort((a, b) => a - b);
  }

  /** A series to observe on the hot path (resolve it once per label set). */
  labels(labels: LabelValues<L>): { observe(value: number): void } {
    return this.seriesFor(labels);
  }

  observe(labelsOrValue: LabelValues<L> | number, value?: number): void {
    if (typeof labelsOrValue === 'number') {
      // The series without labels, resolved once (until reset()).
      this.unlabelled ??= this.seriesFor({});
      this.unlabelled.observe(labelsOrValue);
    } else this.seriesFor(labelsOrValue).observe(value ?? NaN);
  }

  get(): Promise<HotMetricData> {
    const bucket = `${this.name}_bucket`;
    const values: HotMetricData['values'] = [];
    for (const s of this.series.values()) {
      const labels = s.labels as Record<string, string | number>;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: bucket });
      });
      values.push(
        { labels: { le: '+Inf', ...labels }, value: s.count, metricName: bucket },
        { labels: { ...labels }, value: s.sum, metricName: `${this.name}_sum` },
        { labels: { ...labels }, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return this.data(values);
  }

  protected newSeries(labels: LabelValues<L>): HistogramSeries<L> {
    return new HistogramSeries(labels, this.upperBounds);
  }

  override reset(): void {
    super.reset();
    this.unlabelled = undefined;
  }
}
