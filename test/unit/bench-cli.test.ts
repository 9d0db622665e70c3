import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BenchUsageError,
  formatHelp,
  parseBenchArgs,
  type SectionHelp,
} from '../../bench/lib/bench-cli.js';
import { runBench, sections, type BenchCliDeps } from '../../bench/run.js';

const NAMES = sections.map((s) => s.name);

/** runBench with fakes: what it printed, whether it ran sections, and with what. */
async function cli(argv: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const runs: { quick: boolean; only: readonly string[] | undefined }[] = [];
  const deps: BenchCliDeps = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    help: () => Promise.resolve(sections.map((s) => ({ name: s.name, measures: s.measures }))),
    run: (quick, only) => {
      runs.push({ quick, only });
      return Promise.resolve();
    },
  };
  const code = await runBench(argv, deps);
  return { code, out: out.join(''), err: err.join(''), runs };
}

describe('npm run bench: arguments', () => {
  it('--help and -h list every registered section with its line and run nothing', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.runs).toEqual([]);
      const lines = r.out.split('\n');
      for (const s of sections) {
        const line = lines.find((l) => l.startsWith(`  ${s.name} `));
        expect(line?.trim()).toMatch(new RegExp(`^${s.name} +`));
        expect(line?.endsWith(s.measures)).toBe(true);
      }
      expect(r.out).toContain('--quick');
      expect(r.out).toContain('--only=');
    }
  });

  it('--help wins over other flags, even --quick with a section list', async () => {
    const r = await cli(['--quick', '--only=backend', '--help']);
    expect(r.code).toBe(0);
    expect(r.runs).toEqual([]);
  });

  it('an unknown flag exits 2 with a message naming it, and runs nothing', async () => {
    const r = await cli(['--quik']);
    expect(r.code).toBe(2);
    expect(r.runs).toEqual([]);
    expect(r.out).toBe('');
    expect(r.err).toContain("unknown argument '--quik'");
    expect(r.err).toContain('--help');
  });

  it('an unknown section in --only exits 2 naming it and the sections there are', async () => {
    const r = await cli(['--only=backend,gatway']);
    expect(r.code).toBe(2);
    expect(r.runs).toEqual([]);
    expect(r.err).toContain("'gatway'");
    for (const name of NAMES) expect(r.err).toContain(name);
  });

  it('no arguments run every section at full size', async () => {
    expect((await cli([])).runs).toEqual([{ quick: false, only: undefined }]);
  });

  it('--only a,b (separate word) equals --only=a,b; repeated lists add up', async () => {
    const a = await cli(['--quick', '--only', 'sdk,backend']);
    const b = await cli(['--only=sdk', '--quick', '--only=backend']);
    expect(a.runs).toEqual([{ quick: true, only: ['backend', 'sdk'] }]);
    expect(b.runs).toEqual(a.runs);
  });

  it('--only with nothing after it, or an empty name, is refused', () => {
    for (const argv of [['--only'], ['--only='], ['--only', '--quick'], ['--only=backend,']]) {
      expect(() => parseBenchArgs(argv, NAMES)).toThrow(BenchUsageError);
    }
  });

  it('any subset of the sections, in any order, runs in the registry order (property)', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(NAMES, { minLength: 1 }), fc.boolean(), (picked, quick) => {
        const argv = [...(quick ? ['--quick'] : []), `--only=${picked.join(',')}`];
        expect(parseBenchArgs(argv, NAMES)).toEqual({
          kind: 'run',
          quick,
          only: NAMES.filter((n) => picked.includes(n)),
        });
      }),
    );
  });

  it('any other word is refused, never ignored (property)', () => {
    const known = new Set(['--quick', '--help', '-h', '--only']);
    fc.assert(
      fc.property(
        fc.string().filter((a) => !known.has(a) && !a.startsWith('--only=')),
        (arg) => {
          expect(() => parseBenchArgs(['--quick', arg], NAMES)).toThrow(BenchUsageError);
        },
      ),
    );
  });
});

describe('formatHelp', () => {
  it("shows each section's sizes and time per mode, and gathers the environment variables", () => {
    const help: SectionHelp[] = [
      {
        name: 'alpha',
        measures: 'what alpha measures',
        info: {
          size: { quick: '3 × 10 requests', full: '7 × 1,000 requests' },
          duration: { quick: '~5 s', full: '~2 min' },
          env: { ALPHA_URL: 'where alpha points' },
        },
      },
      { name: 'beta', measures: 'what beta measures' },
      { name: 'gamma', measures: 'what gamma measures', loadError: 'Cannot find module' },
    ];
    const text = formatHelp(help);
    expect(text).toContain('quick: 3 × 10 requests (~5 s)');
    expect(text).toContain('full:  7 × 1,000 requests (~2 min)');
    expect(text).toMatch(/^ {2}ALPHA_URL {2}alpha: where alpha points$/m);
    expect(text).toMatch(/beta measures\n +\(sizes not declared/);
    expect(text).toMatch(/gamma measures\n +\(sizes unknown: .*Cannot find module\)/);
  });
});

describe('npm run bench: every section declares its sizes', () => {
  it('each registered section module loads and exports info with quick and full sizes and times', async () => {
    for (const s of sections) {
      const mod = await s.load();
      expect(typeof mod.bench, s.name).toBe('function');
      for (const mode of ['quick', 'full'] as const) {
        expect(mod.info?.size[mode], `${s.name} size ${mode}`).toMatch(/\S/);
        expect(mod.info?.duration[mode], `${s.name} duration ${mode}`).toMatch(/\S/);
      }
    }
  }, 60_000);
});
