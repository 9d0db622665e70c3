import type { Backend, InvokeRequest, InvokeResult } from '../../src/backend/backend.js';
import type { FunctionSettings } from '../../src/config/function-settings.js';
import { createAffinityInvoker, type DirectoryPort } from '../../src/invoker/affinity-invoker.js';
import type { InvocationState } from '../../lambda/protocol.js';
import { createMetrics } from '../../src/metrics.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { configSchedulerSettings } from './scheduler-settings.js';

/**
 * The invoker with the real metrics and scheduler, an in-test directory port
 * (records outcomes) and a backend whose answer each test scripts: a unit
 * harness for what the invoker makes of what functions report. Wire-level
 * behaviour is tested against real servers elsewhere.
 */

export interface RecordedOutcome {
  readonly key: string;
  readonly envId: string;
  readonly state: InvocationState;
  readonly stateVersion?: number | undefined;
  readonly functionName?: string | undefined;
}

/** What the invoker asked the directory to resolve. */
export interface RecordedResolve {
  readonly key: string;
  readonly functionName?: string | undefined;
}

export function invokerFixture(
  options: {
    functions?: Record<string, FunctionSettings>;
    backend?: Backend;
    /** Ask the backend for log tails (the config's `logTail`); default false. */
    logTail?: boolean;
  } = {},
) {
  const metrics = createMetrics({ defaultMetrics: false, coldStartPricePerGb: 0.0001 });
  const outcomes: RecordedOutcome[] = [];
  const resolves: RecordedResolve[] = [];
  const directory: DirectoryPort = {
    resolve: (key, options) => {
      resolves.push({ key, functionName: options?.functionName });
      return Promise.resolve({
        tenantId: 'tenant-1',
        generation: 0,
        stateVersion: 0,
        source: 'store',
        mode: options?.mode ?? 'affinity',
        state: { namespace: 'default', epoch: 'fixture-epoch', generation: 0, key },
      });
    },
    recordOutcome: (key, outcome) => {
      outcomes.push({ key, ...outcome });
    },
  };
  let answer: (request: InvokeRequest) => InvokeResult = () => ({
    payload: new Uint8Array(0),
    attempts: 1,
    durationMs: 0,
  });
  const backend: Backend = options.backend ?? {
    invoke: (request) => Promise.resolve(answer(request)),
    close: () => Promise.resolve(),
  };
  const invoker = createAffinityInvoker({
    directory,
    scheduler: createScheduler(configSchedulerSettings),
    backend,
    metrics,
    functions: options.functions ?? {},
    logTail: options.logTail ?? false,
  });
  return {
    metrics,
    outcomes,
    resolves,
    invoker,
    /** Script the backend's next answers. */
    answer(fn: (request: InvokeRequest) => InvokeResult): void {
      answer = fn;
    },
    invoke(functionName: string, key = 'k1') {
      return invoker.invoke({
        functionName,
        key,
        mode: 'affinity',
        route: 'rpc',
        payload: new TextEncoder().encode('{}'),
        deadline: Date.now() + 10_000,
      });
    },
  };
}

const enc = new TextEncoder();

/** A function's answer through the warm-state library: the envelope with this report. */
export function envelope(report: unknown, result: unknown = { ok: true }): InvokeResult {
  // Built by hand (not JSON.stringify of an object) so any report value, even a
  // non-object, lands first, where the gateway looks for it.
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  const reportJson = JSON.stringify(report) as string | undefined;
  const text = `{"warmroute/v1":${reportJson === undefined ? 'null' : reportJson},"result":${JSON.stringify(result)}}`;
  return { payload: enc.encode(text), attempts: 1, durationMs: 1 };
}

/** A failed function: Lambda's HTTP 200 with X-Amz-Function-Error and the runtime's error object. */
export function functionError(errorType: unknown): InvokeResult {
  return {
    payload: enc.encode(JSON.stringify({ errorType, errorMessage: 'boom', trace: [] })),
    functionError: 'Unhandled',
    attempts: 1,
    durationMs: 1,
  };
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/;

/**
 * Parses Prometheus text exposition (version 0.0.4) strictly: every line
 * must be a HELP/TYPE comment or a sample with well-formed labels, or this
 * throws. Returns the samples with label values unescaped.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest !== '') {
      const l = LABEL.exec(rest);
      if (l === null) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1]!] = l[2]!.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN')
      throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}
