import { describe, expect, it } from 'vitest';
import { ReplyCode } from '../../src/redis/reply-codes.js';
import { directoryScripts, snapshotScripts } from '../../src/redis/script-loader.js';

/**
 * The reply-code table (src/redis/reply-codes.ts) and the Lua agree in both
 * directions: every code a script returns is in the table, under the name its
 * header gives it, and every entry of the table is returned by some script
 * (bind's checks excepted: the stores make those in TypeScript).
 */

const scripts = { ...directoryScripts(), ...snapshotScripts() };
const names = new Map<number, string>(
  Object.entries(ReplyCode).map(([name, code]) => [code, name]),
);

/** First elements of every literal reply table (`return { <code>, … }`) in the expanded script. */
function returnedCodes(lua: string): Set<number> {
  return new Set([...lua.matchAll(/\breturn\s*\{\s*(-?\d+)/g)].map((m) => Number(m[1])));
}

/** The header's "Return codes" lines: code → name. */
function documentedCodes(lua: string): Map<number, string> {
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(lua)?.[1] ?? '';
  const section = header.slice(header.indexOf('Return codes'));
  return new Map(
    [...section.matchAll(/^\s+(-?\d+)\s+([A-Z][A-Z_]*)/gm)].map((m) => [Number(m[1]), m[2] ?? '']),
  );
}

describe('reply codes', () => {
  it('every code a script returns is in the table and in the script’s header, by the table’s name', () => {
    for (const [script, { lua }] of Object.entries(scripts)) {
      const returned = returnedCodes(lua);
      const documented = documentedCodes(lua);
      expect(returned.size, script).toBeGreaterThan(0);
      for (const code of returned) expect(names.has(code), `${script} returns ${code}`).toBe(true);
      expect([...documented.keys()].sort(), script).toEqual([...returned].sort());
      for (const [code, name] of documented)
        expect(name, `${script}: ${code}`).toBe(names.get(code));
    }
  });

  it('every entry of the table is returned by some script, but bind’s checks, which no script makes', () => {
    // A binding chain spans buckets (cluster slots): the stores check it in
    // TypeScript and map the codes through storeError (reply-errors.ts).
    const bindChecks: number[] = [ReplyCode.SELF_BINDING, ReplyCode.CYCLE, ReplyCode.TOO_DEEP];
    const returned = new Set(Object.values(scripts).flatMap(({ lua }) => [...returnedCodes(lua)]));
    expect([...returned].sort()).toEqual(
      Object.values(ReplyCode)
        .filter((code) => !bindChecks.includes(code))
        .sort(),
    );
  });

  it('has one name per code', () => {
    expect(names.size).toBe(Object.keys(ReplyCode).length);
  });
});
