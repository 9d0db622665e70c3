import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import {
  FUNCTIONS_FILE_DEFAULTS,
  FunctionSettingsSchema,
  type FunctionSettings,
  type Tenancy,
} from '../config/function-settings.js';
import { everySchemaError, MAX_REPORTED_ERRORS } from '../config/schema-errors.js';
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
 *
 * The shape is `FunctionsFileSchema` below (the settings part is the gateway's
 * own `FunctionSettingsSchema`); the defaults of omitted settings are
 * `FUNCTIONS_FILE_DEFAULTS`, both in src/config/function-settings.ts.
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

const DEFAULT_HANDLER = 'index.handler';
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

/**
 * One item of the functions file, as declared (defaults not applied): the
 * function settings, each optional, plus what running the function needs.
 * `rule` is how a violation reads in the report (see function-settings.ts).
 */
export const FunctionDeclarationSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-zA-Z0-9_-]{1,64}$',
      rule: 'must be 1-64 characters of [a-zA-Z0-9-_]',
    }),
    codeDir: Type.String({ minLength: 1, rule: 'must be a directory path' }),
    handler: Type.Optional(
      Type.String({
        // Lambda's handler setting: a module path, a dot, an export name (nested exports allowed).
        pattern: '^[^\\s.][^\\s]*\\.[A-Za-z_$][\\w$]*(\\.[A-Za-z_$][\\w$]*)*$',
        rule: "must look like 'index.handler' (file.export)",
      }),
    ),
    ...Type.Partial(FunctionSettingsSchema).properties,
    reservedConcurrency: Type.Optional(
      Type.Integer({ minimum: 0, rule: 'must be an integer >= 0' }),
    ),
    environment: Type.Optional(
      Type.Record(Type.String(), Type.String({ rule: 'must be a string' }), {
        propertyNames: { pattern: '^[a-zA-Z]\\w*$', rule: 'invalid variable name' },
        rule: 'must be an object of string values',
      }),
    ),
  },
  { additionalProperties: false, rule: 'expected an object' },
);

/** The functions file: one documented shape, room for file-level settings later. */
export const FunctionsFileSchema = Type.Object(
  {
    functions: Type.Array(FunctionDeclarationSchema, {
      rule: 'expected an array of function declarations',
    }),
  },
  // A bare array used to be read as the list itself, so `[]` (or any JSON
  // array) started a host with nothing to run and no complaint.
  { additionalProperties: false, rule: 'expected an object { "functions": [ … ] }' },
);

export type FunctionDeclaration = Static<typeof FunctionDeclarationSchema>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A bad value as the message shows it: short, and defined for every input. */
function shown(value: unknown): string {
  // JSON.stringify gives undefined for undefined and functions, whatever its type says.
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? typeof value : text.slice(0, 100);
}

/**
 * `/functions/0/environment/A` → `functions[0].environment.A` (the file's own
 * notation); a key that would not read plainly (empty, `/`, spaces) is quoted:
 * `environment["a b"]`.
 */
function dotted(pointer: string): string {
  return Value.Pointer.Indices(pointer)
    .map((part, i) => {
      if (i === 1 && /^\d+$/.test(part)) return `[${part}]`;
      if (!/^[\w$-]+$/.test(part)) return `[${shown(part)}]`;
      return i === 0 ? part : `.${part}`;
    })
    .join('');
}

