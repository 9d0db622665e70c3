import { describe, expect, it } from 'vitest';
import { EpochMismatchError } from '../../src/directory/store.js';
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
  it('puts every record of a namespace under one hash tag, whatever the key contains', () => {
    const keys = directoryKeys('wr:');
    const tags = ['a', 'b}c', '{x}', 'k:with:colons'].map((key) => hashTag(keys.record('ns', key)));
    expect(new Set(tags)).toEqual(new Set(['ns:ns']));
  });

  it('puts the namespace epoch under the records’ hash tag, apart from every record', () => {
    const keys = directoryKeys('wr:');
    expect(hashTag(keys.epoch('ns'))).toBe('ns:ns');
    expect(hashTag(keys.epoch('a}b'))).toBe('ns:a%7Db');
    // No key names a record that is the epoch (records live under `:k:`).
    expect(keys.epoch('ns')).not.toBe(keys.record('ns', 'epoch'));
    expect(keys.epoch('ns').startsWith(keys.recordPrefix('ns'))).toBe(false);
  });

  it('encodes namespaces so braces and colons cannot break the tag or overlap prefixes', () => {
    const keys = directoryKeys('wr:');
    expect(hashTag(keys.record('a}b', 'k'))).toBe('ns:a%7Db');
    expect(keys.recordPrefix('a:k:b')).not.toBe(keys.recordPrefix('a'));
    expect(keys.record('a', 'k:b:x')).not.toBe(keys.record('a:k:b', 'x'));
    expect(hashTag(keys.channel)).toBe('wr');
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
        'wrForgetKey',
        'wrRecordOutcome',
        'wrResolveKey',
        'wrRotateKey',
        'wrUnbindKey',
      ].sort(),
    );
    for (const [name, script] of Object.entries(scripts)) {
      // Every key script also takes its namespace's epoch key (same hash tag).
      expect(script.numberOfKeys).toBe(name === 'wrEnsureEpoch' ? 1 : 2);
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
