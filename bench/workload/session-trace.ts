import { mulberry32 } from './prng.js';
import { zipfSampler } from './zipf.js';

/**
 * A seeded session trace: timed arrivals of keyed requests, for the
 * tenant-budget / idle-reclaim / keep-warm bench (issue 18). Unlike the Zipf
 * trace (an order of keys fed to a closed loop), every request here has a
 * time: the bench fires it at `atMs` whether or not earlier ones answered,
 * because idle reclaim and keep-warm are about time, not order.
 *
 * The model, with every parameter and its default (T = `idleReclaimMs`):
 *
 * - Sessions start as a Poisson process of rate `sessionsPerSecond`
 *   (default 2): exponential gaps between session starts. `sessions`
 *   (default 2,000) sessions in all.
 * - Each session belongs to one key drawn from a population of `keys`
 *   (default 5,000) keys by Zipf(`keyZipfS`) (default 0.7: a mild skew).
 *   Keys come back across sessions (returning users), mostly long after T;
 *   two sessions of one key may overlap and their requests simply merge.
 * - A session is one or more segments. A segment is a run of requests whose
 *   count is geometric with mean `meanRequestsPerSegment` (default 8, at
 *   least 1, at most `maxRequestsPerSegment`, default 50), separated by
 *   think times drawn lognormal with median `thinkMedianMs` (default T / 40)
 *   and log-sd `thinkSigma` (default 1), rounded to whole ms and clamped to
 *   [1, `thinkMaxMs`] (default T / 2): think times never reach the reclaim
 *   time, so within a segment a key stays warm.
 * - After a segment, the session resumes with probability
 *   `resumeProbability` (default 0.5), at most `maxResumes` times (default
 *   3), after a pause. With probability `nearPauseShare` (default 0.5) the
 *   pause is uniform in `nearPauseFactor` × T (default [1.1, 1.6] × T: just
 *   past the reclaim time, where one keep-warm ping saves a cold start),
 *   otherwise uniform in `farPauseFactor` × T (default [2.5, 8] × T: well
 *   past it, where keeping warm takes several pings). Pauses are rounded to
 *   whole ms.
 *
 * Keys alive (an environment reclaimed T after its key's last request) come
 * to about `sessionsPerSecond` × (mean session span + T) at steady state:
 * with the defaults (T = 10 min), a peak of about 1,000; at T = 10 s with
 * 3,000 sessions at 20/s, about 420. The bench sets its cap well under
 * `summary.peakKeysAlive`.
 *
 * Why these defaults: a key's first request is a cold start whatever any
 * router does, so the share of cold starts that keep-warm can remove is set
 * by resumes and returning keys. First requests are about 47 % of the cold
 * starts with no keep-warm at the defaults and about 40 % at T = 10 s, 3,000
 * sessions at 20/s (seeds 1–3); fewer resumes or more keys push that floor
 * up (0.35 resumes, at most 2, and 20,000 keys: 57 %), and no policy can
 * cut cold starts below it.
 *
 * Times are whole milliseconds from 0; the same options (seed included) give
 * the same trace.
 */
export interface SessionTraceOptions {
  readonly seed: number;
  /** T: the environment idle reclaim time the pauses are placed around (ms). Default 600,000. */
  readonly idleReclaimMs?: number;
  /** Number of sessions. Default 2,000. */
  readonly sessions?: number;
  /** Poisson rate of session starts. Default 2. */
  readonly sessionsPerSecond?: number;
  /** Key population sessions are drawn from. Default 5,000. */
  readonly keys?: number;
  /** Zipf exponent over the key population (0: uniform). Default 0.7. */
  readonly keyZipfS?: number;
  /** Mean requests per segment (geometric, ≥ 1). Default 8. */
  readonly meanRequestsPerSegment?: number;
  /** Cap on requests per segment. Default 50. */
  readonly maxRequestsPerSegment?: number;
  /** Median think time between requests of a segment (ms). Default T / 40. */
  readonly thinkMedianMs?: number;
  /** Log-sd of the lognormal think time. Default 1. */
  readonly thinkSigma?: number;
  /** Longest think time (ms); must stay under T. Default T / 2. */
  readonly thinkMaxMs?: number;
  /** Chance a session resumes after each segment. Default 0.5. */
  readonly resumeProbability?: number;
  /** Most resumes per session. Default 3. */
  readonly maxResumes?: number;
  /** Share of pauses drawn from `nearPauseFactor`. Default 0.5. */
  readonly nearPauseShare?: number;
  /** [min, max] of a near pause, in multiples of T. Default [1.1, 1.6]. */
  readonly nearPauseFactor?: readonly [number, number];
  /** [min, max] of a far pause, in multiples of T. Default [2.5, 8]. */
  readonly farPauseFactor?: readonly [number, number];
}

export interface SessionArrival {
  /** When the request is sent, ms from the start of the trace (integer). */
  readonly atMs: number;
  /** Key index in [0, keys). */
  readonly key: number;
  /** Index of the session that sent it, in session-start order. */
  readonly session: number;
}

