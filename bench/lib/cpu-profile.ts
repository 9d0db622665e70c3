/**
 * Aggregation of a V8 `.cpuprofile` (what `node --cpu-prof` writes) into the
 * categories issue 16 asks about: warmroute's modules by directory, the
 * packages and Node internals around them, GC. Pure functions over the
 * parsed JSON, so test/unit/bench-cpu-profile.test.ts can feed a hand-made
 * profile.
 *
 * A sample's weight is its `timeDeltas` entry (µs since the previous
 * sample), attributed as self time to the sampled node. V8 does not show C++
 * builtins (JSON.parse, crypto bindings, socket writes) as frames of their
 * own: their time is self time of the JavaScript function that called them.
 * bench/profile-gateway.ts therefore preloads JSON_SHIM_SOURCE, which
 * replaces JSON.parse/stringify with plain wrappers so their cost becomes
 * the wrappers' self time.
 */

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber?: number;
  readonly columnNumber?: number;
  readonly scriptId?: string | number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** µs on the system's monotonic clock (the one process.hrtime reads). */
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A span of the monotonic clock in µs, end exclusive. */
export interface TimeWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export const IDLE = '(idle)';
export const GC = '(garbage collector)';
export const PROGRAM = '(program, native outside JavaScript)';
export const JSON_CATEGORY = 'JSON.parse / JSON.stringify';
/** Basename of the preloaded shim; frames from it are JSON_CATEGORY. */
export const JSON_SHIM_FILE = 'json-shim.mjs';

/** Wrappers whose self time is the builtins' cost (see the header). */
export const JSON_SHIM_SOURCE = `const builtinParse = JSON.parse;
const builtinStringify = JSON.stringify;
JSON.parse = function jsonParse(text, reviver) {
  return reviver === undefined ? builtinParse(text) : builtinParse(text, reviver);
};
JSON.stringify = function jsonStringify(value, replacer, space) {
  return builtinStringify(value, replacer, space);
};
`;

/** Warmroute directories, most specific first; matched against the path after `/src/`. */
const WARMROUTE_DIRS: readonly (readonly [prefix: string, category: string])[] = [
  ['http/', 'warmroute src/http'],
  ['invoker/', 'warmroute src/invoker'],
  ['scheduler/', 'warmroute src/scheduler'],
  ['directory/', 'warmroute src/directory'],
  ['backend/fast-path/', 'warmroute src/backend/fast-path'],
  ['backend/', 'warmroute src/backend'],
  ['metrics/hot-metrics', 'warmroute hot-metrics'],
  ['hot-metrics', 'warmroute hot-metrics'],
  ['redis/', 'warmroute src/redis'],
];

export const WARMROUTE_OTHER = 'warmroute src (other)';

const FASTIFY = 'fastify (+ find-my-way, avvio, light-my-request, @fastify/*)';
const AWS = '@smithy / @aws-sdk (signing, SDK)';

/** Packages by name (the folder after the last node_modules/). Unlisted ones get `pkg <name>`. */
const PACKAGES: Readonly<Record<string, string>> = {
  fastify: FASTIFY,
  'find-my-way': FASTIFY,
  'light-my-request': FASTIFY,
  avvio: FASTIFY,
  fastq: FASTIFY,
  'fast-json-stringify': FASTIFY,
  'secure-json-parse': FASTIFY,
  'toad-cache': FASTIFY,
  'fast-querystring': FASTIFY,
  'fast-decode-uri-component': FASTIFY,
  'process-warning': FASTIFY,
  'abstract-logging': FASTIFY,
  undici: 'undici',
  'prom-client': 'prom-client',
  tdigest: 'prom-client',
  bintrees: 'prom-client',
  ioredis: 'ioredis',
  'redis-parser': 'ioredis',
  denque: 'ioredis',
  'cluster-key-slot': 'ioredis',
  'standard-as-callback': 'ioredis',
  pino: 'pino',
  'pino-std-serializers': 'pino',
  'sonic-boom': 'pino',
  'fast-redact': 'pino',
  'quick-format-unescaped': 'pino',
  'safe-stable-stringify': 'pino',
  'thread-stream': 'pino',
};

const SCOPES: Readonly<Record<string, string>> = {
  '@fastify': FASTIFY,
  '@smithy': AWS,
  '@aws-sdk': AWS,
  '@aws-crypto': AWS,
  '@ioredis': 'ioredis',
};

const NODE_HTTP_NET = 'node http/net internals';
export const SOCKET_WRITES = 'socket writes (native writev/write: syscalls, loopback TCP)';
const NODE_BUFFER = 'node buffer';
const NODE_ASYNC = 'node stream/events/timers/process (async plumbing)';

/**
 * Frames without a URL are V8 builtins or C++ functions bound into
 * JavaScript; the ones that matter on the request path are named here.
 */
