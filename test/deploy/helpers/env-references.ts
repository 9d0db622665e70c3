import type { SourceLine } from './template-sources.js';

/** An environment variable a template sets or reads, and where. */
export interface EnvReference {
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

// A variable name: upper case, digits and underscores, starting with a letter.
const NAME = '[A-Z][A-Z0-9_]*';
// Not part of a longer word on either side.
const BEFORE = '(?<![A-Za-z0-9_$.-])';
const AFTER = '(?![A-Za-z0-9_])';

/**
 * Where a template sets or reads a variable, one pattern per syntax:
 * - `NAME=value`: Dockerfile `ENV`, .env files, shell, `--from-literal=NAME=…`;
 * - `NAME: value`, `"NAME": …`, `'NAME': …`: YAML maps (compose `environment:`,
 *   SAM `Variables:`), JSON, TypeScript object literals (CDK `environment: { … }`,
 *   `secrets: { … }`);
 * - `name: NAME`, `key: NAME`, `{ name: 'NAME' }`: Kubernetes `env:` and the
 *   keys of `secretKeyRef`/`configMapKeyRef`, ECS `secrets: [{ name }]`;
 * - `${NAME}`, `${NAME:?…}`, `$NAME`, `$$NAME`: compose interpolation, shell;
 * - `process.env.NAME`, `env['NAME']`: code.
 */
const PATTERNS: readonly RegExp[] = [
  new RegExp(`${BEFORE}(${NAME})=(?!=)`, 'g'),
  new RegExp(`${BEFORE}["']?(${NAME})["']?\\s*:(?!:)`, 'g'),
  new RegExp(`\\b(?:name|key|Name|Key)["']?\\s*[:=]\\s*["']?(${NAME})${AFTER}`, 'g'),
  new RegExp(`\\$\\{(${NAME})(?=[}:?+=-])`, 'g'),
  new RegExp(`\\$(${NAME})${AFTER}`, 'g'),
  new RegExp(`\\benv\\.(${NAME})${AFTER}`, 'g'),
  new RegExp(`\\benv\\[\\s*["'](${NAME})["']\\s*\\]`, 'g'),
];

// A WARMROUTE_ name anywhere outside a comment is one of warmroute's, whatever the syntax
// around it: a safety net for forms the patterns above do not know.
const OURS = /(?<![A-Za-z0-9_])WARMROUTE_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_])/g;

/**
 * Every variable-looking name a template line sets or reads. A name without
 * an underscore (`PATH`, `CMD`) counts only if `alsoBare` has it (the
 * gateway's `HOST` and `PORT`): otherwise every upper-case YAML key would.
 */
export function envReferences(
  lines: readonly SourceLine[],
  alsoBare: ReadonlySet<string>,
): EnvReference[] {
  const found: EnvReference[] = [];
  for (const { file, line, text } of lines) {
    const names = new Set<string>();
    for (const pattern of PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const name = match[1];
        if (name !== undefined && (name.includes('_') || alsoBare.has(name))) names.add(name);
      }
    }
    for (const match of text.matchAll(OURS)) names.add(match[0]);
    for (const name of names) found.push({ name, file, line });
  }
  return found;
}

/** Damerau–Levenshtein distance (adjacent transpositions count 1), for near misses. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      const row = d[i];
      if (row !== undefined) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** How far a name may be from a known one to count as a misspelling of it. */
function nearMissLimit(known: string): number {
  // Short names sit close to unrelated ones (HOST and HOME are 2 apart): one edit only.
  return known.length <= 5 ? 1 : 2;
}

/** The known name `name` is most likely a misspelling of, if any. */
export function nearestKnown(name: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= nearMissLimit(candidate) && (best === undefined || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/**
 * A suggestion for a name already known to be wrong: looser than a near
 * miss, so a dropped unit suffix (`…_GRACE` for `…_GRACE_MS`) is named.
 */
function closest(name: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= Math.max(2, Math.floor(candidate.length / 6))) {
      if (best === undefined || distance < best.distance) best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/**
 * What is wrong with a reference, or undefined when nothing is: a name the
 * gateway or the function library knows is right; a `WARMROUTE_` name
 * neither knows is wrong; any other name close to a known one (`REDIS_URI`,
 * `AWS_ENDPOINT_URL_LAMDA`) is a misspelling; the rest (`NODE_ENV`,
 * `AWS_DEFAULT_REGION`, `GF_…`) belong to other software and are not checked.
 */
export function referenceProblem(name: string, known: ReadonlySet<string>): string | undefined {
  if (known.has(name)) return undefined;
  const nearest = nearestKnown(name, known);
  const suggestion = nearest ?? closest(name, known);
  const hint = suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
  if (name.startsWith('WARMROUTE_')) {
    return `${name} is neither a gateway setting (src/config/schema.ts settings) nor a function library variable (lambda/environment.ts)${hint}`;
  }
  if (nearest !== undefined) return `${name} looks like a misspelling of ${nearest}`;
  return undefined;
}
