import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/directory/redis-store.js';

/**
 * Messages on a bucket's invalidation channel come from other replicas (any
 * version) or from anyone who can publish: anything this version does not
 * understand is skipped, never thrown, and an epoch announcement must name
 * the bucket of the channel it came on.
 */
describe('parseMessage (invalidation channel messages)', () => {
  it('reads mutations, state versions and epoch announcements', () => {
    expect(parseMessage('{"s":"r1","o":"rotate","n":"ns","k":"key"}', 5)).toEqual({
      s: 'r1',
      o: 'rotate',
      n: 'ns',
      k: 'key',
    });
    expect(parseMessage('{"s":"r1","o":"epoch","n":"ns","b":5,"e":"abc"}', 5)).toEqual({
      s: 'r1',
      o: 'epoch',
      n: 'ns',
      b: 5,
      e: 'abc',
    });
    expect(parseMessage('{"s":"r1","o":"sv","u":[["ns","k","fn",3]]}', 5)).toEqual({
      s: 'r1',
      o: 'sv',
      u: [['ns', 'k', 'fn', 3]],
    });
  });

  it.each([
    ['another bucket than the channel’s', '{"s":"r","o":"epoch","n":"ns","b":6,"e":"x"}'],
    ['no bucket (a layout v2 replica)', '{"s":"r","o":"epoch","n":"ns","e":"x"}'],
    ['a fractional bucket', '{"s":"r","o":"epoch","n":"ns","b":5.5,"e":"x"}'],
    ['a bucket as a string', '{"s":"r","o":"epoch","n":"ns","b":"5","e":"x"}'],
    ['an empty epoch', '{"s":"r","o":"epoch","n":"ns","b":5,"e":""}'],
  ])('skips an epoch announcement with %s', (_why, raw) => {
    expect(parseMessage(raw, 5)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['JSON null', 'null'],
    ['no sender', '{"o":"rotate","n":"ns","k":"key"}'],
    ['an unknown operation', '{"s":"r","o":"drop","n":"ns","k":"key"}'],
    ['a key that is not a string', '{"s":"r","o":"rotate","n":"ns","k":1}'],
  ])('skips %s', (_why, raw) => {
    expect(parseMessage(raw, 5)).toBeUndefined();
  });

  it('keeps only per-function state-version updates with a valid function name', () => {
    const raw = JSON.stringify({
      s: 'r',
      o: 'sv',
      u: [
        ['ns', 'k', 3],
        ['ns', 'k', 'bad name', 3],
        ['ns', 'k', 'fn', '3'],
        ['ns', 'k', 'fn', 4],
      ],
    });
    expect(parseMessage(raw, 0)).toEqual({ s: 'r', o: 'sv', u: [['ns', 'k', 'fn', 4]] });
  });

  it('keeps only state versions that are positive safe integers (1e400 parses to Infinity)', () => {
    const raw =
      '{"s":"r","o":"sv","u":[["ns","k","fn",1e400],["ns","k","fn",-1e400],["ns","k","fn",0],' +
      '["ns","k","fn",-2],["ns","k","fn",1.5],["ns","k","fn",9007199254740992],["ns","k","fn",7]]}';
    expect(parseMessage(raw, 0)).toEqual({ s: 'r', o: 'sv', u: [['ns', 'k', 'fn', 7]] });
  });
});
