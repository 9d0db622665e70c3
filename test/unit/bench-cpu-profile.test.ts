import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggregate,
  categorize,
  perRequest,
  SOCKET_WRITES,
  type CpuProfile,
  type ProfileNode,
} from '../../bench/lib/cpu-profile.js';

const DIST = 'file:///work/checkout/dist';
const NM = 'file:///work/checkout/node_modules';

const node = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9, columnNumber: 0, scriptId: String(id) },
  children,
});

/**
 * root ─ onRequest (fastify) ─ rpc handler (src/http) ─ invoke (src/invoker)
 *      │                                               ├ request (undici)
 *      │                                               └ sign (@smithy)
 *      ├ processTicksAndRejections (node async) ─ run (src/scheduler)
 *      ├ jsonParse (shim) · writev (native) · (garbage collector) · (program) · (idle)
 */
const NODES: ProfileNode[] = [
  node(1, '(root)', '', [2, 6, 8, 9, 10, 11, 12]),
  node(2, 'onRequest', `${NM}/fastify/lib/route.js`, [3]),
  node(3, 'handler', `${DIST}/src/http/routes/rpc.js`, [4]),
  node(4, 'invoke', `${DIST}/src/invoker/affinity-invoker.js`, [5, 13]),
  node(5, 'request', `${NM}/undici/lib/dispatcher/client.js`),
  node(6, 'processTicksAndRejections', 'node:internal/process/task_queues', [7]),
  node(7, 'run', `${DIST}/src/scheduler/scheduler.js`),
  node(8, 'jsonParse', 'file:///tmp/wr-profile-x/json-shim.mjs'),
  node(9, 'writev', ''),
  node(10, '(garbage collector)', ''),
  node(11, '(program)', ''),
  node(12, '(idle)', ''),
  node(13, 'sign', `${NM}/@smithy/signature-v4/dist-cjs/index.js`),
];

/** Each sample's id and its time delta in µs; starts at 1,000,000. */
const SAMPLES: [id: number, deltaUs: number][] = [
  [3, 100], // t = 1_000_100 handler (http)
  [4, 200], // invoker
  [5, 300], // undici
  [13, 50], // @smithy
  [7, 150], // scheduler
  [8, 40], // JSON
  [9, 60], // socket writes
  [10, 70], // GC
  [11, 30], // program
  [12, 1000], // idle: t = 1_002_000
  [2, 25], // fastify, t = 1_002_025
];

const PROFILE: CpuProfile = {
  nodes: NODES,
  startTime: 1_000_000,
  endTime: 1_002_025,
  samples: SAMPLES.map(([id]) => id),
  timeDeltas: SAMPLES.map(([, d]) => d),
};

describe('categorize', () => {
  it('sorts frames into warmroute directories, packages, node internals and V8 pseudo-frames', () => {
    // Prepare
    const cases: [string, string, string][] = [
      ['x', `${DIST}/src/backend/fast-path/fast-invoke.js`, 'warmroute src/backend/fast-path'],
      ['x', `${DIST}/src/backend/lambda-backend.js`, 'warmroute src/backend'],
      ['x', `${DIST}/src/hot-metrics.js`, 'warmroute hot-metrics'],
      ['x', `${DIST}/src/metrics/hot-metrics.js`, 'warmroute hot-metrics'],
      ['x', `${DIST}/src/directory/l1-cache.js`, 'warmroute src/directory'],
      ['x', `${DIST}/src/redis/keys.js`, 'warmroute src/redis'],
      ['x', `${DIST}/src/app.js`, 'warmroute src (other)'],
      [
        'x',
        `${NM}/find-my-way/index.js`,
        'fastify (+ find-my-way, avvio, light-my-request, @fastify/*)',
      ],
      [
        'x',
        `${NM}/@fastify/reply-from/index.js`,
        'fastify (+ find-my-way, avvio, light-my-request, @fastify/*)',
      ],
      ['x', `${NM}/@aws-sdk/core/dist-cjs/index.js`, '@smithy / @aws-sdk (signing, SDK)'],
      ['x', `${NM}/prom-client/lib/counter.js`, 'prom-client'],
      ['x', `${NM}/ioredis/built/Redis.js`, 'ioredis'],
      ['x', `${NM}/pino/pino.js`, 'pino'],
      ['x', `${NM}/lru-cache/dist/esm/index.js`, 'pkg lru-cache'],
      ['x', 'node:_http_server', 'node http/net internals'],
      ['x', 'node:internal/http', 'node http/net internals'],
      ['x', 'node:net', 'node http/net internals'],
      ['x', 'node:internal/streams/readable', 'node stream/events/timers/process (async plumbing)'],
      ['x', 'node:events', 'node stream/events/timers/process (async plumbing)'],
      ['x', 'node:internal/timers', 'node stream/events/timers/process (async plumbing)'],
      ['runMicrotasks', '', 'node stream/events/timers/process (async plumbing)'],
      ['hash', 'node:internal/crypto/hash', 'node:crypto'],
      ['JSON.parse', '', 'JSON.parse / JSON.stringify'],
      ['writeUtf8String', '', SOCKET_WRITES],
      ['validate11', '', 'fastify (+ find-my-way, avvio, light-my-request, @fastify/*)'],
      ['wasm-function[20]', 'wasm://wasm/00034eea', 'undici'],
      ['(idle)', '', '(idle)'],
    ];
    // Act
    const got = cases.map(([functionName, url]) => categorize({ functionName, url }));
    // Assess
    expect(got).toEqual(cases.map(([, , category]) => category));
  });
});