/** A JSON pointer one key deeper (a key may hold `/` or `~`). */
function child(pointer: string, key: string): string {
  return `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

interface Problem {
  /** The function the line is about (its index), -1 for the file itself: lines are grouped by it. */
  readonly item: number;
  readonly text: string;
}

function problem(pointer: string, text: string): Problem {
  const [top, index] = Value.Pointer.Indices(pointer);
  return {
    item: top === 'functions' && index !== undefined && /^\d+$/.test(index) ? Number(index) : -1,
    text: `  ${pointer === '' ? 'functions file' : dotted(pointer)}: ${text}`,
  };
}

/** The rule stated beside the constraint the value broke (`schemaPath` is a pointer into the schema). */
function ruleAt(schemaPath: string): string | undefined {
  const schema = Value.Pointer.Get(FunctionsFileSchema, schemaPath.replace(/^#/, ''));
  const rule = isRecord(schema) ? schema['rule'] : undefined;
  return typeof rule === 'string' ? rule : undefined;
}

/** Every schema violation of the file, one line per bad value, with its path and what was there. */
function schemaProblems(raw: unknown): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const add = (p: Problem): void => {
    if (seen.has(p.text)) return;
    seen.add(p.text);
    out.push(p);
  };
  const errors = everySchemaError(FunctionsFileSchema, raw);
  for (const error of errors) {
    const { keyword, params, instancePath, schemaPath } = error;
    // `boolean` repeats additionalProperties per field; `propertyNames` sums up the names' own errors.
    if (keyword === 'boolean' || keyword === 'propertyNames') continue;
    if (keyword === 'additionalProperties') {
      const extra = params['additionalProperties'];
      for (const name of Array.isArray(extra) ? extra : []) {
        add(problem(child(instancePath, name), 'unknown field'));
      }
    } else if (keyword === 'required') {
      const missing = params['requiredProperties'];
      for (const name of Array.isArray(missing) ? missing : []) {
        const rule = ruleAt(`${schemaPath}/properties/${name}`) ?? 'required';
        add(problem(child(instancePath, name), `${rule}, got undefined`));
      }
    } else if (schemaPath.endsWith('/propertyNames')) {
      // The path names the key itself; its value is not the problem.
      add(problem(instancePath, ruleAt(schemaPath) ?? error.message));
    } else {
      const value = Value.Pointer.Get(raw, instancePath);
      const got = instancePath === '' && Array.isArray(value) ? 'an array' : shown(value);
      add(problem(instancePath, `${ruleAt(schemaPath) ?? error.message}, got ${got}`));
    }
  }
  if (errors.length >= MAX_REPORTED_ERRORS) {
    out.push({
      item: Infinity,
      text: `  … and more (the first ${MAX_REPORTED_ERRORS} are listed)`,
    });
  }
  return out;
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

function codeDirOf(codeDir: string, baseDir: string): string {
  return isAbsolute(codeDir) ? codeDir : resolve(baseDir, codeDir);
}

/**
 * What the schema cannot state: names unique across the file, codeDir an
 * existing directory, the handler's module inside codeDir, no variable Lambda
 * reserves. Each is checked on the fields the schema accepted, so a file's
 * every problem is reported at once.
 */
function fileProblems(raw: unknown, baseDir: string): Problem[] {
  const out: Problem[] = [];
  const list = isRecord(raw) ? raw['functions'] : undefined;
  if (!Array.isArray(list)) return out;
  const fields = FunctionDeclarationSchema.properties;
  const seen = new Set<string>();
  list.forEach((item: unknown, i) => {
    if (!isRecord(item)) return;
    const at = (field: string, text: string): void => {
      out.push({ item: i, text: `  functions[${i}].${field}: ${text}` });
    };
    const { name, codeDir, handler = DEFAULT_HANDLER, environment } = item;
    if (Value.Check(fields.name, name)) {
      if (seen.has(name)) at('name', `duplicate function name '${name}'`);
      seen.add(name);
    }
    let dir = '';
    if (Value.Check(fields.codeDir, codeDir)) {
      dir = codeDirOf(codeDir, baseDir);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        at('codeDir', `directory ${dir} does not exist`);
      }
    }
    const spec = typeof handler === 'string' ? parseHandlerSpec(handler) : undefined;
    // Checked against a stand-in root when codeDir is itself bad: the
    // handler's own problem is reported either way.
    if (
      Value.Check(fields.handler, handler) &&
      spec !== undefined &&
      moduleInside(dir || baseDir, spec.modulePath) === undefined
    ) {
      at(
        'handler',
        `module '${spec.modulePath}' must be a path inside codeDir, got ${JSON.stringify(handler)}`,
      );
    }
    if (isRecord(environment)) {
      for (const key of Object.keys(environment)) {
        if (RESERVED_ENV.has(key)) at(`environment.${key}`, 'reserved by Lambda');
      }
    }
  });
  return out;
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
  const problems = [...schemaProblems(raw), ...fileProblems(raw, baseDir)];
  if (problems.length > 0 || !Value.Check(FunctionsFileSchema, raw)) {
    // Stable: each function's lines stay in the order they were found.
    problems.sort((a, b) => a.item - b.item);
    throw new WarmrouteError('WR_ERR_CONFIG', [problems.map((p) => p.text).join('\n')]);
  }
  return raw.functions.map((declared) => {
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(declared.environment ?? {})) {
      const value = substitute(v, env);
      // An unset `${NAME}` leaves the variable unset rather than empty.
      if (value !== '' || v === '') vars[k] = value;
    }
    return Object.freeze({
      name: declared.name,
      codeDir: codeDirOf(declared.codeDir, baseDir),
      handler: declared.handler ?? DEFAULT_HANDLER,
      timeoutSeconds: declared.timeoutSeconds ?? FUNCTIONS_FILE_DEFAULTS.timeoutSeconds,
      memoryMb: declared.memoryMb ?? FUNCTIONS_FILE_DEFAULTS.memoryMb,
      tenancy: declared.tenancy ?? FUNCTIONS_FILE_DEFAULTS.tenancy,
      reservedConcurrency: declared.reservedConcurrency,
      environment: Object.freeze(vars),
    });
  });
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