export interface SessionTraceSummary {
  /** Distinct keys that sent at least one request. */
  readonly keys: number;
  readonly requests: number;
  readonly sessions: number;
  /** Pauses (resumes) in all, and how many were near / far. */
  readonly pauses: number;
  readonly nearPauses: number;
  readonly farPauses: number;
  /** Time of the last request (ms). */
  readonly spanMs: number;
  /**
   * Most keys alive at once, a key being alive from a request until T after
   * its last request (inclusive: a gap of exactly T finds it warm). What an
   * uncapped host with idle reclaim T would hold.
   */
  readonly peakKeysAlive: number;
  /** Time-weighted mean of keys alive over [first request, last request + T]. */
  readonly meanKeysAlive: number;
}

export interface SessionTrace {
  /** Sorted by `atMs`; ties keep generation order. */
  readonly arrivals: readonly SessionArrival[];
  readonly summary: SessionTraceSummary;
}

interface ResolvedOptions {
  readonly seed: number;
  readonly idleReclaimMs: number;
  readonly sessions: number;
  readonly sessionsPerSecond: number;
  readonly keys: number;
  readonly keyZipfS: number;
  readonly meanRequestsPerSegment: number;
  readonly maxRequestsPerSegment: number;
  readonly thinkMedianMs: number;
  readonly thinkSigma: number;
  readonly thinkMaxMs: number;
  readonly resumeProbability: number;
  readonly maxResumes: number;
  readonly nearPauseShare: number;
  readonly nearPauseFactor: readonly [number, number];
  readonly farPauseFactor: readonly [number, number];
}

/** Defaults filled in, and every bad value reported in one RangeError. */
function resolveSessionTraceOptions(options: SessionTraceOptions): ResolvedOptions {
  const idleReclaimMs = options.idleReclaimMs ?? 600_000;
  const resolved: ResolvedOptions = {
    seed: options.seed,
    idleReclaimMs,
    sessions: options.sessions ?? 2_000,
    sessionsPerSecond: options.sessionsPerSecond ?? 2,
    keys: options.keys ?? 5_000,
    keyZipfS: options.keyZipfS ?? 0.7,
    meanRequestsPerSegment: options.meanRequestsPerSegment ?? 8,
    maxRequestsPerSegment: options.maxRequestsPerSegment ?? 50,
    thinkMedianMs: options.thinkMedianMs ?? idleReclaimMs / 40,
    thinkSigma: options.thinkSigma ?? 1,
    thinkMaxMs: options.thinkMaxMs ?? Math.floor(idleReclaimMs / 2),
    resumeProbability: options.resumeProbability ?? 0.5,
    maxResumes: options.maxResumes ?? 3,
    nearPauseShare: options.nearPauseShare ?? 0.5,
    nearPauseFactor: options.nearPauseFactor ?? [1.1, 1.6],
    farPauseFactor: options.farPauseFactor ?? [2.5, 8],
  };
  const problems: string[] = [];
  const positiveInt = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min)
      problems.push(`${name} must be an integer ≥ ${min}, got ${v}`);
  };
  const finite = (name: string, v: number, min: number, minInclusive: boolean): void => {
    const ok = Number.isFinite(v) && (minInclusive ? v >= min : v > min);
    if (!ok)
      problems.push(`${name} must be a finite number ${minInclusive ? '≥' : '>'} ${min}, got ${v}`);
  };
  const probability = (name: string, v: number): void => {
    if (!(v >= 0 && v <= 1)) problems.push(`${name} must be in [0, 1], got ${v}`);
  };
  const range = (name: string, r: readonly [number, number]): void => {
    if (!(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] > 0 && r[0] <= r[1]))
      problems.push(`${name} must be [min, max] with 0 < min ≤ max, got [${r[0]}, ${r[1]}]`);
  };
  if (!Number.isFinite(resolved.seed))
    problems.push(`seed must be a finite number, got ${resolved.seed}`);
  positiveInt('idleReclaimMs', resolved.idleReclaimMs, 2);
  positiveInt('sessions', resolved.sessions, 0);
  finite('sessionsPerSecond', resolved.sessionsPerSecond, 0, false);
  positiveInt('keys', resolved.keys, 1);
  finite('keyZipfS', resolved.keyZipfS, 0, true);
  finite('meanRequestsPerSegment', resolved.meanRequestsPerSegment, 1, true);
  positiveInt('maxRequestsPerSegment', resolved.maxRequestsPerSegment, 1);
  finite('thinkMedianMs', resolved.thinkMedianMs, 0, false);
  finite('thinkSigma', resolved.thinkSigma, 0, true);
  positiveInt('thinkMaxMs', resolved.thinkMaxMs, 1);
  // A think time at or past T would make a "session" look like a resume.
  if (Number.isSafeInteger(resolved.thinkMaxMs) && resolved.thinkMaxMs >= resolved.idleReclaimMs)
    problems.push(
      `thinkMaxMs must be < idleReclaimMs (${resolved.idleReclaimMs}), got ${resolved.thinkMaxMs}`,
    );
  probability('resumeProbability', resolved.resumeProbability);
  positiveInt('maxResumes', resolved.maxResumes, 0);
  probability('nearPauseShare', resolved.nearPauseShare);
  range('nearPauseFactor', resolved.nearPauseFactor);
  range('farPauseFactor', resolved.farPauseFactor);
  if (problems.length > 0) throw new RangeError(`session trace: ${problems.join('; ')}`);
  return resolved;
}

