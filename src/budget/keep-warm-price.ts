/**
 * What a cold start and a keep-warm ping cost, in integer picodollars: the
 * terms of the bench's keep-warm cost model (bench/lib/keep-warm-cost.ts
 * imports them from here, so the gateway's decisions and the bench's bound
 * are priced alike).
 *
 * - A cold start = memoryGb × `coldStartPricePerGb` (the tenant-environment
 *   charge) + memoryGb × (`initMs` + `rehydrateMs`) / 1000 ×
 *   `durationPricePerGbSecond`: Lambda bills init and the handler's
 *   rehydration as duration.
 * - A ping = `requestPrice` + memoryGb × `pingBilledMs` / 1000 ×
 *   `durationPricePerGbSecond` (1 ms: Lambda's minimum billed duration; the
 *   library answers a ping without running the handler).
 *
 * Picodollars because a ping is about 0.2 µUSD: each unit price is rounded
 * once, and sums and comparisons after that are exact integer arithmetic.
 */

export const PICO_PER_USD = 1e12;

export interface KeepWarmPriceOptions {
  /** Configured function memory (MB). */
  readonly memoryMb: number;
  /** Billed init time of a new environment (ms). */
  readonly initMs: number;
  /** Billed time the handler spends rehydrating a key's state after a cold start (ms). */
  readonly rehydrateMs: number;
  /** USD per GB of memory for each new tenant environment. Default 0.000167. */
  readonly coldStartPricePerGb?: number;
  /** USD per GB-second of billed duration. Default 0.0000166667. */
  readonly durationPricePerGbSecond?: number;
  /** USD per invocation. Default 0.0000002. */
  readonly requestPrice?: number;
  /** Billed duration of one keep-warm ping (ms). Default 1. */
  readonly pingBilledMs?: number;
}

export interface KeepWarmPrice {
  /** One cold start of a key: the environment charge, init and rehydration (integer pUSD). */
  readonly coldStartPico: number;
  /** One keep-warm ping (integer pUSD). */
  readonly pingPico: number;
}

/** Every bad value in the options, one message each (empty when they are all usable). */
export function keepWarmPriceProblems(options: KeepWarmPriceOptions): string[] {
  const problems: string[] = [];
  const nonNegative = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      problems.push(`${name} must be a finite number ≥ 0, got ${v}`);
  };
  if (!(Number.isFinite(options.memoryMb) && options.memoryMb > 0))
    problems.push(`memoryMb must be a finite number > 0, got ${options.memoryMb}`);
  nonNegative('initMs', options.initMs);
  nonNegative('rehydrateMs', options.rehydrateMs);
  nonNegative('coldStartPricePerGb', options.coldStartPricePerGb);
  nonNegative('durationPricePerGbSecond', options.durationPricePerGbSecond);
  nonNegative('requestPrice', options.requestPrice);
  nonNegative('pingBilledMs', options.pingBilledMs);
  return problems;
}

/** Resolves the prices; every bad value is reported in one RangeError. */
export function keepWarmPrice(options: KeepWarmPriceOptions): KeepWarmPrice {
  const problems = keepWarmPriceProblems(options);
  if (problems.length > 0) throw new RangeError(`keep-warm price: ${problems.join('; ')}`);
  const coldStartPricePerGb = options.coldStartPricePerGb ?? 0.000167;
  const durationPrice = options.durationPricePerGbSecond ?? 0.0000166667;
  const requestPrice = options.requestPrice ?? 0.0000002;
  const pingBilledMs = options.pingBilledMs ?? 1;
  const memoryGb = options.memoryMb / 1024;
  const coldStartUsd =
    memoryGb * coldStartPricePerGb +
    ((memoryGb * (options.initMs + options.rehydrateMs)) / 1000) * durationPrice;
  const pingUsd = requestPrice + ((memoryGb * pingBilledMs) / 1000) * durationPrice;
  return Object.freeze({
    coldStartPico: Math.round(coldStartUsd * PICO_PER_USD),
    pingPico: Math.round(pingUsd * PICO_PER_USD),
  });
}
