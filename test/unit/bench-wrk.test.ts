import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WRK_MISSING, findWrk, parseWrkOutput, wrkArgs, type WrkRun } from '../../bench/lib/wrk.js';

// What wrk 4.1 prints around the line bench/wrk/keyed.lua's done() writes.
const WRK_TEXT = `Running 2s test @ http://127.0.0.1:36069/2015-03-31/functions/counter/invocations
  32 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.53ms    4.01ms  84.46ms   96.12%
    Req/Sec     1.08k   210.11     1.60k    71.09%
  72789 requests in 2.10s, 12.15MB read
Requests/sec:  34671.81
Transfer/sec:      5.79MB
`;

interface Line {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: {
    min: number;
    mean: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
  };
  threads: number;
  distinctKeys: number;
  cpuTicks: number;
}

const line = (l: Line): string => `WRK_JSON ${JSON.stringify(l)}`;

const SAMPLE: Line = {
  requests: 72789,
  durationUs: 2099371,
  errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
  latencyUs: { min: 37, mean: 1531.911, max: 84457, p50: 739, p90: 2323, p99: 14222, p999: 63134 },
  threads: 32,
  distinctKeys: 32,
  cpuTicks: 132,
};

const RUN: WrkRun = {
  url: 'http://127.0.0.1:4000',
  path: '/v1/functions/counter/invoke',
  keyHeader: 'x-affinity-key',
  keyPrefix: 'bench-key-',
  body: '{"op":"bench"}',
  connections: 32,
  seconds: 5,
};

describe('parseWrkOutput', () => {
  it('reads the figures of the WRK_JSON line in ms, seconds and requests per second', () => {
    // Prepare
    const stdout = `${WRK_TEXT}${line(SAMPLE)}\n`;
    // Act
    const r = parseWrkOutput(stdout);
    // Assess
    expect(r.requests).toBe(72789);
    expect(r.seconds).toBeCloseTo(2.099371, 9);
    expect(r.throughput).toBeCloseTo(72789 / 2.099371, 6);
    expect(r.errors).toBe(0);
    expect(r.latencyMs).toEqual({
      min: 0.037,
      mean: 1.531911,
      max: 84.457,
      p50: 0.739,
      p90: 2.323,
      p99: 14.222,
      p999: 63.134,
    });
    expect(r.threads).toBe(32);
    expect(r.distinctKeys).toBe(32);
    expect(r.cpuSeconds).toBeCloseTo(1.32, 9);
  });

  it('sums every kind of error, non-2xx answers included', () => {
    // Prepare
    const errors = { connect: 1, read: 2, write: 3, status: 40, timeout: 5 };
    // Act
    const r = parseWrkOutput(line({ ...SAMPLE, errors }));
    // Assess
    expect(r.errors).toBe(51);
  });

  it('reports no wrk CPU when the script could not read /proc/self/stat', () => {
    expect(parseWrkOutput(line({ ...SAMPLE, cpuTicks: -1 })).cpuSeconds).toBeUndefined();
  });

  it('refuses output without the line, a line that is not JSON, or one with a field missing', () => {
    expect(() => parseWrkOutput(WRK_TEXT)).toThrow(/no WRK_JSON line/);
    expect(() => parseWrkOutput('WRK_JSON {"requests":')).toThrow(/not JSON/);
    const noLatency: Partial<Line> = { ...SAMPLE };
    delete noLatency.latencyUs;
    expect(() => parseWrkOutput(`WRK_JSON ${JSON.stringify(noLatency)}`)).toThrow(/latencyUs/);
    const noP99 = { ...SAMPLE.latencyUs, p99: 'x' };
    expect(() => parseWrkOutput(line({ ...SAMPLE, latencyUs: noP99 as never }))).toThrow(/p99/);
    expect(() => parseWrkOutput(line({ ...SAMPLE, durationUs: 0 }))).toThrow(/duration/);
  });

  it('reads back any figures the script can print, whatever text surrounds the line', () => {
    const count = fc.integer({ min: 0, max: 1e9 });
    fc.assert(
      fc.property(
        fc.record({
          requests: count,
          durationUs: fc.integer({ min: 1, max: 1e12 }),
          errors: fc.record({
            connect: count,
            read: count,
            write: count,
            status: count,
            timeout: count,
          }),
          latencyUs: fc.record({
            min: count,
            mean: fc.double({ min: 0, max: 1e9, noNaN: true }),
            max: count,
            p50: count,
            p90: count,
            p99: count,
            p999: count,
          }),
          threads: fc.integer({ min: 1, max: 1024 }),
          distinctKeys: fc.integer({ min: 0, max: 1024 }),
          cpuTicks: fc.integer({ min: -1, max: 1e9 }),
        }),
        fc.array(fc.string().filter((s) => !s.includes('\n') && !s.startsWith('WRK_JSON'))),
        (l, noise) => {
          const r = parseWrkOutput([...noise, line(l), ...noise].join('\n'));
          expect(r.requests).toBe(l.requests);
          expect(r.seconds).toBe(l.durationUs / 1e6);
          expect(r.latencyMs.p99).toBe(l.latencyUs.p99 / 1000);
          expect(r.errors).toBe(Object.values(l.errors).reduce((a, b) => a + b, 0));
          expect(r.cpuSeconds).toBe(l.cpuTicks < 0 ? undefined : l.cpuTicks / 100);
        },
      ),
    );
  });
});

describe('wrkArgs', () => {
  it('gives each of the N threads one connection and the keyed script its arguments', () => {
    // Act
    const args = wrkArgs(RUN);
    // Assess
    expect(args.slice(0, 5)).toEqual(['-t32', '-c32', '-d5s', '--timeout', '10s']);
    expect(args[6]).toMatch(/bench\/wrk\/keyed\.lua$/);
    expect(args[7]).toBe('http://127.0.0.1:4000/v1/functions/counter/invoke');
    expect(args.slice(8)).toEqual([
      '--',
      'x-affinity-key',
      'bench-key-',
      '/v1/functions/counter/invoke',
      '{"op":"bench"}',
      '32',
      '0',
    ]);
  });

  it('paces a fixed rate with paced.lua, the rate split evenly over the threads', () => {
    // Act
    const args = wrkArgs({ ...RUN, rate: 300 });
    // Assess
    expect(args[6]).toMatch(/bench\/wrk\/paced\.lua$/);
    expect(Number(args[args.length - 1]) * 32).toBeCloseTo(300, 9);
  });

  it('refuses settings wrk cannot honour', () => {
    expect(() => wrkArgs({ ...RUN, connections: 0 })).toThrow(RangeError);
    expect(() => wrkArgs({ ...RUN, connections: 1.5 })).toThrow(RangeError);
    expect(() => wrkArgs({ ...RUN, seconds: 1.5 })).toThrow(RangeError);
    expect(() => wrkArgs({ ...RUN, seconds: 0 })).toThrow(RangeError);
    expect(() => wrkArgs({ ...RUN, rate: 0 })).toThrow(RangeError);
  });
});

describe('findWrk', () => {
  it('says how to install wrk when no directory on PATH has it', () => {
    expect(() => findWrk('/nonexistent-a:/nonexistent-b')).toThrow(WRK_MISSING);
    expect(WRK_MISSING).toBe('wrk not found: apt-get install wrk');
  });
});
