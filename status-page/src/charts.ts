import uPlot from 'uplot';
import type { StatusDocument, StatusPoint } from '../../src/status/status-document.js';
import { byId } from './dom.js';
import { formatCount, formatMs, formatPercent, formatRate, formatUsd } from './format.js';
import { latestValue, perSecond } from './rate.js';

type Value = number | null;

interface LineSpec {
  readonly label: string;
  /** CSS custom property holding the colour, so the charts follow the theme. */
  readonly color: string;
  readonly scale: string;
  readonly value: (point: StatusPoint) => Value;
  readonly format: (value: Value) => string;
  readonly bars?: boolean;
}

interface AxisSpec {
  readonly scale: string;
  readonly format: (value: number) => string;
  /** Pixels reserved for the labels. */
  readonly size: number;
  readonly side?: 1 | 3;
  readonly splits?: uPlot.Axis.Splits;
}

interface ChartSpec {
  readonly containerId: string;
  readonly lines: readonly LineSpec[];
  readonly axes: readonly AxisSpec[];
  readonly scales?: Readonly<Record<string, uPlot.Scale>>;
}

const orDash =
  (format: (value: number) => string) =>
  (value: Value): string =>
    value === null ? '—' : format(value);

/** Axis ticks are round numbers; this only drops float noise (0.30000000000000004). */
function tick(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** Counts have no fractional ticks: uPlot may place some on a small range, they stay unlabelled. */
function countTick(value: number): string {
  return Number.isInteger(value) ? formatCount(value) : '';
}

/** Dollars with as many decimals as the tick's size needs (costs are often millionths). */
function usdTick(value: number): string {
  if (value <= 0) return '$0';
  const decimals = Math.min(8, Math.max(0, 1 - Math.floor(Math.log10(value))));
  return `$${String(Number(value.toFixed(decimals)))}`;
}

/**
 * Ticks of the log latency axis: 1, 2, 5 × 10^k while few, else powers of ten only. uPlot's own
 * log splits draw a line at every integer multiple, nine per decade, which buries the data.
 */
function logSplits(_u: uPlot, _axisIdx: number, min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return [];
  const ticks: number[] = [];
  for (let exp = Math.floor(Math.log10(min)); exp <= Math.ceil(Math.log10(max)); exp++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** exp).toPrecision(6));
      if (v >= min && v <= max) ticks.push(v);
    }
  }
  return ticks.length > 6 ? ticks.filter((v) => Number.isInteger(Math.log10(v))) : ticks;
}

function msTick(value: number): string {
  return value >= 1000 ? `${tick(value / 1000)} s` : `${tick(value)} ms`;
}

/** A log scale has no place for 0 (an interval can not have a latency of 0 ms anyway). */
function positiveOrNull(value: Value): Value {
  return value !== null && value > 0 ? value : null;
}

