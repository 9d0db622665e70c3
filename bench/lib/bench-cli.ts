/**
 * The command line of `npm run bench` (bench/run.ts): its flags, and the
 * `--help` text built from what each section module says of itself. Pure
 * functions, so the argument handling is tested without running a section.
 */

/**
 * What a section module exports as `info` for `--help`: its size in each
 * mode, written from the same constants its `bench()` uses, so the help
 * cannot drift from what runs.
 */
export interface SectionInfo {
  /** E.g. `3 rounds × 600 requests per path and Redis`. */
  readonly size: { readonly quick: string; readonly full: string };
  /** Rough wall time on the 2-core development machine, e.g. `~30 s`, `50–90 min`. */
  readonly duration: { readonly quick: string; readonly full: string };
  /** Environment variables the section reads → what each does (with its default). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SectionHelp {
  readonly name: string;
  /** One line: what the section measures. */
  readonly measures: string;
  /** Undefined when the module does not export `info`. */
  readonly info?: SectionInfo | undefined;
  /** Set when the module could not be loaded to read its `info`. */
  readonly loadError?: string | undefined;
}

export type BenchArgs =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'run';
      readonly quick: boolean;
      /** Section names to run, in the registry's order; undefined: all of them. */
      readonly only: readonly string[] | undefined;
    };

/** A command line `run.ts` refuses: the message is for the user, the exit code is 2. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

const ONLY = '--only';

/**
 * `--quick`, `--only=a,b` (or `--only a,b`, repeatable), `-h`/`--help`.
 * Anything else, and any name in `--only` that is not a section, throws
 * BenchUsageError: a typo must not silently run nothing, or everything.
 */
export function parseBenchArgs(argv: readonly string[], sections: readonly string[]): BenchArgs {
  let quick = false;
  let help = false;
  let only: string[] | undefined;
  const addOnly = (list: string, flag: string): void => {
    const names = list.split(',').map((n) => n.trim());
    if (names.some((n) => n === ''))
      throw new BenchUsageError(
        `${flag}: expected section names separated by commas, got '${list}'`,
      );
    only = [...(only ?? []), ...names];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg.startsWith(`${ONLY}=`)) addOnly(arg.slice(ONLY.length + 1), ONLY);
    else if (arg === ONLY) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-'))
        throw new BenchUsageError(
          `${ONLY} needs a list of sections, e.g. ${ONLY}=gateway,directory`,
        );
      addOnly(next, ONLY);
      i++;
    } else throw new BenchUsageError(`unknown argument '${arg}'`);
  }
  if (help) return { kind: 'help' };
  if (only === undefined) return { kind: 'run', quick, only: undefined };
  const wanted = new Set(only);
  const unknown = [...wanted].filter((n) => !sections.includes(n));
  if (unknown.length > 0) {
    throw new BenchUsageError(
      `unknown section${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} in ${ONLY} (sections: ${sections.join(', ')})`,
    );
  }
  return { kind: 'run', quick, only: sections.filter((n) => wanted.has(n)) };
}

/** The message and hint printed (on stderr) for a refused command line. */
export function usageErrorText(err: BenchUsageError): string {
  return `bench: ${err.message}\nRun 'npm run bench -- --help' for the flags and sections.\n`;
}

/** The `--help` text. */
export function formatHelp(sections: readonly SectionHelp[]): string {
  const nameWidth = Math.max(...sections.map((s) => s.name.length));
  const indent = ' '.repeat(nameWidth + 4);
  const lines = [
    'Usage: npm run bench [-- --quick] [-- --only=a,b]',
    '       node dist/bench/run.js [--quick] [--only=a,b]   (after npm run build)',
    '',
    'Runs the benchmark sections one after another in one process. Results go to',
    'stdout and to bench/results/<time>.json; progress goes to stderr (a bar with',
    'an ETA on a terminal, a line every 10 s otherwise).',
    '',
    'Flags:',
    '  --quick         small sizes: a smoke test of every section (CI runs it)',
    '  --only=a,b      only these sections, in the order below (also: --only a,b)',
    '  -h, --help      this text; runs nothing',
    '',
    'Sections (size and rough time in each mode, on a shared 2-core machine: times grow with its load):',
  ];
  const env = new Map<string, string[]>();
  for (const s of sections) {
    lines.push(`  ${s.name.padEnd(nameWidth)}  ${s.measures}`);
    if (s.info !== undefined) {
      lines.push(`${indent}quick: ${s.info.size.quick} (${s.info.duration.quick})`);
      lines.push(`${indent}full:  ${s.info.size.full} (${s.info.duration.full})`);
      for (const [name, what] of Object.entries(s.info.env ?? {})) {
        env.set(name, [...(env.get(name) ?? []), `${s.name}: ${what}`]);
      }
    } else if (s.loadError !== undefined) {
      lines.push(`${indent}(sizes unknown: the module did not load: ${s.loadError})`);
    } else {
      lines.push(`${indent}(sizes not declared: the module exports no \`info\`)`);
    }
  }
  if (env.size > 0) {
    lines.push('', 'Environment:');
    const width = Math.max(...[...env.keys()].map((k) => k.length));
    for (const [name, uses] of [...env].sort(([a], [b]) => a.localeCompare(b))) {
      uses.forEach((use, i) => {
        lines.push(`  ${(i === 0 ? name : '').padEnd(width)}  ${use}`);
      });
    }
  }
  return `${lines.join('\n')}\n`;
}

/** 50000 → '50,000', for the sizes in `info`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
