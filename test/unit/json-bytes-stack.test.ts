import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containerStackBytes, isJsonText } from '../../src/http/json-bytes.js';

/**
 * isJsonText keeps its container stack between calls (no allocation on the
 * usual path), but a body of a few MB of `[` grew it to megabytes: a scan
 * that grew it past 64 KiB gives that memory back, and the verdicts stay
 * JSON.parse's (review of the issue 16 follow-up).
 */

const KEEP_BYTES = 64 * 1024;
const START_BYTES = 64;

function text(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

function parses(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

describe('isJsonText container stack', () => {
  it('drops back to its start size after a scan that grew it beyond 64 KiB', () => {
    // Prepare
    const depth = 1_000_000;
    const open = '['.repeat(depth);

    // Act
    const unclosed = isJsonText(text(open));
    const afterUnclosed = containerStackBytes();
    const balanced = isJsonText(text(open + ']'.repeat(depth)));
    const afterBalanced = containerStackBytes();

    // Assess
    expect(unclosed).toBe(false);
    expect(afterUnclosed).toBe(START_BYTES);
    expect(balanced).toBe(true);
    expect(afterBalanced).toBe(START_BYTES);
  });

  it('keeps a stack it grew to at most 64 KiB (no reallocation per moderately deep body)', () => {
    // Prepare
    const depth = 10_000;

    // Act
    const verdict = isJsonText(text('['.repeat(depth) + ']'.repeat(depth)));

    // Assess
    expect(verdict).toBe(true);
    expect(containerStackBytes()).toBeGreaterThanOrEqual(depth);
    expect(containerStackBytes()).toBeLessThanOrEqual(KEEP_BYTES);
  });

  it('gives JSON.parse’s verdict on any sequence of deep and shallow bodies, and ends at most 64 KiB', () => {
    const nested = fc
      .record({
        depth: fc.oneof(
          fc.integer({ min: 0, max: 300 }),
          fc.integer({ min: 30_000, max: 140_000 }),
        ),
        kind: fc.constantFrom('array', 'object', 'mixed'),
        cut: fc.integer({ min: 0, max: 2 }),
      })
      .map(({ depth, kind, cut }) => {
        const [open, leaf, close] =
          kind === 'array'
            ? ['[', '1', ']']
            : kind === 'object'
              ? ['{"a":', '1', '}']
              : ['[{"a":', '[]', '}]'];
        // cut 0: balanced; 1: one closer missing; 2: one closer too many.
        const closers = cut === 1 ? Math.max(0, depth - 1) : depth;
        return open.repeat(depth) + leaf + close.repeat(closers) + (cut === 2 ? ']' : '');
      });
    fc.assert(
      fc.property(fc.array(nested, { minLength: 1, maxLength: 4 }), (bodies) => {
        for (const body of bodies) {
          expect(isJsonText(text(body))).toBe(parses(body));
          expect(containerStackBytes()).toBeLessThanOrEqual(KEEP_BYTES);
        }
      }),
      { numRuns: 40 },
    );
  });
});