const CHARTS: readonly ChartSpec[] = [
  {
    containerId: 'chart-requests',
    lines: (['hit', 'rehydrated', 'fresh', 'unknown'] as const).map((state) => ({
      label: state,
      color: `--c-${state}`,
      scale: 'rate',
      value: perSecond((p) => p.requests[state]),
      format: formatRate,
    })),
    axes: [{ scale: 'rate', format: (v) => `${tick(v)}/s`, size: 52 }],
    scales: { rate: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
  },
  {
    containerId: 'chart-hit-ratio',
    lines: [
      {
        label: 'hit ratio',
        color: '--c-hit',
        scale: 'ratio',
        value: (p) => p.hitRatio,
        format: formatPercent,
      },
    ],
    axes: [{ scale: 'ratio', format: (v) => `${tick(v * 100)}%`, size: 48 }],
    scales: { ratio: { range: [0, 1] } },
  },
  {
    containerId: 'chart-latency',
    // Warm hits take a millisecond, cold starts hundreds: only a log scale shows both.
    lines: (
      [
        { label: 'hit p50', color: '--c-hit', value: (p) => p.hitLatency.p50Ms },
        { label: 'hit p95', color: '--c-hit-2', value: (p) => p.hitLatency.p95Ms },
        { label: 'cold p50', color: '--c-fresh', value: (p) => p.coldLatency.p50Ms },
        { label: 'cold p95', color: '--c-fresh-2', value: (p) => p.coldLatency.p95Ms },
      ] satisfies Pick<LineSpec, 'label' | 'color' | 'value'>[]
    ).map((line) => ({
      ...line,
      value: (p: StatusPoint) => positiveOrNull(line.value(p)),
      scale: 'ms',
      format: formatMs,
    })),
    axes: [{ scale: 'ms', format: msTick, size: 60, splits: logSplits }],
    // uPlot's enums are ambient `const enum`s, which a bundler cannot inline: the number (3: log).
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
    scales: { ms: { distr: 3, log: 10 } },
  },
  {
    containerId: 'chart-cold-starts',
    lines: [
      {
        label: 'cold starts',
        color: '--c-fresh',
        scale: 'count',
        value: (p) => p.coldStarts,
        format: orDash(formatCount),
        bars: true,
      },
      {
        label: 'cost',
        color: '--c-cost',
        scale: 'usd',
        value: (p) => p.coldStartCostUsd,
        format: orDash(formatUsd),
      },
    ],
    axes: [
      { scale: 'count', format: countTick, size: 40 },
      { scale: 'usd', format: usdTick, size: 72, side: 1 },
    ],
    scales: {
      count: { range: (_u, _min, max) => [0, Math.max(max, 1)] },
      usd: { range: (_u, _min, max) => [0, max > 0 ? max : 0.01] },
    },
  },
  {
    containerId: 'chart-queue',
    lines: [
      {
        label: 'queue depth',
        color: '--c-queue',
        scale: 'count',
        value: (p) => p.queueDepth,
        format: orDash(formatCount),
      },
      {
        label: 'in flight',
        color: '--c-inflight',
        scale: 'count',
        value: (p) => p.inflight,
        format: orDash(formatCount),
      },
      {
        label: 'rejections',
        color: '--c-unknown',
        scale: 'rate',
        value: perSecond((p) => p.rejections),
        format: formatRate,
      },
    ],
    axes: [
      { scale: 'count', format: countTick, size: 40 },
      { scale: 'rate', format: (v) => `${tick(v)}/s`, size: 52, side: 1 },
    ],
    scales: {
      count: { range: (_u, _min, max) => [0, Math.max(max, 1)] },
      rate: { range: (_u, _min, max) => [0, Math.max(max, 1)] },
    },
  },
];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Height by width: a phone gets shorter charts so two fit on a screen. */
function heightFor(width: number): number {
  return width < 480 ? 170 : 220;
}

function columns(
  spec: ChartSpec,
  series: readonly StatusPoint[],
  windowSeconds: number,
): uPlot.AlignedData {
  const xs = series.map((p) => p.t / 1000);
  const ys = spec.lines.map((line) => series.map((p) => line.value(p)));
  const only = xs[0];
  // uPlot mislabels the date of a time axis whose data is a single x (a gateway's first 5 s): an
  // empty point at the start of the window gives it two.
  if (xs.length === 1 && only !== undefined) {
    return [[only - windowSeconds, only], ...ys.map((y) => [null, ...y])];
  }
  return [xs, ...ys];
}

/**
 * The value the legend shows: under the cursor, or the latest one when the
 * cursor is elsewhere (uPlot passes a null index then), so the legend reads
 * as "now" on a phone, where there is no hover.
 */
function legendValue(u: uPlot, raw: Value, seriesIdx: number, idx: number | null): Value {
  if (idx !== null) return raw;
  return latestValue(u.data[seriesIdx] ?? []);
}

/**
 * Points: all of them while few enough to tell apart (a young gateway has a handful), else only
 * the isolated ones, which have no neighbour to draw a line to (one interval with cold starts
 * among intervals without any), and would otherwise not show at all.
 */
const points: uPlot.Series.Points = {
  show: (u, _seriesIdx, idx0, idx1) => (idx1 - idx0 + 1) * 8 <= u.width,
  filter: (u, seriesIdx, show) => {
    if (show) return null;
    const data = u.data[seriesIdx] ?? [];
    const isolated: number[] = [];
    for (let i = 0; i < data.length; i++) {
      if (data[i] != null && data[i - 1] == null && data[i + 1] == null) isolated.push(i);
    }
    return isolated;
  },
};

function options(spec: ChartSpec, width: number, windowSeconds: () => number): uPlot.Options {
  const text = cssVar('--c-text-muted');
  const grid = cssVar('--c-grid');
  const bars = uPlot.paths.bars?.({ size: [0.6, 12] });
  const axis = (extra: uPlot.Axis): uPlot.Axis => ({
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    font: '11px system-ui, sans-serif',
    ...extra,
  });
  return {
    width,
    height: heightFor(width),
    scales: {
      // The whole window, always: a young gateway's few points do not stretch across the chart.
      x: {
        time: true,
        range: (_u, _min, max) => {
          const end = Number.isFinite(max) ? max : Date.now() / 1000;
          return [end - windowSeconds(), end];
        },
      },
      ...spec.scales,
    },
    axes: [
      axis({}),
      // Only the first value axis draws a grid: two grids on one chart are unreadable.
      ...spec.axes.map((a, i) =>
        axis({
          scale: a.scale,
          size: a.size,
          ...(a.splits === undefined ? {} : { splits: a.splits }),
          // 3: left, 1: right (uPlot's ambient const enum Axis.Side, as above).
          // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
          side: a.side ?? 3,
          // uPlot hands null for a split it leaves unlabelled (log scales do).
          values: (_u, splits: (number | null)[]) =>
            splits.map((v) => (v === null ? '' : a.format(v))),
          ...(i > 0 ? { grid: { show: false } } : {}),
        }),
      ),
    ],
    series: [
      {
        value: (u, raw, seriesIdx, idx) => {
          const t = legendValue(u, raw, seriesIdx, idx);
          return t === null ? '—' : new Date(t * 1000).toLocaleTimeString();
        },
      },
      ...spec.lines.map((line): uPlot.Series => {
        const color = cssVar(line.color);
        return {
          label: line.label,
          scale: line.scale,
          stroke: color,
          width: 2,
          points,
          value: (u, raw, seriesIdx, idx) => line.format(legendValue(u, raw, seriesIdx, idx)),
          ...(line.bars === true && bars !== undefined
            ? { paths: bars, fill: color, width: 0, points: { show: false } }
            : {}),
        };
      }),
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
  };
}

/** The five uPlot charts, sized to their containers; rebuilt when the theme changes. */
export class Charts {
  private readonly plots = new Map<ChartSpec, uPlot>();
  private series: readonly StatusPoint[] = [];
  private windowSeconds = 15 * 60;
  private readonly resizeObserver = new ResizeObserver((entries) => {
    for (const entry of entries) this.resize(entry.target);
  });

  constructor() {
    for (const spec of CHARTS) this.resizeObserver.observe(byId(spec.containerId));
  }

  update(doc: StatusDocument): void {
    this.series = doc.series;
    this.windowSeconds = doc.windowMs / 1000;
    for (const spec of CHARTS) {
      const plot = this.plots.get(spec);
      if (plot === undefined) this.create(spec);
      else plot.setData(columns(spec, this.series, this.windowSeconds));
    }
  }

  /** Colours are read from CSS variables at creation, so a theme change recreates the charts. */
  restyle(): void {
    // A copy: re-creating re-inserts each entry, which a live iteration would visit again.
    for (const [spec, plot] of [...this.plots]) {
      plot.destroy();
      this.plots.delete(spec);
      this.create(spec);
    }
  }

  private create(spec: ChartSpec): void {
    const container = byId(spec.containerId);
    const width = Math.max(container.clientWidth, 200);
    this.plots.set(
      spec,
      new uPlot(
        options(spec, width, () => this.windowSeconds),
        columns(spec, this.series, this.windowSeconds),
        container,
      ),
    );
  }

  private resize(container: Element): void {
    const spec = CHARTS.find((s) => s.containerId === container.id);
    const plot = spec === undefined ? undefined : this.plots.get(spec);
    if (plot === undefined) return;
    const width = Math.max(container.clientWidth, 200);
    // The legend below the canvas changes the container's height, never its width: no loop.
    if (width !== plot.width) plot.setSize({ width, height: heightFor(width) });
  }
}