function nativeCategory(functionName: string): string {
  if (SOCKET_WRITE_NATIVES.has(functionName)) return SOCKET_WRITES;
  if (functionName === 'runMicrotasks') return NODE_ASYNC;
  // Ajv's compiled validators (Fastify's schemas) are built with new Function.
  if (/^validate\d*$/.test(functionName)) return FASTIFY;
  if (
    /^(latin1|utf8|ucs2|ascii|hex|base64|base64url)(Slice|Write)$|^byteLengthUtf8$|^compare$|^copy$|^fill$/.test(
      functionName,
    )
  ) {
    return NODE_BUFFER;
  }
  return '(no url: V8 builtins, natives)';
}

const SOCKET_WRITE_NATIVES: ReadonlySet<string> = new Set([
  'writev',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
  'writeUcs2String',
  'shutdown',
]);

function nodeCategory(id: string): string {
  // id is the part after `node:`, e.g. `internal/streams/readable`, `_http_server`.
  const name = id.startsWith('internal/') ? id.slice('internal/'.length) : id;
  if (
    name.startsWith('http') ||
    name.startsWith('_http_') ||
    name === 'net' ||
    name.startsWith('net') ||
    name.startsWith('stream_base_commons') ||
    name.startsWith('dns') ||
    name.startsWith('tcp')
  ) {
    return NODE_HTTP_NET;
  }
  if (name === 'crypto' || name.startsWith('crypto/')) return 'node:crypto';
  if (name === 'buffer') return NODE_BUFFER;
  if (
    name === 'stream' ||
    name.startsWith('streams/') ||
    name === 'events' ||
    name.startsWith('event_target') ||
    name.startsWith('events/') ||
    name === 'timers' ||
    name.startsWith('timers') ||
    name.startsWith('process/') ||
    name === 'process' ||
    name.startsWith('async_hooks') ||
    name.startsWith('abort_controller')
  ) {
    return NODE_ASYNC;
  }
  return 'node (other internals)';
}

/** The category of one frame, or IDLE for the idle pseudo-frame (left out of totals). */
export function categorize(frame: CallFrame): string {
  const { functionName, url } = frame;
  if (url === '') {
    if (functionName === '(idle)') return IDLE;
    if (functionName === '(garbage collector)') return GC;
    if (functionName === '(program)') return PROGRAM;
    if (functionName === 'JSON.parse' || functionName === 'JSON.stringify') return JSON_CATEGORY;
    if (functionName === '(root)') return '(root)';
    return nativeCategory(functionName);
  }
  if (url.endsWith(`/${JSON_SHIM_FILE}`)) return JSON_CATEGORY;
  // undici parses HTTP responses with llhttp compiled to WebAssembly (the only wasm here).
  if (url.startsWith('wasm://')) return 'undici';
  if (url.startsWith('node:')) return nodeCategory(url.slice('node:'.length));
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    const first = parts[0] ?? '';
    if (first.startsWith('@')) {
      return SCOPES[first] ?? `pkg ${first}/${parts[1] ?? ''}`;
    }
    return PACKAGES[first] ?? `pkg ${first}`;
  }
  const src = path.lastIndexOf('/src/');
  if (src >= 0) {
    const rest = path.slice(src + '/src/'.length);
    for (const [prefix, category] of WARMROUTE_DIRS) {
      if (rest.startsWith(prefix)) return category;
    }
    return WARMROUTE_OTHER;
  }
  if (path.includes('/bench/')) return 'bench harness (server script)';
  return 'other scripts';
}

export function isWarmroute(category: string): boolean {
  return category.startsWith('warmroute ');
}

export interface FunctionCost {
  readonly functionName: string;
  readonly url: string;
  /** 1-based, as editors show it. */
  readonly line: number;
  readonly category: string;
  readonly selfUs: number;
  readonly selfSamples: number;
}

export interface ProfileSummary {
  /** Sampled time inside the windows, idle included (µs). */
  readonly sampledUs: number;
  readonly idleUs: number;
  /** sampledUs - idleUs. */
  readonly busyUs: number;
  readonly samples: number;
  /** Samples other than idle. */
  readonly busySamples: number;
  /** Self time by category, idle left out. */
  readonly selfUs: ReadonlyMap<string, number>;
  /**
   * Time of samples with a frame of the warmroute category anywhere on the
   * stack (callees included), each sample counted once per category.
   */
  readonly inclusiveUs: ReadonlyMap<string, number>;
  /** The same two maps counting samples instead of their time deltas. */
  readonly selfSamples: ReadonlyMap<string, number>;
  readonly inclusiveSamples: ReadonlyMap<string, number>;
  /** Self time by function (name, url, line), largest first, idle left out. */
  readonly functions: readonly FunctionCost[];
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

/**
 * Self time by category (and warmroute inclusive time) of the samples whose
 * timestamps fall inside any of `windows` (all samples when none is given).
 */
export function aggregate(profile: CpuProfile, windows?: readonly TimeWindow[]): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const categoryOf = new Map<number, string>();
  for (const node of profile.nodes) categoryOf.set(node.id, categorize(node.callFrame));

