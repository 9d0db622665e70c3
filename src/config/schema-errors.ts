import type { TSchema } from 'typebox';
import type { TLocalizedValidationError } from 'typebox/error';
import { Settings } from 'typebox/system';
import Value from 'typebox/value';

/**
 * TypeBox stops collecting errors after `maxErrors` (8 by default, a guard
 * for validating untrusted requests). A config or a functions file is the
 * operator's own and its report must list every problem, so the cap is
 * raised for this one synchronous call and put back.
 */
export const MAX_REPORTED_ERRORS = 1_000;

/** Every schema violation of an operator-supplied document (config, functions file). */
export function everySchemaError(
  schema: TSchema,
  value: unknown,
): readonly TLocalizedValidationError[] {
  const saved = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: MAX_REPORTED_ERRORS });
  try {
    return Value.Errors(schema, value);
  } finally {
    Settings.Set({ maxErrors: saved });
  }
}

/**
 * How many violations a document has in all, for the line that says how
 * many a capped report left out. Counted only when the cap was reached:
 * walking every error of a huge broken document is the cost of saying so.
 */
export function countSchemaErrors(schema: TSchema, value: unknown): number {
  const saved = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: Number.MAX_SAFE_INTEGER });
  try {
    return Value.Errors(schema, value).length;
  } finally {
    Settings.Set({ maxErrors: saved });
  }
}
