import { basename } from 'node:path';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Node as YamlNode,
} from 'yaml';
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

/** Shortest name without underscores taken as a squashed known name (`REDISURL`). */
const MIN_SQUASHED_LENGTH = 8;

/**
 * Every variable-looking name a template line sets or reads. A name without
 * an underscore (`PATH`, `CMD`) counts only if `alsoBare` has it (the
 * gateway's `HOST` and `PORT`), or if it is a known name with its
 * underscores dropped, give or take one edit (`REDISURL`; only names of 8+
 * characters: otherwise every upper-case YAML key would. A misspelt short
 * name without underscore (`PROT`, `HOTS`) is not found: `POST` and `HOSTS`
 * are one edit away too.)
 */
export function envReferences(
  lines: readonly SourceLine[],
  alsoBare: ReadonlySet<string>,
  known: Iterable<string> = [],
): EnvReference[] {
  const squashed = [...known].filter((n) => n.includes('_')).map((n) => n.replaceAll('_', ''));
  const counts = (name: string): boolean =>
    name.includes('_') ||
    alsoBare.has(name) ||
    (name.length >= MIN_SQUASHED_LENGTH && squashed.some((k) => editDistance(name, k) <= 1));
  const found: EnvReference[] = [];
  for (const { file, line, text } of lines) {
    const names = new Set<string>();
    for (const pattern of PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const name = match[1];
        if (name !== undefined && counts(name)) names.add(name);
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
    return `${name} is not a gateway setting (src/config/schema.ts settings), a function library variable (lambda/environment.ts) or an SDK client variable (src/sdk/env-options.ts)${hint}; a variable of deploy/'s own example code takes a name without the WARMROUTE_ prefix`;
  }
  if (nearest !== undefined) return `${name} looks like a misspelling of ${nearest}`;
  return undefined;
}

/** Who reads a variable set in a given place. */
export type EnvContext = 'gateway' | 'function';

/** A variable set where the scanner can tell who reads it. */
export interface ContextReference extends EnvReference {
  readonly context: EnvContext;
  /** The place, for the report: `Resources.Counter`, `services.gateway`, `Deployment/x gateway`. */
  readonly where: string;
  /** The same block sets WARMROUTE_BACKEND=local: the example functions run inside the gateway. */
  readonly localBackend: boolean;
}

const LAMBDA_TYPES = new Set(['AWS::Lambda::Function', 'AWS::Serverless::Function']);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);
// The gateway image: deploy/docker/Dockerfile's build, or an image named after it.
const GATEWAY_DOCKERFILE = /(^|\/)deploy\/docker\/Dockerfile$/;
const GATEWAY_IMAGE = /warmroute/;

function get(node: unknown, ...keys: readonly string[]): unknown {
  let at = node;
  for (const key of keys) {
    if (!isMap(at)) return undefined;
    at = at.get(key, true);
  }
  return at;
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}

/**
 * Where variables are set, with who reads them, in the forms the scanner
 * can tell for sure: CloudFormation/SAM `Environment.Variables` of a Lambda
 * function (and SAM `Globals.Function`) are the function's; a Kubernetes
 * workload container running the gateway image (its `env:`), a kustomize
 * generator's `literals`/`files` (deploy/k8s deploys the gateway only), a
 * compose service built from deploy/docker/Dockerfile (its `environment:`)
 * and ENV in deploy/docker/Dockerfile are the gateway's. CDK code is not
 * read here (its `environment:` objects are TypeScript; the CDK template
 * tests check each construct's environment).
 */
