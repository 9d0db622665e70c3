import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One line of a template with its comments removed, and where it came from. */
export interface SourceLine {
  /** Path relative to the repository root, e.g. `deploy/k8s/base/deployment.yaml`. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly text: string;
}

// Build output and installed packages are not templates.
const SKIPPED_DIRS = new Set(['node_modules', 'cdk.out', '.git']);
const BINARY = /\.(png|jpe?g|gif|ico|zip|gz|tgz|woff2?)$/i;

/**
 * Every file under `dir` (relative to `root`) that git would track: the
 * git-ignored files (a user's filled-in `.env`, `secrets.env`) are that
 * user's, not the project's templates. Outside a git checkout nothing is
 * treated as ignored.
 */
export function templateFiles(root: string, dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile() && !BINARY.test(entry.name)) {
        found.push(relative(root, full));
      }
    }
  };
  walk(join(root, dir));
  const ignored = gitIgnored(root, found);
  return found.filter((file) => !ignored.has(file)).sort();
}

function gitIgnored(root: string, files: readonly string[]): Set<string> {
  let value = new Set<string>();
  try {
    const out = execFileSync('git', ['check-ignore', '--stdin'], {
      cwd: root,
      input: files.join('\n'),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    value = new Set(out.split('\n').filter((l) => l !== ''));
  } catch (err) {
    // Exit status 1: none of the files is ignored. Anything else (no git, not a checkout):
    // treat none as ignored, so a file is scanned rather than skipped.
    const stdout = (err as { stdout?: unknown }).stdout;
    if (typeof stdout === 'string') value = new Set(stdout.split('\n').filter((l) => l !== ''));
  }
  return value;
}

type Syntax = 'script' | 'hash' | 'json' | 'markdown';

function syntaxOf(file: string): Syntax {
  if (/\.(ts|tsx|js|mjs|cjs)$/.test(file)) return 'script';
  if (/\.json$/.test(file)) return 'json';
  if (/\.md$/.test(file)) return 'markdown';
  // YAML, Dockerfile, .env files, shell, Prometheus and Grafana configuration.
  return 'hash';
}

/**
 * `text` without `#` comments: a `#` outside quotes at the start of the
 * line or after white space starts one (YAML's rule; Dockerfile and .env
 * comments are whole lines, which this covers). Quotes open only at the
 * start of a value or word, not inside one.
 */
function withoutHashComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if ((c === '"' || c === "'") && /(?:^|[\s:[{,=(-])$/.test(text.slice(0, i))) {
      // A quote opens a quoted value only where one can start (`it's` in a plain YAML
      // scalar is an apostrophe, and the `#` after it still starts a comment).
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      return text.slice(0, i);
    }
  }
  return text;
}

// After one of these (or at the start of a line) a `/` starts a regular expression, not a division.
const BEFORE_REGEX = /(?:^|[(,=:[!&|?{};+\-*%<>~^]|\breturn|\btypeof|\bcase|\bof|\bin)\s*$/;

/**
 * The lines of a TypeScript/JavaScript file without `//` and `/* *\/`
 * comments. String, template literal and regular expression contents are
 * kept and never read as comments (`'https://…'`, `` `dist/*` ``,
 * `/https?:\/\//`), and a template literal's state carries over line ends,
 * so a multi-line `` `…` `` (a shell script in CDK code) loses nothing.
 * Code inside a template literal's `${…}` is read as string text.
 */
function withoutScriptComments(lines: readonly string[]): string[] {
  let inBlock = false;
  // Only a template literal spans lines; a quote or a regex ends with its line.
  let inTemplate = false;
  return lines.map((line) => {
    let out = '';
    let quote: string | undefined = inTemplate ? '`' : undefined;
    let regex: { inClass: boolean } | undefined;
    for (let i = 0; i < line.length; i++) {
      const c = line[i] ?? '';
      const next = line[i + 1] ?? '';
      if (inBlock) {
        if (c === '*' && next === '/') {
          inBlock = false;
          i++;
        }
        continue;
      }
      if (quote !== undefined || regex !== undefined) {
        out += c;
        if (c === '\\') {
          out += next;
          i++;
        } else if (regex !== undefined) {
          if (c === '[') regex.inClass = true;
          else if (c === ']') regex.inClass = false;
          else if (c === '/' && !regex.inClass) regex = undefined;
        } else if (c === quote) {
          quote = undefined;
        }
        continue;
      }
      if (c === '/' && next === '/') break;
      if (c === '/' && next === '*') {
        inBlock = true;
        i++;
        continue;
      }
      if (c === '/' && BEFORE_REGEX.test(out)) {
        regex = { inClass: false };
        out += c;
        continue;
      }
      if (c === '"' || c === "'" || c === '`') quote = c;
      out += c;
    }
    inTemplate = quote === '`';
    return out;
  });
}

/**
 * The lines of `text` that are template content, comments removed, with
 * their line numbers. Markdown keeps only its fenced code blocks (the
 * commands a user runs), each line read with `#` comments removed; prose is
 * not a template.
 */
export function sourceLines(file: string, text: string): SourceLine[] {
  const raw = text.split(/\r?\n/);
  let kept: string[];
  switch (syntaxOf(file)) {
    case 'script':
      kept = withoutScriptComments(raw);
      break;
    case 'json':
      kept = raw;
      break;
    case 'hash':
      kept = raw.map(withoutHashComment);
      break;
    case 'markdown': {
      let fenced = false;
      kept = raw.map((line) => {
        if (/^\s*(```|~~~)/.test(line)) {
          fenced = !fenced;
          return '';
        }
        return fenced ? withoutHashComment(line) : '';
      });
      break;
    }
  }
  return kept
    .map((lineText, i) => ({ file, line: i + 1, text: lineText }))
    .filter((l) => l.text.trim() !== '');
}

/** {@link sourceLines} of every template file under `dir`. */
export function templateLines(root: string, dir: string): SourceLine[] {
  return templateFiles(root, dir).flatMap((file) =>
    sourceLines(file, readFileSync(join(root, file), 'utf8')),
  );
}
