import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  directoryScripts,
  expandIncludes,
  loadScripts,
  scriptFolder,
  snapshotScripts,
} from '../../src/redis/script-loader.js';

/** An include reader over an in-memory folder (`includes/<name>` → text). */
function folder(files: Record<string, string>): (name: string) => string | undefined {
  return (name) => files[name];
}

describe('expandIncludes', () => {
  it('replaces a directive with the included text, leaving the rest of the script as it was', () => {
    // Prepare
    const script = '--[[ header ]]\n--- @include "includes/a"\nreturn a()\n';
    // Act
    const lua = expandIncludes(
      'x-1.lua',
      script,
      folder({ 'includes/a': 'local function a() return 1 end\n' }),
    );
    // Assess
    expect(lua).toBe('--[[ header ]]\nlocal function a() return 1 end\nreturn a()\n');
  });

  it('expands nested includes, each once per script even when two files name it', () => {
    // Prepare: the script and include b both name include a.
    const files = folder({
      'includes/a': 'local A = 1',
      'includes/b': '--- @include "includes/a"\nlocal B = A + 1',
    });
    const script = '--- @include "includes/a"\n--- @include "includes/b"\nreturn B\n';
    // Act
    const lua = expandIncludes('x-1.lua', script, files);
    // Assess
    expect(lua.match(/local A = 1/g)).toHaveLength(1);
    expect(lua.indexOf('local A = 1')).toBeLessThan(lua.indexOf('local B = A + 1'));
    expect(lua).not.toContain('@include');
  });

  it('inserts an include named only inside another include before that include’s own text', () => {
    const lua = expandIncludes(
      'x-1.lua',
      '--- @include "includes/b"\n',
      folder({
        'includes/a': 'local A = 1',
        'includes/b': '--- @include "includes/a"\nlocal B = A',
      }),
    );
    expect(lua).toBe('local A = 1\nlocal B = A\n');
  });

  it('fails on a missing include, naming the file that asked for it', () => {
    expect(() =>
      expandIncludes(
        'bind-key-2.lua',
        '--- @include "includes/b"\n',
        folder({ 'includes/b': '--- @include "includes/gone"\n' }),
      ),
    ).toThrow('Lua include "includes/gone" named in includes/b not found (includes/gone.lua)');
    expect(() =>
      expandIncludes('bind-key-2.lua', '--- @include "includes/gone"\n', folder({})),
    ).toThrow(/named in bind-key-2\.lua not found/);
  });

  it('fails on a cycle, naming it, instead of recursing', () => {
    const files = folder({
      'includes/a': '--- @include "includes/b"\n',
      'includes/b': '--- @include "includes/a"\n',
    });
    expect(() => expandIncludes('x-1.lua', '--- @include "includes/a"\n', files)).toThrow(
      'Lua include cycle: x-1.lua -> includes/a -> includes/b -> includes/a',
    );
    expect(() =>
      expandIncludes(
        'x-1.lua',
        '--- @include "includes/a"\n',
        folder({ 'includes/a': '--- @include "includes/a"' }),
      ),
    ).toThrow('Lua include cycle: x-1.lua -> includes/a -> includes/a');
  });

  it('refuses a name outside includes/ (no path out of the script folder)', () => {
    for (const name of ['../secret', 'includes/../../x', 'other/a', 'includes/A']) {
      expect(() => expandIncludes('x-1.lua', `--- @include "${name}"\n`, folder({}))).toThrow(
        /must be "includes\/<name>"/,
      );
    }
  });

  // Was left as text: any @include that is not a directive now fails, since
  // a mistyped directive would silently leave its functions out.
  it('refuses @include text that is not a directive alone on its line', () => {
    const files = folder({ 'includes/a': 'local function a() return 1 end\n' });
    for (const [script, line] of [
      ['-- see --- @include "includes/a"\nreturn 1\n', 1],
      ['--- @include includes/a\nreturn a()\n', 1],
      ["--- @include 'includes/a'\nreturn a()\n", 1],
      ['-- header\n  --- @include "includes/a"\nreturn a()\n', 2],
      ['--- @include "includes/a" -- why\nreturn a()\n', 1],
    ] as const) {
      expect(() => expandIncludes('x-1.lua', script, files), script).toThrow(
        `Lua include directive in x-1.lua line ${line} is not a directive`,
      );
    }
  });

  // Was: the directive in the comment was expanded there, the real one then
  // inserted nothing (include-once), and the functions ended up commented out.
  it('refuses a directive inside a --[[ ]] comment', () => {
    const files = folder({ 'includes/a': 'local function a() return 1 end\n' });
    for (const [script, line] of [
      ['--[[\nUsage:\n--- @include "includes/a"\n]]\n--- @include "includes/a"\nreturn a()\n', 3],
      ['--[==[\n]]\n--- @include "includes/a"\n]==]\nreturn a()\n', 3],
      ['--[[ doc\n  see @include below ]]\n--- @include "includes/a"\nreturn a()\n', 2],
    ] as const) {
      expect(() => expandIncludes('x-1.lua', script, files), script).toThrow(
        `Lua include directive in x-1.lua line ${line} is inside a --[[ ]] comment`,
      );
    }
    // In an include too, named as such.
    expect(() =>
      expandIncludes(
        'x-1.lua',
        '--- @include "includes/b"\n',
        folder({ 'includes/b': '--[[\n--- @include "includes/a"\n]]\n' }),
      ),
    ).toThrow('Lua include directive in includes/b line 2 is inside a --[[ ]] comment');
  });

  // Was expanded inside the second comment: the scan stopped at the first one's end.
  it('sees a long comment that opens after another closed on the same line', () => {
    const files = folder({ 'includes/a': 'local function a() return 1 end\n' });
    for (const [script, line] of [
      ['--[[ a ]] --[[ b\n--- @include "includes/a"\n]]\nreturn a()\n', 2],
      ['--[[ a ]]--[==[ b ]] c\n--- @include "includes/a"\n]==]\nreturn a()\n', 2],
      ['--[[\na ]] --[[ b ]] --[[ c\n--- @include "includes/a"\n]]\nreturn a()\n', 3],
    ] as const) {
      expect(() => expandIncludes('x-1.lua', script, files), script).toThrow(
        `Lua include directive in x-1.lua line ${line} is inside a --[[ ]] comment`,
      );
    }
    // Both closed: the directive below counts; code after them ends the preamble.
    expect(
      expandIncludes('x-1.lua', '--[[ a ]] --[[ b ]] -- c\n--- @include "includes/a"\n', files),
    ).toBe('--[[ a ]] --[[ b ]] -- c\nlocal function a() return 1 end\n');
    expect(() =>
      expandIncludes(
        'x-1.lua',
        '--[[ a ]] --[[ b ]] local x = 1\n--- @include "includes/a"\n',
        files,
      ),
    ).toThrow('Lua include directive in x-1.lua line 2 comes after the first line of code');
  });

  // Was: "line 3 comes after the first line of code", the shebang taken for code.
  it('takes a Redis 7 shebang on line 1 as preamble and keeps it on line 1', () => {
    const files = folder({ 'includes/a': '-- a\nlocal function a() return 1 end\n' });
    const lua = expandIncludes(
      'x-1.lua',
      '#!lua flags=no-writes\n-- KEYS[1]: k\n--- @include "includes/a"\nreturn a()\n',
      files,
    );
    expect(lua).toBe(
      '#!lua flags=no-writes\n-- KEYS[1]: k\n-- a\nlocal function a() return 1 end\nreturn a()\n',
    );
    // Only line 1 is a shebang to Redis; elsewhere it is not preamble.
    expect(() =>
      expandIncludes('x-1.lua', '-- h\n#!lua flags=no-writes\n--- @include "includes/a"\n', files),
    ).toThrow('Lua include directive in x-1.lua line 3 comes after the first line of code');
    // An include's shebang would land below line 1, where Redis does not read it.
    expect(() =>
      expandIncludes(
        'x-1.lua',
        '#!lua\n--- @include "includes/b"\n',
        folder({ 'includes/b': '#!lua flags=no-writes\nlocal B = 1\n' }),
      ),
    ).toThrow("Lua include includes/b starts with #!: only a script's first line may");
  });

  it('refuses a directive after the first line of code', () => {
    const files = folder({ 'includes/a': 'local function a() return 1 end\n' });
    for (const [script, line] of [
      ['local x = 1\n--- @include "includes/a"\nreturn a()\n', 2],
      ['--[[ header ]] local x = 1\n--- @include "includes/a"\nreturn a()\n', 2],
      ['--[[\nheader\n]] local x = 1\n--- @include "includes/a"\nreturn a()\n', 4],
    ] as const) {
      expect(() => expandIncludes('x-1.lua', script, files), script).toThrow(
        `Lua include directive in x-1.lua line ${line} comes after the first line of code`,
      );
    }
  });

  it('honours directives after header comments of any kind, and keeps CRLF line endings', () => {
    const files = folder({ 'includes/a': 'local function a() return 1 end\r\n' });
    expect(
      expandIncludes(
        'x-1.lua',
        '--[==[\n a ]] b\n]==]\n-- note\n\n--- @include "includes/a"\r\nreturn a()\r\n',
        files,
      ),
    ).toBe('--[==[\n a ]] b\n]==]\n-- note\n\nlocal function a() return 1 end\r\nreturn a()\r\n');
  });
});

