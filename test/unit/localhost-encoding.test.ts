import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isHeaderSafe, safeHeaders } from '../../src/localhost/header-value.js';
import { checkExposure, isLoopbackHost } from '../../src/localhost/local-host.js';
import { kbToMb, parseProcStatus } from '../../src/localhost/process-memory.js';
import { escapeNonAscii, toAsciiJson } from '../../src/localhost/runtime-protocol.js';
import { reportLine } from '../../src/localhost/log-format.js';

describe('ASCII-only JSON for Runtime API headers', () => {
  it('parses back to the same value for any JSON value, lone surrogates included (property)', () => {
    const text = fc.string({ unit: 'binary' });
    fc.assert(
      fc.property(
        fc.jsonValue().chain((v) => fc.tuple(fc.constant(v), text)),
        ([value, s]) => {
          const input = { value, s };

          const ascii = toAsciiJson(input) ?? '';

          expect(ascii).toMatch(/^[\x20-\x7e]*$/);
          expect(isHeaderSafe(ascii)).toBe(true);
          expect(JSON.stringify(JSON.parse(ascii))).toBe(JSON.stringify(input));
        },
      ),
      { seed: 1107, numRuns: 500 },
    );
  });

  it('escapes every code unit outside printable ASCII, DEL included', () => {
    expect(escapeNonAscii('a\u007f\u00e9\u20ac\ud800')).toBe('a\\u007f\\u00e9\\u20ac\\ud800');
    expect(toAsciiJson(undefined)).toBeUndefined();
  });
});

describe('header values', () => {
  it('knows what Node can write and drops the rest', () => {
    expect(isHeaderSafe('abc \t\u00ff')).toBe(true);
    expect(isHeaderSafe('\u0100')).toBe(false);
    expect(isHeaderSafe('a\r\nb')).toBe(false);
    expect(isHeaderSafe('\u0000')).toBe(false);
    expect(safeHeaders({ ok: 'x', bad: '€' })).toEqual({ headers: { ok: 'x' }, dropped: ['bad'] });
  });
});

describe('process memory from procfs', () => {
  it('reads VmRSS and VmHWM, the peak never below the current size', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   204800 kB\nVmRSS:\t   102400 kB\n';

    expect(parseProcStatus(status)).toEqual({ rssKb: 102400, peakKb: 204800 });
    expect(parseProcStatus('VmRSS:\t 10 kB\n')).toEqual({ rssKb: 10, peakKb: 10 });
    expect(parseProcStatus('Name:\tzombie\n')).toBeUndefined();
    expect(kbToMb(1)).toBe(1);
    expect(kbToMb(131072)).toBe(128);
  });

  it('puts the error type on a failed invocation REPORT line', () => {
    expect(
      reportLine({
        requestId: 'r',
        durationMs: 1,
        memorySizeMb: 128,
        maxMemoryUsedMb: 129,
        status: 'error',
        errorType: 'Runtime.OutOfMemory',
      }),
    ).toContain('\tMax Memory Used: 129 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t\n');
  });
});

describe('exposure of the control API', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['example.com', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('refuses a public address without a token, and a token too short to matter', () => {
    expect(() => {
      checkExposure('0.0.0.0', undefined);
    }).toThrow(/without a control token/);
    expect(() => {
      checkExposure('127.0.0.1', 'short');
    }).toThrow(/at least 16 characters/);
    expect(() => {
      checkExposure('0.0.0.0', 'x'.repeat(16));
    }).not.toThrow();
    expect(() => {
      checkExposure('127.0.0.1', undefined);
    }).not.toThrow();
  });
});