export function contextReferences(file: string, text: string): ContextReference[] {
  if (basename(file) === 'Dockerfile') return dockerfileContext(file, text);
  if (!/\.ya?ml$/.test(file)) return [];
  const lineCounter = new LineCounter();
  const found: ContextReference[] = [];
  const lineOf = (node: YamlNode): number => lineCounter.linePos(node.range?.[0] ?? 0).line;
  /** `name` keys of a map, or `NAME=value` items of a list, set in one block. */
  const block = (node: unknown, context: EnvContext, where: string): void => {
    const refs: { name: string; line: number }[] = [];
    let localBackend = false;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key;
        const name = scalarText(key);
        if (name === undefined || !isScalar(key)) continue;
        refs.push({ name, line: lineOf(key) });
        if (name === 'WARMROUTE_BACKEND' && scalarText(pair.value) === 'local') localBackend = true;
      }
    } else if (isSeq(node)) {
      for (const item of node.items) {
        // Kubernetes `- name: X`, or compose / kustomize `- NAME=value`.
        const name = isMap(item) ? scalarText(item.get('name', true)) : scalarText(item);
        const match = name === undefined ? null : /^([A-Za-z_][A-Za-z0-9_]*)(=(.*))?$/.exec(name);
        if (match?.[1] === undefined || !(isMap(item) || isScalar(item))) continue;
        refs.push({ name: match[1], line: lineOf(item) });
        const value = isMap(item) ? scalarText(item.get('value', true)) : match[3];
        if (match[1] === 'WARMROUTE_BACKEND' && value === 'local') localBackend = true;
      }
    }
    for (const ref of refs) found.push({ ...ref, file, context, where, localBackend });
  };
  for (const doc of parseAllDocuments(text, { lineCounter })) {
    // Unknown tags (CloudFormation's !Ref, !Sub) are warnings; a document that does not parse
    // is the syntax checks' business (each artifact's own test).
    if (doc.errors.length > 0) continue;
    const root = doc.contents;
    const resources = get(root, 'Resources');
    if (isMap(resources)) {
      for (const pair of resources.items) {
        if (!isPair(pair) || !LAMBDA_TYPES.has(scalarText(get(pair.value, 'Type')) ?? '')) continue;
        const where = `Resources.${scalarText(pair.key) ?? '?'}`;
        block(get(pair.value, 'Properties', 'Environment', 'Variables'), 'function', where);
      }
    }
    block(
      get(root, 'Globals', 'Function', 'Environment', 'Variables'),
      'function',
      'Globals.Function',
    );
    const kind = scalarText(get(root, 'kind'));
    if (kind !== undefined && WORKLOAD_KINDS.has(kind)) {
      const containers = get(root, 'spec', 'template', 'spec', 'containers');
      if (isSeq(containers)) {
        for (const container of containers.items) {
          if (!GATEWAY_IMAGE.test(scalarText(get(container, 'image')) ?? '')) continue;
          const where = `${kind}/${scalarText(get(root, 'metadata', 'name')) ?? '?'} container ${scalarText(get(container, 'name')) ?? '?'}`;
          block(get(container, 'env'), 'gateway', where);
        }
      }
    }
    if (kind === 'Kustomization') {
      for (const generator of ['configMapGenerator', 'secretGenerator']) {
        const list = get(root, generator);
        if (!isSeq(list)) continue;
        for (const item of list.items) {
          const where = `${generator} ${scalarText(get(item, 'name')) ?? '?'}`;
          block(get(item, 'literals'), 'gateway', where);
          block(get(item, 'files'), 'gateway', where);
        }
      }
    }
    const services = get(root, 'services');
    if (isMap(services)) {
      for (const pair of services.items) {
        const dockerfile = scalarText(get(pair.value, 'build', 'dockerfile')) ?? '';
        const image = scalarText(get(pair.value, 'image')) ?? '';
        if (!GATEWAY_DOCKERFILE.test(dockerfile) && !GATEWAY_IMAGE.test(image)) continue;
        block(get(pair.value, 'environment'), 'gateway', `services.${scalarText(pair.key) ?? '?'}`);
      }
    }
  }
  return found;
}

/** ENV of the gateway image's Dockerfile (`ENV A=1 \` continued lines included). */
function dockerfileContext(file: string, text: string): ContextReference[] {
  const found: ContextReference[] = [];
  let inEnv = false;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    const body = inEnv ? line : /^ENV\s+(.*)$/i.exec(line)?.[1];
    inEnv = body !== undefined && line.endsWith('\\');
    if (body === undefined) return;
    for (const match of body.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)) {
      if (match[1] === undefined) continue;
      found.push({
        name: match[1],
        file,
        line: i + 1,
        context: 'gateway',
        where: 'ENV',
        localBackend: false,
      });
    }
  });
  return found;
}

/** The names each reader knows, for {@link contextProblem}. */
export interface KnownByReader {
  readonly gateway: ReadonlySet<string>;
  readonly function: ReadonlySet<string>;
  readonly sdk: ReadonlySet<string>;
}

/**
 * A variable set for the wrong reader: a gateway setting on a Lambda
 * function (it reads the function library's and the SDK's), or a function
 * library or SDK variable on the gateway (the SDK's `WARMROUTE_FUNCTION`
 * there is most likely a misspelt `WARMROUTE_FUNCTIONS`). Function library
 * variables are right on a gateway that runs the example functions itself
 * (`WARMROUTE_BACKEND=local`: they inherit its environment).
 */
export function contextProblem(ref: ContextReference, known: KnownByReader): string | undefined {
  const { name } = ref;
  if (ref.context === 'function') {
    if (known.function.has(name) || known.sdk.has(name) || !known.gateway.has(name))
      return undefined;
    return `${name} is a gateway setting, set on the Lambda function ${ref.where} (the function library reads ${[...known.function].join(', ')})`;
  }
  if (known.gateway.has(name)) return undefined;
  if (known.function.has(name) && !ref.localBackend) {
    return `${name} is a function library variable (lambda/environment.ts), set on the gateway (${ref.where}); set it on the Lambda functions`;
  }
  if (known.sdk.has(name)) {
    const nearest = nearestKnown(name, known.gateway);
    return `${name} is an SDK client variable, not a gateway setting, set on the gateway (${ref.where})${nearest === undefined ? '' : ` (did you mean ${nearest}?)`}`;
  }
  return undefined;
}
