import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../src/hot-metrics.js';
import { mulberry32 as prng } from '../../bench/workload/prng.js';

const buckets = [0.0005, 0.001, 0.005, 0.01, 0.1, 1, 10];
const labelNames = ['function', 'state'] as const;
const values = ['counter', 'warm "counter"', 'back\\slash', 'new\nline', 'ü'];
const states = ['hit', 'fresh'];

function feed(
  r: () => number,
  count: (labels: Record<string, string>, n: number) => void,
  observe: (labels: Record<string, string>, v: number) => void,
  observePlain: (v: number) => void,
): void {
  for (let i = 0; i < 2_000; i++) {
    const labels = {
      function: values[Math.floor(r() * values.length)]!,
      state: states[Math.floor(r() * states.length)]!,
    };
    count(labels, Math.floor(r() * 3));
    // Values on bucket bounds included: `le` is inclusive.
    const v = r() < 0.2 ? buckets[Math.floor(r() * buckets.length)]! : r() ** 4 * 20;
    observe(labels, v);
    observePlain(v / 7);
  }
}

describe('hot metrics', () => {
  it('expose exactly the text prom-client’s own Counter and Histogram do for the same values', async () => {
    // Prepare
    const reference = new Registry<RegistryContentType>();
    const refCounter = new Counter({
      name: 'c_total',
      help: 'h',
      labelNames,
      registers: [reference],
    });
    const refHistogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames,
      buckets,
      registers: [reference],
    });
    const refPlain = new Histogram({
      name: 'p_seconds',
      help: 'p',
      buckets,
      registers: [reference],
    });
    const hot = new Registry<RegistryContentType>();
    const hotCounter = new HotCounter({ name: 'c_total', help: 'h', labelNames, registers: [hot] });
    const hotHistogram = new HotHistogram({
      name: 'h_seconds',
      help: 'h',
      labelNames,
      buckets,
      registers: [hot],
    });
    const hotPlain = new HotHistogram({ name: 'p_seconds', help: 'p', buckets, registers: [hot] });

    // Act: the same seeded sequence into both; the hot side through cached children, as the invoker does
    feed(
      prng(7),
      (l, n) => {
        refCounter.inc(l, n);
      },
      (l, v) => {
        refHistogram.observe(l, v);
      },
      (v) => {
        refPlain.observe(v);
      },
    );
    const children = new Map<
      string,
      { c: { inc(n?: number): void }; h: { observe(v: number): void } }
    >();
    feed(
      prng(7),
      (l, n) => {
        const key = JSON.stringify(l);
        let child = children.get(key);
        if (child === undefined) {
          child = { c: hotCounter.labels(l), h: hotHistogram.labels(l) };
          children.set(key, child);
        }
        child.c.inc(n);
      },
      (l, v) => {
        hotHistogram.labels(l).observe(v);
      },
      (v) => {
        hotPlain.observe(v);
      },
    );

    // Assess: the same exposition, in both formats
    expect(await hot.metrics()).toBe(await reference.metrics());
    hot.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    reference.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await hot.metrics()).toBe(await reference.metrics());
  });

  it('rejects what prom-client rejects: unknown labels, negative increments, non-finite values', () => {
    const registry = new Registry();
    const counter = new HotCounter({
      name: 'c_total',
      help: 'h',
      labelNames,
      registers: [registry],
    });
    const histogram = new HotHistogram({ name: 'h', help: 'h', buckets, registers: [registry] });
    expect(() => {
      counter.inc({ nope: 'x' } as never);
    }).toThrow(/nope/);
    expect(() => {
      counter.inc({}, -1);
    }).toThrow(/decrease/);
    // Also once a series with only known labels exists (its id ignores unknown names).
    counter.inc({});
    expect(() => {
      counter.inc({ nope: 'x' } as never);
    }).toThrow(/nope/);
    expect(() => {
      histogram.observe(Number.NaN);
    }).toThrow(/valid number/);
    expect(() => new HotCounter({ name: 'c_total', help: 'again', registers: [registry] })).toThrow(
      /already been registered/,
    );
  });

  it('starts over after a registry reset', async () => {
    const registry = new Registry();
    const histogram = new HotHistogram({ name: 'h', help: 'h', buckets, registers: [registry] });
    histogram.observe(0.002);
    registry.resetMetrics();
    histogram.observe(0.02);
    const data = await histogram.get();
    expect(data.values.find((v) => v.metricName === 'h_count')?.value).toBe(1);
    expect(data.values.find((v) => v.metricName === 'h_sum')?.value).toBe(0.02);
  });
});
