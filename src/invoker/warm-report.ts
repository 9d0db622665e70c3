import {
  MISS_REASONS,
  WARM_STATES,
  type InvocationState,
  type MissReason,
  type WarmState,
} from '../../lambda/protocol.js';
import type { ReportField } from './metric-labels.js';
import { isValidEnvId } from '../directory/index.js';

/**
 * The one place a function's warm-state report is checked. Everything in the
 * report is the function's word, and functions may be untrusted code (the
 * reason `fresh` mode exists): its values become metric labels, response
 * headers (`x-affinity-state`, `x-affinity-env`) and directory records. So
 * each field is kept only if it has the type, range and length the protocol
 * defines; anything else is dropped (or, for `state`, becomes `unknown`) and
 * named in `invalid` so the caller can count it.
 */

const STATES: ReadonlySet<string> = new Set(WARM_STATES);
const REASONS: ReadonlySet<string> = new Set(MISS_REASONS);

/** Lambda's longest function timeout: no honest rehydration takes longer. */
const MAX_REHYDRATE_MS = 900_000;
/** The library retries a lost race a handful of times per invocation. */
const MAX_CONFLICTS = 1_000;

export interface ValidWarmReport {
  readonly state: InvocationState;
  /** A known miss reason, `other` for an unknown one, undefined when absent. */
  readonly reason: MissReason | 'other' | undefined;
  readonly env: string | undefined;
  readonly stateVersion: number | undefined;
  readonly rehydrateMs: number;
  readonly conflicts: number | undefined;
  readonly coldStart: boolean | undefined;
}

export interface ReportCheck {
  readonly report: ValidWarmReport;
  /** Fields that were present but not valid (empty when the report is clean). */
  readonly invalid: readonly ReportField[];
}

const EMPTY: readonly ReportField[] = Object.freeze([]);

const NO_REPORT: ValidWarmReport = Object.freeze({
  state: 'unknown',
  reason: undefined,
  env: undefined,
  stateVersion: undefined,
  rehydrateMs: 0,
  conflicts: undefined,
  coldStart: undefined,
});

/** A finite number in [min, max]; with `integer`, a safe integer. */
function isNumberIn(value: unknown, min: number, max: number, integer: boolean): value is number {
  return (
    typeof value === 'number' &&
    (integer ? Number.isSafeInteger(value) : Number.isFinite(value)) &&
    value >= min &&
    value <= max
  );
}

/** Check a report taken from a response envelope (any JSON value). */
export function validateWarmReport(raw: unknown): ReportCheck {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { report: NO_REPORT, invalid: ['report'] };
  }
  const r = raw as Record<string, unknown>;
  const invalid: ReportField[] = [];

  let state: ValidWarmReport['state'] = 'unknown';
  if (typeof r.state === 'string' && STATES.has(r.state)) state = r.state as WarmState;
  else invalid.push('state');

  let reason: ValidWarmReport['reason'];
  if (r.reason !== undefined) {
    if (typeof r.reason === 'string' && REASONS.has(r.reason)) reason = r.reason as MissReason;
    else {
      invalid.push('reason');
      reason = 'other';
    }
  }

  let env: string | undefined;
  if (isValidEnvId(r.env)) env = r.env;
  else invalid.push('env');

  let stateVersion: number | undefined;
  if (isNumberIn(r.stateVersion, 0, Number.MAX_SAFE_INTEGER, true)) stateVersion = r.stateVersion;
  else invalid.push('stateVersion');

  let rehydrateMs = 0;
  if (r.rehydrateMs !== undefined) {
    if (isNumberIn(r.rehydrateMs, 0, MAX_REHYDRATE_MS, false)) rehydrateMs = r.rehydrateMs;
    else invalid.push('rehydrateMs');
  }

  let conflicts: number | undefined;
  if (r.conflicts !== undefined) {
    if (isNumberIn(r.conflicts, 0, MAX_CONFLICTS, true)) conflicts = r.conflicts;
    else invalid.push('conflicts');
  }

  let coldStart: boolean | undefined;
  if (r.coldStart !== undefined) {
    if (typeof r.coldStart === 'boolean') coldStart = r.coldStart;
    else invalid.push('coldStart');
  }

  return {
    report: { state, reason, env, stateVersion, rehydrateMs, conflicts, coldStart },
    invalid: invalid.length === 0 ? EMPTY : invalid,
  };
}
