import { describe, expect, it } from 'vitest';
import { isWarmStateError } from '../../lambda/errors.js';
import { KeyCache } from '../../lambda/key-cache.js';
import {
  decodeSnapshot,
  decodeSnapshotVersion,
  encodeSnapshot,
} from '../../lambda/snapshot-format.js';

describe('snapshot format v1', () => {
  it('round-trips version, state and directory bytes', () => {
    const snap = { version: 42, state: Buffer.from('{"a":1}'), dir: Buffer.from([1, 2, 3]) };

    const bytes = encodeSnapshot(snap);
    const back = decodeSnapshot('k', bytes);

    expect(bytes.subarray(0, 4).toString()).toBe('WRS1');
    expect(bytes.length).toBe(20 + 7 + 3);
    expect(back.version).toBe(42);
    expect(back.state.toString()).toBe('{"a":1}');
    expect([...back.dir]).toEqual([1, 2, 3]);
    expect(decodeSnapshotVersion('k', bytes.subarray(0, 12))).toBe(42);
  });

  it.each([
    ['bad magic', Buffer.from('XXXX0000000000000000')],
    [
      'truncated',
      encodeSnapshot({ version: 1, state: Buffer.from('abc'), dir: Buffer.alloc(0) }).subarray(
        0,
        18,
      ),
    ],
    [
      'trailing bytes',
      Buffer.concat([
        encodeSnapshot({ version: 1, state: Buffer.from('a'), dir: Buffer.alloc(0) }),
        Buffer.from('z'),
      ]),
    ],
  ])('rejects %s with WR_ERR_SNAPSHOT_CORRUPT', (_name, bytes) => {
    let caught: unknown;
    try {
      decodeSnapshot('k', bytes);
    } catch (err) {
      caught = err;
    }
    expect(isWarmStateError(caught, 'WR_ERR_SNAPSHOT_CORRUPT')).toBe(true);
  });
});

describe('KeyCache', () => {
  it('evicts the least recently used idle entry and remembers it as released', () => {
    const cache = new KeyCache<{ busy: number }>(2);
    cache.set('a', { busy: 0 });
    cache.set('b', { busy: 0 });
    cache.get('a'); // b is now least recently used

    const evicted = cache.set('c', { busy: 0 });

    expect(evicted.map((e) => e.key)).toEqual(['b']);
    expect(cache.wasReleased('b')).toBe(true);
    expect(cache.wasReleased('a')).toBe(false);
    expect(cache.size).toBe(2);
  });

  it('never evicts an entry in use', () => {
    const cache = new KeyCache<{ busy: number }>(1);
    cache.set('a', { busy: 1 });

    const evicted = cache.set('b', { busy: 0 });

    expect(evicted).toEqual([]);
    expect(cache.get('a')).toBeDefined();
  });
});
