import { describe, expect, it } from 'vitest';
import { EpochMismatchError } from '../../src/directory/store.js';
import { EPOCH_BUCKETS, epochBucket } from '../../src/directory/epoch-bucket.js';
import { directoryKeys } from '../../src/redis/keys.js';
import { ReplyCode } from '../../src/redis/reply-codes.js';
import { checkScriptReply } from '../../src/redis/reply-errors.js';
import { commandName, loadScripts, scriptFolder } from '../../src/redis/script-loader.js';
import { isWarmrouteError } from '../../src/errors.js';

function hashTag(redisKey: string): string | undefined {
  const open = redisKey.indexOf('{');
  const close = redisKey.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? redisKey.slice(open + 1, close) : undefined;
}

describe('directoryKeys', () => {
  it('puts a key’s record under its bucket’s hash tag, whatever the key contains', () => {
    const keys = directoryKeys('wr:');
    for (const key of ['a', 'b}c', '{x}', 'k:with:colons', '\u{1F600}']) {
      expect(hashTag(keys.record('ns', key))).toBe(keys.tag(epochBucket(key)).slice(1, -1));
    }
  });

  it('spreads a namespace’s records over many tags (not one per namespace)', () => {
    const keys = directoryKeys('wr:');
    const tags = new Set(
      Array.from({ length: 2_000 }, (_, i) => hashTag(keys.record('ns', `k${i}`))),
    );
    // 2,000 keys over 1,024 buckets: all but a handful of buckets are used.
    expect(tags.size).toBeGreaterThan(EPOCH_BUCKETS * 0.8);
  });

  it('puts a bucket’s epoch and channel under the bucket’s records’ tag, apart from every record', () => {
    const keys = directoryKeys('wr:');
    const key = 'some-key';
    const bucket = epochBucket(key);
    expect(hashTag(keys.epoch('ns', bucket))).toBe(hashTag(keys.record('ns', key)));
    expect(hashTag(keys.channel(bucket))).toBe(hashTag(keys.record('ns', key)));
    // No key names a record that is the epoch (records live under `:k:`).
    for (const k of ['epoch', ':epoch', 'k:epoch']) {
      expect(keys.record('ns', k)).not.toBe(keys.epoch('ns', epochBucket(k)));
    }
    expect(keys.channels).toHaveLength(EPOCH_BUCKETS);
    expect(new Set(keys.channels).size).toBe(EPOCH_BUCKETS);
  });

  it('encodes namespaces so braces and colons cannot make a tag or overlap names', () => {
    const keys = directoryKeys('wr:');
    const bucket = epochBucket('k');
    expect(hashTag(keys.record('a}b', 'k'))).toBe(hashTag(keys.record('plain', 'k')));
    expect(keys.record('a', 'k:b:x')).not.toBe(keys.record('a:k:b', 'x'));
    expect(keys.epoch('a:n:b', bucket)).not.toBe(keys.epoch('a', bucket));
    expect(hashTag(keys.bindLock('a}b'))).toBe('n:a%7Db');
  });

  it('refuses a bucket outside the layout', () => {
    const keys = directoryKeys('wr:');
    for (const bad of [-1, EPOCH_BUCKETS, 1.5, Number.NaN]) {
      expect(() => keys.epoch('ns', bad)).toThrow(RangeError);
      expect(() => keys.channel(bad)).toThrow(RangeError);
    }
  });

  it('rejects a key prefix containing a brace', () => {
    expect(() => directoryKeys('bad{')).toThrow(/brace|'\{'/);
  });
});

describe('script loader', () => {
  it('loads every script with its key count from the file name and a header', () => {
    const scripts = loadScripts(scriptFolder('directory'));
    expect(Object.keys(scripts).sort()).toEqual(
      [
        'wrBindKey',
        'wrEnsureEpoch',
        'wrExplainKey',
        'wrFollowLink',
        'wrForgetKey',
        'wrRecordOutcome',
        'wrReleaseLock',
        'wrResolveKey',
        'wrRotateKey',
        'wrUnbindKey',
      ].sort(),
    );
    for (const [name, script] of Object.entries(scripts)) {
      // Every key script also takes its bucket's epoch key (same hash tag);
      // the epoch and the lock are scripts on one key.
      expect(script.numberOfKeys).toBe(
        name === 'wrEnsureEpoch' || name === 'wrReleaseLock' ? 1 : 2,
      );
      expect(script.lua).toMatch(
        /^--\[\[[\s\S]*Input:[\s\S]*Output:[\s\S]*Return codes[^\n]*:[\s\S]*\]\]/,
      );
    }
    expect(commandName('resolve-key')).toBe('wrResolveKey');
  });
});

describe('script return codes', () => {
  it('map every negative code to a typed error and pass OK replies through', () => {
    expect(checkScriptReply('x', [1, 5])).toEqual([1, 5]);
    for (const code of [ReplyCode.SELF_BINDING, ReplyCode.CYCLE, ReplyCode.TOO_DEEP]) {
      let caught: unknown;
      try {
        checkScriptReply('bind', [code]);
      } catch (err) {
        caught = err;
      }
      expect(isWarmrouteError(caught) && caught.code).toBe('WR_ERR_BINDING_INVALID');
    }
    expect(() => checkScriptReply('x', [-4, 'abc'])).toThrow(EpochMismatchError);
    expect(() => checkScriptReply('x', [-4, 'abc'])).toThrow(
      expect.objectContaining({ current: 'abc' }) as Error,
    );
    expect(() => checkScriptReply('x', [-99])).toThrow();
    expect(() => checkScriptReply('x', 'nonsense')).toThrow();
  });
});
