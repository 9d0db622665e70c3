import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FunctionSettings, Tenancy } from '../config/function-settings.js';
import { WarmrouteError } from '../errors.js';
import { moduleInside, parseHandlerSpec } from './handler-spec.js';

/**
 * The functions file: which functions the local host runs. A JSON object
 * `{ "functions": [ … ] }` (a bare array or any other field is refused):
 *
 * ```json
 * { "functions": [
 *   { "name": "counter", "codeDir": "counter", "handler": "index.handler",
 *     "tenancy": "PER_TENANT", "memoryMb": 128, "timeoutSeconds": 3,
 *     "reservedConcurrency": 10, "environment": { "LOG_LEVEL": "info",
 *     "WARMROUTE_SNAPSHOT_REDIS_URL": "${WARMROUTE_SNAPSHOT_REDIS_URL}" } }
 * ] }
 * ```
 *
 * - `name` (required): 1–64 characters of `[a-zA-Z0-9-_]`, as Lambda's function names.
 * - `codeDir` (required): the function's code directory (LAMBDA_TASK_ROOT),
 *   relative to the functions file's directory.
 * - `handler` (default `index.handler`): `path/file.export` as Lambda's `_HANDLER`;
 *   the file is `file.js`, `.mjs` or `.cjs` under codeDir; a module path that
 *   resolves outside codeDir (`../`, absolute) is refused.
 * - `tenancy` (default `NONE`): `PER_TENANT` (tenant isolation mode: every
 *   invoke names a TenantId, environments never shared between tenants) or `NONE`.
 * - `memoryMb` (default 128, 128–10,240): V8's old space is sized from it.
 * - `timeoutSeconds` (default 3, > 0 and ≤ 900; fractions allowed locally so tests stay fast).
 * - `reservedConcurrency` (optional integer ≥ 0): at most this many concurrent
 *   invocations, 429 beyond; it also sets the tenant-environment cap
 *   (2,500 per 1,000 concurrency, as Lambda).
 * - `environment` (optional): string variables for the function. `${NAME}` and
 *   `${NAME:-default}` are replaced from the host's environment when the file
 *   is loaded, so secrets and URLs stay out of the file; a reference that
 *   comes out empty leaves the variable unset.
 */
export type { Tenancy };

/** A function the local host runs: the one function-settings type, plus what running it needs. */
export interface FunctionDefinition extends Readonly<FunctionSettings> {
  readonly name: string;
  /** Absolute path of the code directory. */
  readonly codeDir: string;
  readonly handler: string;
  readonly reservedConcurrency: number | undefined;
  readonly environment: Readonly<Record<string, string>>;
}

export type HostEnv = Readonly<Record<string, string | undefined>>;

const NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
// Lambda's handler setting: a module path, a dot, an export name (nested exports allowed).
const HANDLER_RE = /^[^\s.][^\s]*\.[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
const ENV_NAME_RE = /^[a-zA-Z]\w*$/;
// Lambda reserves these; the host sets them itself.
const RESERVED_ENV = new Set([
  '_HANDLER',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);
const KNOWN_FIELDS = new Set([
  'name',
  'codeDir',
  'handler',
  'tenancy',
  'memoryMb',
  'timeoutSeconds',
  'reservedConcurrency',
  'environment',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A bad value as the message shows it: short, and defined for every input. */
function shown(value: unknown): string {
  // JSON.stringify gives undefined for undefined and functions, whatever its type says.
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? typeof value : text.slice(0, 100);
}

function substitute(value: string, env: HostEnv): string {
  return value.replace(
    /\$\{([a-zA-Z_]\w*)(?::-([^}]*))?\}/g,
    (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      return v === undefined || v === '' ? (fallback ?? '') : v;
    },
  );
}

/**
 * Validates declarations (already parsed JSON). Relative `codeDir`s resolve
 * against `baseDir`. Every bad value is reported in one WR_ERR_CONFIG error.
 */
export function validateFunctions(
  raw: unknown,
  baseDir: string,
  env: HostEnv = {},
): FunctionDefinition[] {
  const problems: string[] = [];
  // One documented shape. A bare array used to be read as the list itself,
  // so `[]` (or any JSON array) started a host with nothing to run and no
  // complaint; the object form leaves room for file-level settings.
  if (!isRecord(raw)) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      `  functions file: expected an object { "functions": [ … ] }, got ${Array.isArray(raw) ? 'an array' : shown(raw)}`,
    ]);
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'functions') problems.push(`  ${key}: unknown field`);
  }
  const list = raw.functions;
  if (!Array.isArray(list)) {
    problems.push(`  functions: expected an array of function declarations, got ${shown(list)}`);
    throw new WarmrouteError('WR_ERR_CONFIG', [problems.join('\n')]);
  }
  const out: FunctionDefinition[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, i) => {
    const at = (field: string): string => `  functions[${i}]${field === '' ? '' : `.${field}`}`;
    if (!isRecord(item)) {
      problems.push(`${at('')}: expected an object`);
      return;
    }
    const before = problems.length;
    for (const key of Object.keys(item)) {
      if (!KNOWN_FIELDS.has(key)) problems.push(`${at(key)}: unknown field`);
    }
    const { name, codeDir, handler = 'index.handler', tenancy = 'NONE' } = item;
    const { memoryMb = 128, timeoutSeconds = 3, reservedConcurrency, environment = {} } = item;
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      problems.push(
        `${at('name')}: must be 1-64 characters of [a-zA-Z0-9-_], got ${JSON.stringify(name)}`,
      );
    } else if (seen.has(name)) {
      problems.push(`${at('name')}: duplicate function name '${name}'`);
    } else {
      seen.add(name);
    }
    let dir = '';
    if (typeof codeDir !== 'string' || codeDir === '') {
      problems.push(`${at('codeDir')}: must be a directory path, got ${JSON.stringify(codeDir)}`);
    } else {
      dir = isAbsolute(codeDir) ? codeDir : resolve(baseDir, codeDir);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        problems.push(`${at('codeDir')}: directory ${dir} does not exist`);
      }
    }
    if (typeof handler !== 'string' || !HANDLER_RE.test(handler)) {
      problems.push(
        `${at('handler')}: must look like 'index.handler' (file.export), got ${JSON.stringify(handler)}`,
      );
    } else {
      const spec = parseHandlerSpec(handler);
      // Checked against a stand-in root when codeDir is itself bad: the
      // handler's own problem is reported either way.
      if (spec !== undefined && moduleInside(dir || baseDir, spec.modulePath) === undefined) {
        problems.push(
          `${at('handler')}: module '${spec.modulePath}' must be a path inside codeDir, got ${JSON.stringify(handler)}`,
        );
      }
    }
    if (tenancy !== 'PER_TENANT' && tenancy !== 'NONE') {
      problems.push(
        `${at('tenancy')}: must be 'PER_TENANT' or 'NONE', got ${JSON.stringify(tenancy)}`,
      );
    }
    if (
      typeof memoryMb !== 'number' ||
      !Number.isInteger(memoryMb) ||
      memoryMb < 128 ||
      memoryMb > 10_240
    ) {
      problems.push(
        `${at('memoryMb')}: must be an integer from 128 to 10240, got ${JSON.stringify(memoryMb)}`,
      );
    }
    if (typeof timeoutSeconds !== 'number' || !(timeoutSeconds > 0) || timeoutSeconds > 900) {
      problems.push(
        `${at('timeoutSeconds')}: must be a number > 0 and <= 900, got ${JSON.stringify(timeoutSeconds)}`,
      );
    }
    if (
      reservedConcurrency !== undefined &&
      (typeof reservedConcurrency !== 'number' ||
        !Number.isInteger(reservedConcurrency) ||
        reservedConcurrency < 0)
    ) {
      problems.push(
        `${at('reservedConcurrency')}: must be an integer >= 0, got ${JSON.stringify(reservedConcurrency)}`,
      );
    }
    const vars: Record<string, string> = {};
    if (!isRecord(environment)) {
      problems.push(`${at('environment')}: must be an object of string values`);
    } else {
      for (const [k, v] of Object.entries(environment)) {
        if (!ENV_NAME_RE.test(k)) problems.push(`${at(`environment.${k}`)}: invalid variable name`);
        else if (RESERVED_ENV.has(k))
          problems.push(`${at(`environment.${k}`)}: reserved by Lambda`);
        else if (typeof v !== 'string')
          problems.push(`${at(`environment.${k}`)}: must be a string`);
        else {
          const value = substitute(v, env);
          // An unset `${NAME}` leaves the variable unset rather than empty.
          if (value !== '' || v === '') vars[k] = value;
        }
      }
    }
    if (problems.length > before) return;
    out.push(
      Object.freeze({
        name: name as string,
        codeDir: dir,
        handler: handler as string,
        tenancy: tenancy as Tenancy,
        memoryMb: memoryMb as number,
        timeoutSeconds: timeoutSeconds as number,
        reservedConcurrency: reservedConcurrency as number | undefined,
        environment: Object.freeze(vars),
      }),
    );
  });
  if (problems.length > 0) throw new WarmrouteError('WR_ERR_CONFIG', [problems.join('\n')]);
  return out;
}

/** Reads and validates a functions file; code directories resolve against the file's directory. */
export function loadFunctionsFile(path: string, env: HostEnv = process.env): FunctionDefinition[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WarmrouteError(
      'WR_ERR_CONFIG',
      [`  functions file ${path}: cannot be read (${(err as Error).message})`],
      {
        cause: err,
      },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new WarmrouteError(
      'WR_ERR_CONFIG',
      [`  functions file ${path}: not valid JSON (${(err as Error).message})`],
      {
        cause: err,
      },
    );
  }
  try {
    return validateFunctions(raw, dirname(resolve(path)), env);
  } catch (err) {
    if (err instanceof WarmrouteError) {
      throw new WarmrouteError('WR_ERR_CONFIG', [
        `  in ${path}:\n${err.message.replace(/^Invalid configuration:\n/, '')}`,
      ]);
    }
    throw err;
  }
}