describe('aggregate and perRequest', () => {
  it('sums self time by category, leaves idle out, and divides by the requests', () => {
    // Act
    const summary = aggregate(PROFILE);
    const rows = perRequest(summary, 5);
    // Assess
    expect(summary.sampledUs).toBe(2025);
    expect(summary.idleUs).toBe(1000);
    expect(summary.busyUs).toBe(1025);
    const us = Object.fromEntries(rows.map((r) => [r.category, r.usPerRequest]));
    expect(us).toEqual({
      undici: 60,
      'warmroute src/invoker': 40,
      'warmroute src/scheduler': 30,
      'warmroute src/http': 20,
      '(garbage collector)': 14,
      [SOCKET_WRITES]: 12,
      '@smithy / @aws-sdk (signing, SDK)': 10,
      'JSON.parse / JSON.stringify': 8,
      '(program, native outside JavaScript)': 6,
      'fastify (+ find-my-way, avvio, light-my-request, @fastify/*)': 5,
    });
    // Sorted largest first; shares of the busy time add up to 1.
    expect(rows[0]?.category).toBe('undici');
    expect(rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1);
  });

  it('scales shares to the CPU time measured over the same windows', () => {
    // Act: 2,050 µs of CPU for the 1,025 µs busy sampled: every category doubles.
    const rows = perRequest(aggregate(PROFILE), 5, { cpuUs: 2050 });
    // Assess
    expect(rows.find((r) => r.category === 'undici')?.usPerRequest).toBe(120);
    expect(rows.reduce((s, r) => s + r.usPerRequest, 0)).toBeCloseTo(2050 / 5);
  });

  it('weighs every busy sample alike when asked to, scaled to the CPU time', () => {
    // Act: 10 busy samples, 1,000 µs of CPU over 5 requests: 20 µs per sample per request.
    const summary = aggregate(PROFILE);
    const rows = perRequest(summary, 5, { cpuUs: 1000, weight: 'samples' });
    const inclusive = perRequest(summary, 5, {
      cpuUs: 1000,
      weight: 'samples',
      source: 'inclusive',
    });
    // Assess
    expect(summary.busySamples).toBe(10);
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row.usPerRequest).toBeCloseTo(20);
    expect(Object.fromEntries(inclusive.map((r) => [r.category, r.usPerRequest]))).toEqual({
      'warmroute src/http': 80,
      'warmroute src/invoker': 60,
      'warmroute src/scheduler': 20,
    });
    expect(() => perRequest(summary, 5, { weight: 'samples' })).toThrow(/CPU time/);
  });

  it('counts only samples inside the windows', () => {
    // Act: the first window holds the samples at 1_000_100 and 1_000_300 (the next is at
    // 1_000_600), the second the one at 1_002_025 (idle at 1_002_000 is before it).
    const summary = aggregate(PROFILE, [
      { fromUs: 1_000_000, toUs: 1_000_301 },
      { fromUs: 1_002_001, toUs: 1_003_000 },
    ]);
    // Assess
    expect(summary.samples).toBe(3);
    expect(Object.fromEntries(summary.selfUs)).toEqual({
      'warmroute src/http': 100,
      'warmroute src/invoker': 200,
      'fastify (+ find-my-way, avvio, light-my-request, @fastify/*)': 25,
    });
  });

  it('gives warmroute directories inclusive time, callees included, once per sample', () => {
    // Act
    const rows = perRequest(aggregate(PROFILE), 1, { source: 'inclusive' });
    // Assess: http holds handler + invoke + undici + sign; invoker holds invoke + undici + sign.
    expect(Object.fromEntries(rows.map((r) => [r.category, r.usPerRequest]))).toEqual({
      'warmroute src/http': 650,
      'warmroute src/invoker': 550,
      'warmroute src/scheduler': 150,
    });
  });

  it('lists functions by self time with 1-based lines', () => {
    // Act
    const top = aggregate(PROFILE).functions[0];
    // Assess
    expect(top).toMatchObject({
      functionName: 'request',
      line: 10,
      category: 'undici',
      selfUs: 300,
    });
  });

  it('conserves time: categories plus idle add up to the sampled time for any profile', () => {
    const urls = [
      '',
      'node:internal/streams/writable',
      `${DIST}/src/scheduler/scheduler.js`,
      `${DIST}/src/http/routes/rpc.js`,
      `${NM}/undici/index.js`,
    ];
    const names = ['(idle)', '(program)', 'f', 'writev', '(garbage collector)'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(urls.length - 1), fc.nat(names.length - 1), fc.nat()), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 5000 })), { maxLength: 200 }),
        (shape, rawSamples) => {
          // Prepare: node i + 1's parent is any node before it (a tree rooted at node 1).
          const nodes = shape.map(([u, n], i) => ({
            id: i + 1,
            callFrame: { functionName: names[n] ?? 'f', url: urls[u] ?? '' },
            children: [] as number[],
          }));
          shape.forEach(([, , p], i) => {
            if (i > 0) nodes[p % i]?.children.push(i + 1);
          });
          const samples = rawSamples.map(([id]) => (id % nodes.length) + 1);
          const timeDeltas = rawSamples.map(([, d]) => d);
          // Act
          const s = aggregate({ nodes, startTime: 0, endTime: 0, samples, timeDeltas });
          // Assess
          const self = [...s.selfUs.values()].reduce((a, b) => a + b, 0);
          expect(self + s.idleUs).toBe(timeDeltas.reduce((a, b) => a + b, 0));
          const count = [...s.selfSamples.values()].reduce((a, b) => a + b, 0);
          expect(count).toBe(s.busySamples);
          expect(s.busySamples).toBeLessThanOrEqual(s.samples);
          for (const [category, us] of s.inclusiveUs) {
            expect(us).toBeGreaterThanOrEqual(s.selfUs.get(category) ?? 0);
            expect(us).toBeLessThanOrEqual(s.busyUs);
          }
        },
      ),
    );
  });
});
