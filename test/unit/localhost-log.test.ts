import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  endLine,
  logStreamName,
  reportLine,
  startLine,
  timeoutLine,
} from '../../src/localhost/log-format.js';
import { LOG_TAIL_BYTES, LogWindow, MarkerSplitter } from '../../src/localhost/log-window.js';
import {
  BACKGROUND_OUTPUT,
  END_OF_INVOCATION,
  START_OF_INVOCATION,
} from '../../src/localhost/runtime-protocol.js';

describe('Lambda log lines', () => {
  it('formats START, END and REPORT as Lambda does, Init Duration only when given', () => {
    expect(startLine('r1', '$LATEST')).toBe('START RequestId: r1 Version: $LATEST\n');
    expect(endLine('r1')).toBe('END RequestId: r1\n');
    expect(
      reportLine({ requestId: 'r1', durationMs: 1.234, memorySizeMb: 128, maxMemoryUsedMb: 40 }),
    ).toBe(
      'REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n',
    );
    expect(
      reportLine({
        requestId: 'r1',
        durationMs: 2,
        memorySizeMb: 256,
        maxMemoryUsedMb: 50,
        initDurationMs: 100.5,
      }),
    ).toBe(
      'REPORT RequestId: r1\tDuration: 2.00 ms\tBilled Duration: 103 ms\tMemory Size: 256 MB\tMax Memory Used: 50 MB\tInit Duration: 100.50 ms\t\n',
    );
    expect(
      reportLine({
        requestId: 'r',
        durationMs: 3000,
        memorySizeMb: 128,
        maxMemoryUsedMb: 1,
        status: 'timeout',
      }),
    ).toContain('\tStatus: timeout\t\n');
  });

  it('writes the timeout line and the log stream name', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    expect(timeoutLine('r1', 3, at)).toBe(
      '2026-01-02T03:04:05.678Z r1 Task timed out after 3.00 seconds\n',
    );
    expect(logStreamName(at, '$LATEST', 'a'.repeat(32))).toBe(
      `2026/01/02/[$LATEST]${'a'.repeat(32)}`,
    );
  });
});

describe('LogWindow', () => {
  it('keeps the last 4 KB in bytes, as X-Amz-Log-Result', () => {
    const w = new LogWindow();
    w.append('head-');
    for (let i = 0; i < 400; i++) w.append(`line ${i} ${'é'.repeat(50)}\n`);
    w.append('END');

    const tail = Buffer.from(w.tailBase64(), 'base64');

    expect(tail.length).toBe(LOG_TAIL_BYTES);
    expect(tail.toString('utf8').endsWith('END')).toBe(true);
    // Memory stays bounded however much a function prints.
    expect(w.text()).not.toContain('head-');
    expect(w.text().length).toBeLessThanOrEqual(4 * LOG_TAIL_BYTES + 100);
  });
});

describe('MarkerSplitter', () => {
  it('splits output at end-of-invocation markers, even across chunks', () => {
    const events: string[] = [];
    const s = new MarkerSplitter(
      (t) => events.push(`text:${t}`),
      () => events.push('marker'),
    );
    const half = Math.floor(END_OF_INVOCATION.length / 2);

    s.push(`one\n${END_OF_INVOCATION.slice(0, half)}`);
    s.push(`${END_OF_INVOCATION.slice(half)}two\n${END_OF_INVOCATION}${END_OF_INVOCATION}`);
    s.push('three');

    expect(events.join('|')).toBe('text:one\n|marker|text:two\n|marker|marker|text:three');
  });

  it('lets a NUL that is not a marker through on flush', () => {
    const texts: string[] = [];
    const s = new MarkerSplitter(
      (t) => texts.push(t),
      () => texts.push('marker'),
    );
    s.push('a\u0000');
    s.flush();
    expect(texts.join('')).toBe('a\u0000');
  });

  it('finds every marker kind and the text between, however the stream is cut (property)', () => {
    const piece = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', '\n', 'é', '😀', '\u0000', 'w', ':') }),
      fc.constantFrom(END_OF_INVOCATION, BACKGROUND_OUTPUT, START_OF_INVOCATION),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (pieces, cuts) => {
          const whole = pieces.join('');
          const run = (chunks: readonly string[]): string => {
            const out: string[] = [];
            const s = new MarkerSplitter(
              (t) => out.push(t),
              (kind) => out.push(`<${kind}>`),
            );
            for (const c of chunks) s.push(c);
            s.flush();
            // Adjacent texts may arrive in any number of pieces.
            return out.join('');
          };
          const at = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...at].map((from, k) => whole.slice(from, at[k] ?? whole.length));
          const expected = run([whole]);

          expect(run(chunks)).toBe(expected);
          expect(expected).toBe(
            whole
              .replaceAll(END_OF_INVOCATION, '<end>')
              .replaceAll(BACKGROUND_OUTPUT, '<background>')
              .replaceAll(START_OF_INVOCATION, '<start>'),
          );
        },
      ),
      { seed: 1616, numRuns: 500 },
    );
  });
});