  // The warmroute categories on each node's stack, memoized along the parent chain.
  const stackSets = new Map<number, ReadonlySet<string>>();
  const warmrouteOnStack = (id: number): ReadonlySet<string> => {
    const chain: number[] = [];
    let cursor: number | undefined = id;
    while (cursor !== undefined && !stackSets.has(cursor)) {
      chain.push(cursor);
      cursor = parent.get(cursor);
    }
    let set: ReadonlySet<string> =
      cursor === undefined ? new Set() : (stackSets.get(cursor) ?? new Set());
    for (let i = chain.length - 1; i >= 0; i--) {
      const nodeId = chain[i] as number;
      const category = categoryOf.get(nodeId) ?? '';
      if (isWarmroute(category) && !set.has(category)) set = new Set([...set, category]);
      stackSets.set(nodeId, set);
    }
    return set;
  };

  const inside =
    windows === undefined || windows.length === 0
      ? () => true
      : (t: number) => windows.some((w) => t >= w.fromUs && t < w.toUs);

  const selfByNode = new Map<number, { us: number; n: number }>();
  let sampledUs = 0;
  let idleUs = 0;
  let samples = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (!inside(t)) continue;
    const id = profile.samples[i] as number;
    samples++;
    sampledUs += delta;
    if (categoryOf.get(id) === IDLE) {
      idleUs += delta;
      continue;
    }
    const prev = selfByNode.get(id);
    if (prev === undefined) selfByNode.set(id, { us: delta, n: 1 });
    else {
      prev.us += delta;
      prev.n += 1;
    }
  }

  const selfUs = new Map<string, number>();
  const inclusiveUs = new Map<string, number>();
  const selfSamples = new Map<string, number>();
  const inclusiveSamples = new Map<string, number>();
  let busySamples = 0;
  const byFunction = new Map<string, FunctionCost>();
  for (const [id, { us, n }] of selfByNode) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const category = categoryOf.get(id) ?? '';
    busySamples += n;
    add(selfUs, category, us);
    add(selfSamples, category, n);
    for (const c of warmrouteOnStack(id)) {
      add(inclusiveUs, c, us);
      add(inclusiveSamples, c, n);
    }
    const { functionName, url, lineNumber = -1 } = node.callFrame;
    const key = `${functionName}\u0000${url}\u0000${lineNumber}`;
    const prev = byFunction.get(key);
    byFunction.set(key, {
      functionName: functionName === '' ? '(anonymous)' : functionName,
      url,
      line: lineNumber + 1,
      category,
      selfUs: (prev?.selfUs ?? 0) + us,
      selfSamples: (prev?.selfSamples ?? 0) + n,
    });
  }
  const functions = [...byFunction.values()].sort((a, b) => b.selfUs - a.selfUs);
  return {
    sampledUs,
    idleUs,
    busyUs: sampledUs - idleUs,
    samples,
    busySamples,
    selfUs,
    inclusiveUs,
    selfSamples,
    inclusiveSamples,
    functions,
  };
}

export interface CategoryRow {
  readonly category: string;
  readonly usPerRequest: number;
  readonly share: number;
}

/** How a sample counts: its time delta, or one (see perRequest). */
export type SampleWeight = 'time' | 'samples';

/**
 * Self (or warmroute inclusive) time by category in µs per request, largest
 * first. With `cpuUs` (the thread's CPU time over the same windows, from
 * /proc) each category gets its share of the busy samples times `cpuUs`.
 *
 * Weighting by `samples` (each busy sample counts one) is the estimate of
 * CPU shares to use on a busy machine: V8 samples on a wall clock, and a
 * thread preempted for a few ms (a socket write that wakes the peer on a
 * shared core) records one sample with a long time delta when it resumes,
 * so weighting by `time` charges the wait to whatever was running. It
 * needs `cpuUs`. Without `cpuUs`, `time` divides the busy sampled time.
 */
export function perRequest(
  summary: ProfileSummary,
  requests: number,
  options: { cpuUs?: number; source?: 'self' | 'inclusive'; weight?: SampleWeight } = {},
): CategoryRow[] {
  const { cpuUs, source = 'self', weight = 'time' } = options;
  if (weight === 'samples' && cpuUs === undefined) {
    throw new Error('weighting by samples needs the CPU time to scale to');
  }
  const busy = weight === 'time' ? summary.busyUs : summary.busySamples;
  if (requests <= 0 || busy <= 0) return [];
  const scale = (cpuUs ?? busy) / busy;
  const map =
    weight === 'time'
      ? source === 'self'
        ? summary.selfUs
        : summary.inclusiveUs
      : source === 'self'
        ? summary.selfSamples
        : summary.inclusiveSamples;
  return [...map]
    .map(([category, w]) => ({
      category,
      usPerRequest: (w * scale) / requests,
      share: w / busy,
    }))
    .sort((a, b) => b.usPerRequest - a.usPerRequest);
}