describe('loadScripts', () => {
  it('fails on a missing script folder (a broken install), naming the path it tried', () => {
    const missing = join(scriptFolder('snapshot'), 'no-such-folder');
    expect(() => loadScripts(missing)).toThrow(`Lua script folder not found: ${missing}`);
  });
});

describe('the shipped scripts', () => {
  it('hold no directive after loading, and each shared function once', () => {
    const scripts = { ...directoryScripts(), ...snapshotScripts() };
    for (const [name, { lua }] of Object.entries(scripts)) {
      expect(lua, name).not.toMatch(/@include/);
      for (const fn of ['epochMismatch', 'claimRecord', 'checkPublishCommand', 'publish']) {
        expect(
          (lua.match(new RegExp(`local function ${fn}\\(`, 'g')) ?? []).length,
          name,
        ).toBeLessThanOrEqual(1);
      }
    }
    // The epoch check is written once (includes/epoch-check.lua) and used by every key script.
    // ensure-epoch and follow-link create a missing epoch instead of checking the caller's;
    // release-lock touches only the lock.
    const keyScripts = Object.entries(directoryScripts()).filter(
      ([name]) => !['wrEnsureEpoch', 'wrFollowLink', 'wrReleaseLock'].includes(name),
    );
    expect(keyScripts.map(([name]) => name).sort()).toEqual([
      'wrBindKey',
      'wrExplainKey',
      'wrForgetKey',
      'wrRecordOutcome',
      'wrResolveKey',
      'wrRotateKey',
      'wrUnbindKey',
    ]);
    for (const [name, { lua }] of keyScripts) {
      expect(lua, name).toMatch(/local function epochMismatch\(/);
      expect(lua, name).not.toMatch(/redis\.call\('GET', KEYS\[2\]\)/);
    }
    // Every publish goes through includes/publish.lua, whose check comes before any write:
    // the command is the caller's argument (PUBLISH standalone, SPUBLISH cluster).
    const publishers = Object.entries(directoryScripts())
      .filter(([, { lua }]) => /publish\(ARGV/.test(lua))
      .map(([name]) => name)
      .sort();
    expect(publishers).toEqual([
      'wrBindKey',
      'wrEnsureEpoch',
      'wrFollowLink',
      'wrForgetKey',
      'wrRotateKey',
      'wrUnbindKey',
    ]);
    for (const [name, { lua }] of Object.entries(directoryScripts())) {
      expect(lua, name).not.toMatch(/redis\.call\('S?PUBLISH'/);
      if (!publishers.includes(name)) continue;
      const code = lua.slice(lua.indexOf('local function publish('));
      const firstLine = code.slice(code.indexOf('\nend\n') + 5).trimStart();
      expect(firstLine, name).toMatch(/^checkPublishCommand\(ARGV\[\d+\]\)/);
    }
    expect(snapshotScripts()).toEqual({
      wrCasSnapshot: expect.objectContaining({ numberOfKeys: 1 }) as unknown,
    });
  });
});
