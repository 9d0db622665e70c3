import { basename, dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotId, type SnapshotScope } from '../../lambda/snapshot-scope.js';
import { FileSnapshotStore } from '../../lambda/stores/file-snapshot-store.js';
import { snapshotKey } from '../../src/redis/keys.js';

/**
 * Issue 11, defect 2: whatever a key (or any other scope field) contains,
 * the snapshot's file name and Redis key are safe (no separator, no `..`,
 * no glob character, bounded length) and two different scopes never share
 * one.
 */

const DIRECTORY = join('/tmp', 'wr-scope-property');
const store = new FileSnapshotStore({ directory: DIRECTORY });

/** Text aimed at file systems and Redis: separators, dots, NUL, globs, braces, lone surrogates. */
const hostile = fc.string({
  unit: fc.constantFrom(
    '/',
    '\\',
    '.',
    '\u0000',
    '*',
    '?',
    '[',
    ']',
    '{',
    '}',
    ':',
    '\uD800',
    '\uDC00',
    'a',
    'é',
    '€',
    '😀',
    ' ',
  ),
  maxLength: 40,
});
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  hostile,
  fc.constantFrom('..', '../..', '/', '/etc/passwd', '..\\..\\x', '\u0000', 'x'.repeat(100_000)),
);
const scope: fc.Arbitrary<SnapshotScope> = fc.record({
  functionName: fc.oneof(fc.constantFrom('warm-counter', 'workspace', ''), anyText),
  namespace: fc.oneof(fc.constant('default'), anyText),
  epoch: fc.oneof(
    fc.string({
      unit: fc.constantFrom(...'0123456789abcdef'.split('')),
      minLength: 32,
      maxLength: 32,
    }),
    fc.constant(''),
    anyText,
  ),
  generation: fc.nat(),
  key: anyText.filter((k) => k.length > 0),
});

function same(a: SnapshotScope, b: SnapshotScope): boolean {
  return (
    a.functionName === b.functionName &&
    a.namespace === b.namespace &&
    a.epoch === b.epoch &&
    a.generation === b.generation &&
    a.key === b.key
  );
}

describe('snapshot ids, file names and Redis keys', () => {
  it('are safe for any scope: 64 hex digits, one file directly inside the directory, a plain Redis key', () => {
    fc.assert(
      fc.property(scope, (s) => {
        const id = snapshotId(s);
        const path = store.pathOf(id);
        const redisKey = snapshotKey('warmroute:', id);

        expect(id).toMatch(/^[0-9a-f]{64}$/);
        expect(dirname(path)).toBe(DIRECTORY);
        expect(basename(path)).toMatch(/^s2-[0-9a-f]{64}\.snap$/);
        expect(redisKey).toMatch(/^warmroute:snap2:[0-9a-f]{64}$/);
      }),
      { seed: 20261204, numRuns: 500 },
    );
  });

  it('are distinct for distinct scopes', () => {
    fc.assert(
      fc.property(scope, scope, (a, b) => {
        expect(snapshotId(a) === snapshotId(b)).toBe(same(a, b));
      }),
      { seed: 20261205, numRuns: 500 },
    );
    // Scopes that differ in one field only (the generated pairs above rarely do).
    fc.assert(
      fc.property(scope, anyText, fc.nat(), (s, other, gen) => {
        const variants: SnapshotScope[] = [
          s,
          { ...s, functionName: `${s.functionName}${other}x` },
          { ...s, namespace: `${s.namespace}${other}x` },
          { ...s, epoch: `${s.epoch}${other}x` },
          { ...s, generation: s.generation + gen + 1 },
          { ...s, key: `${s.key}${other}x` },
          // Field boundaries moved: the same characters split differently.
          { ...s, functionName: `${s.functionName}${s.namespace}`, namespace: '' },
        ].filter((v, i, all) => all.findIndex((w) => same(v, w)) === i);
        const ids = new Set(variants.map(snapshotId));
        expect(ids.size).toBe(variants.length);
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });

  it('keep keys apart that UTF-8 cannot tell apart (different lone surrogates)', () => {
    const a = { functionName: 'f', namespace: 'n', epoch: 'e', generation: 0, key: 'k\uD800' };
    const b = { ...a, key: 'k\uD801' };
    expect(Buffer.from(a.key).equals(Buffer.from(b.key))).toBe(true);
    expect(snapshotId(a)).not.toBe(snapshotId(b));
  });

  it('refuse to build a name from anything but a snapshot id', () => {
    for (const bad of ['../x', 'A'.repeat(64), 'a'.repeat(63), `${'a'.repeat(64)}/`, '*']) {
      expect(() => store.pathOf(bad)).toThrow();
      expect(() => snapshotKey('warmroute:', bad)).toThrow();
    }
  });
});
