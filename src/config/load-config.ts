import { readFileSync } from 'node:fs';
import { WarmrouteError } from '../errors.js';
import { countSchemaErrors, everySchemaError, MAX_REPORTED_ERRORS } from './schema-errors.js';
import { crossFieldProblems, routeFunctionProblems } from './check-config.js';
import { ConfigSchema, defaults, settings, type Config, type SettingKind } from './schema.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether a value is a loaded `Config` rather than an environment map, for
 * the APIs that take either (`createGateway`, the SDK's embedded transport).
 * Every config has a `routes` array; every value of an environment map is a
 * string, so no map passes.
 */
export function isConfig(value: Config | Env | undefined): value is Config {
  return value !== undefined && Array.isArray((value as { routes?: unknown }).routes);
}

export interface LoadConfigOptions {
  /** Defaults a command supplies on top of the built-in ones (e.g. `warmroute start`'s routes). */
  readonly overrides?: Record<string, unknown>;
  /** Admin token to use outside production when none is configured (printed by `warmroute start`). */
  readonly devAdminToken?: string;
}

function convert(
  kind: SettingKind,
  raw: string,
): { ok: true; value: unknown } | { ok: false; why: string } {
  switch (kind) {
    case 'string':
      return { ok: true, value: raw };
    // Plain decimal text only: Number() alone would also take `0x10`, `0b1`,
    // `1e3` and `Infinity`, forms nobody means in a setting.
    case 'integer':
      return /^-?\d+$/.test(raw.trim())
        ? { ok: true, value: Number(raw) }
        : { ok: false, why: 'must be an integer (decimal digits)' };
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw.trim())
        ? { ok: true, value: Number(raw) }
        : { ok: false, why: 'must be a decimal number' };
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return { ok: true, value: true };
      if (/^(0|false|no|off)$/i.test(raw)) return { ok: true, value: false };
      return { ok: false, why: 'must be true or false' };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(raw) as unknown };
      } catch (err) {
        return { ok: false, why: `must be JSON (${(err as Error).message})` };
      }
  }
}

/** Longest raw value a problem line quotes whole; a longer one is cut and its length given. */
const MAX_QUOTED_CHARS = 120;

/**
 * A raw value as a problem line quotes it: a JSON setting can be hundreds of
 * kilobytes (WARMROUTE_FUNCTIONS with every function), and echoing it whole
 * would bury the other problems of the every-error report.
 */
function quoted(raw: string): string {
  if (raw.length <= MAX_QUOTED_CHARS) return JSON.stringify(raw);
  return `${JSON.stringify(raw.slice(0, MAX_QUOTED_CHARS))}… (${raw.length} characters)`;
}

function readFile(path: string, problems: string[]): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
    problems.push(`WARMROUTE_CONFIG (${path}): must hold a JSON object`);
  } catch (err) {
    problems.push(`WARMROUTE_CONFIG (${path}): ${(err as Error).message}`);
  }
  return {};
}

/** How many schema errors the capped report left out (0 when it was not capped). */
function uncountedSchemaErrors(listed: number, value: unknown): number {
  if (listed < MAX_REPORTED_ERRORS) return 0;
  return countSchemaErrors(ConfigSchema, value) - listed;
}

function envNameOf(field: string): string {
  return settings.find((s) => s.field === field)?.env ?? field;
}

/** Friendlier text for the schema keywords users meet most. */
function describe(error: {
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}): string {
  if (error.keyword === 'enum') {
    const allowed = error.params['allowedValues'];
    return `must be one of ${Array.isArray(allowed) ? allowed.map(String).join(', ') : '?'}`;
  }
  if (error.keyword === 'pattern') return `must match ${String(error.params['pattern'])}`;
  return error.message;
}

/**
 * Build the one frozen config from defaults, the optional file
 * (`WARMROUTE_CONFIG`) and the environment. Every bad value is reported in
 * one `WR_ERR_CONFIG` error, one line each.
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const filePath = env['WARMROUTE_CONFIG'];
  const fromFile = filePath === undefined || filePath === '' ? {} : readFile(filePath, problems);

  const fromEnv: Record<string, unknown> = {};
  for (const setting of settings) {
    const raw = env[setting.env];
    if (setting.field === null || raw === undefined || raw === '') continue;
    const converted = convert(setting.kind, raw);
    if (converted.ok) fromEnv[setting.field] = converted.value;
    else problems.push(`${setting.env}=${quoted(raw)}: ${converted.why}`);
  }
  if (env['WARMROUTE_ENV'] === 'production' || env['NODE_ENV'] === 'production') {
    fromEnv['production'] = true;
  }
  // An explicit endpoint selects the endpoint backend unless the user chose otherwise.
  if (fromEnv['lambdaEndpoint'] !== undefined && env['WARMROUTE_BACKEND'] === undefined) {
    fromEnv['backend'] = 'endpoint';
  }

  const merged: Record<string, unknown> = {
    ...defaults,
    ...options.overrides,
    ...fromFile,
    ...fromEnv,
  };
  if (
    merged['adminToken'] === undefined &&
    merged['production'] !== true &&
    options.devAdminToken !== undefined
  ) {
    merged['adminToken'] = options.devAdminToken;
  }

  // A path with the variable it came from, when that was the environment.
  const sourceOf = (path: string, top: string): string => {
    const source = top in fromEnv ? envNameOf(top) : path;
    return source === path ? path : `${source} (${path})`;
  };
  const seen = new Set<string>();
  const badPaths: string[] = [];
  const schemaErrors = everySchemaError(ConfigSchema, merged);
  for (const error of schemaErrors) {
    // Unions and additionalProperties report twice; keep the first per path.
    if (error.keyword === 'boolean' || error.keyword === 'anyOf') continue;
    const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const top = path.split('.')[0] ?? '';
    badPaths.push(path);
    let line: string;
    if (error.keyword === 'additionalProperties') {
      const extra = error.params['additionalProperties'];
      const names = Array.isArray(extra) ? extra.map(String).join(', ') : '?';
      // Under a JSON setting (WARMROUTE_FUNCTIONS, WARMROUTE_ROUTES) name the variable, as below.
      const where = path === '' ? 'config' : sourceOf(path, top);
      line = `${where}: unknown setting(s) ${names}`;
    } else {
      line = `${sourceOf(path, top)}: ${describe(error)}`;
    }
    if (!seen.has(line)) {
      seen.add(line);
      problems.push(line);
    }
  }

  const unlisted = uncountedSchemaErrors(schemaErrors.length, merged);
  if (unlisted > 0) {
    problems.push(
      `… and ${unlisted} more schema error(s), not listed (the first ${MAX_REPORTED_ERRORS} are)`,
    );
  }

  const config = merged as Config;
  // Whether the schema accepted everything at and under `path` (e.g. `port`, `routes.2`).
  const valid = (path: string): boolean =>
    !badPaths.some((bad) => bad === path || bad.startsWith(`${path}.`));
  problems.push(...crossFieldProblems(config, valid));
  // With the embedded local host the functions file completes the list later (runStart checks again).
  if (valid('routes') && valid('functions') && config.backend !== 'local') {
    problems.push(...routeFunctionProblems(config));
  }

  if (problems.length > 0) {
    throw new WarmrouteError('WR_ERR_CONFIG', [problems.map((p) => `  - ${p}`).join('\n')]);
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