/** Generates the trace described in the module comment. */
export function generateSessionTrace(options: SessionTraceOptions): SessionTrace {
  const o = resolveSessionTraceOptions(options);
  const random = mulberry32(o.seed);
  const nextKey = zipfSampler(o.keys, o.keyZipfS, random);
  const t = o.idleReclaimMs;
  // Geometric on {1, 2, …} with mean m: success probability 1 / m.
  const logFail = o.meanRequestsPerSegment > 1 ? Math.log(1 - 1 / o.meanRequestsPerSegment) : 0;
  const segmentLength = (): number => {
    if (logFail === 0) return 1;
    const n = 1 + Math.floor(Math.log(1 - random()) / logFail);
    return Math.min(n, o.maxRequestsPerSegment);
  };
  const thinkMs = (): number => {
    // Box–Muller; 1 − u keeps the log argument in (0, 1].
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const ms = Math.round(o.thinkMedianMs * Math.exp(o.thinkSigma * z));
    return Math.min(Math.max(ms, 1), o.thinkMaxMs);
  };
  const uniformMs = (range: readonly [number, number]): number =>
    Math.round(t * (range[0] + (range[1] - range[0]) * random()));
  const meanSessionGapMs = 1000 / o.sessionsPerSecond;

  const arrivals: SessionArrival[] = [];
  let nearPauses = 0;
  let farPauses = 0;
  let clock = 0;
  for (let session = 0; session < o.sessions; session++) {
    clock += -Math.log(1 - random()) * meanSessionGapMs;
    const key = nextKey();
    let at = Math.round(clock);
    for (let segment = 0; ; segment++) {
      const n = segmentLength();
      for (let i = 0; i < n; i++) {
        if (i > 0) at += thinkMs();
        arrivals.push({ atMs: at, key, session });
      }
      if (segment >= o.maxResumes || !(random() < o.resumeProbability)) break;
      if (random() < o.nearPauseShare) {
        nearPauses++;
        at += uniformMs(o.nearPauseFactor);
      } else {
        farPauses++;
        at += uniformMs(o.farPauseFactor);
      }
    }
  }
  // Stable sort: ties keep generation order, so the trace is a function of the seed.
  arrivals.sort((a, b) => a.atMs - b.atMs);
  return {
    arrivals,
    summary: {
      ...aliveStats(arrivals, t),
      requests: arrivals.length,
      sessions: o.sessions,
      pauses: nearPauses + farPauses,
      nearPauses,
      farPauses,
      spanMs: arrivals.length > 0 ? (arrivals[arrivals.length - 1]?.atMs ?? 0) : 0,
    },
  };
}

/**
 * Distinct keys, and keys alive at peak / on average when each request keeps
 * its key alive for `idleReclaimMs` (closed interval). `arrivals` must be
 * sorted by time.
 */
export function aliveStats(
  arrivals: readonly { readonly atMs: number; readonly key: number | string }[],
  idleReclaimMs: number,
): { keys: number; peakKeysAlive: number; meanKeysAlive: number } {
  // Per key, merge [at, at + T] intervals into maximal alive spans.
  const open = new Map<number | string, { start: number; end: number }>();
  const events: { at: number; delta: number }[] = [];
  let keys = 0;
  for (const { atMs, key } of arrivals) {
    const span = open.get(key);
    if (span === undefined) keys++;
    if (span !== undefined && atMs <= span.end) {
      span.end = atMs + idleReclaimMs;
      continue;
    }
    if (span !== undefined) events.push({ at: span.start, delta: 1 }, { at: span.end, delta: -1 });
    open.set(key, { start: atMs, end: atMs + idleReclaimMs });
  }
  for (const span of open.values())
    events.push({ at: span.start, delta: 1 }, { at: span.end, delta: -1 });
  // Starts before ends at equal times: spans are closed, so touching spans overlap.
  events.sort((a, b) => a.at - b.at || b.delta - a.delta);
  let alive = 0;
  let peak = 0;
  let area = 0;
  let last = events[0]?.at ?? 0;
  for (const e of events) {
    area += alive * (e.at - last);
    last = e.at;
    alive += e.delta;
    if (alive > peak) peak = alive;
  }
  const first = events[0]?.at ?? 0;
  const window = last - first;
  return { keys, peakKeysAlive: peak, meanKeysAlive: window > 0 ? area / window : 0 };
}
