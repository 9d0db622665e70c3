import Type, { type Static } from 'typebox';

/**
 * A function's settings: the one type for what the gateway and the local host
 * need to know of a function. The gateway's config (`functions` in
 * `schema.ts`), the local host's functions file (`FunctionDefinition` in
 * `src/localhost/function-registry.ts` extends it) and the invoker all use it;
 * only the defaults differ, and each set is named below with its reason.
 *
 * `rule` (not a JSON Schema keyword; validators ignore it) is how a value
 * that breaks the constraint beside it reads in a report, so the words and
 * the bounds stand together (the functions file's report uses it).
 */
export const FunctionSettingsSchema = Type.Object(
  {
    /** The function's own timeout; the backend's client timeout is kept longer. */
    timeoutSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 900,
      rule: 'must be a number > 0 and <= 900',
    }),
    /** Configured memory, used for the cold-start cost estimate. */
    memoryMb: Type.Integer({
      minimum: 128,
      maximum: 10_240,
      rule: 'must be an integer from 128 to 10240',
    }),
    /** Functions without tenant isolation are invoked without a TenantId. */
    tenancy: Type.Enum(['PER_TENANT', 'NONE'], { rule: "must be 'PER_TENANT' or 'NONE'" }),
  },
  { additionalProperties: false },
);

export type FunctionSettings = Static<typeof FunctionSettingsSchema>;

/**
 * A function's settings as the gateway's config declares them: the shared
 * settings plus what only the tenant-environment budget reads (README
 * "Tenant-environment budget"). Kept out of the functions file's schema: the
 * local host takes its cap from `reservedConcurrency` there and from
 * `--tenant-environment-cap`, and would otherwise accept a field it ignores.
 */
export const GatewayFunctionSettingsSchema = Type.Object(
  {
    ...FunctionSettingsSchema.properties,
    /** The function's reserved concurrency on Lambda; it sets the default cap (2,500 per 1,000). */
    reservedConcurrency: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        rule: 'must be an integer from 0 to 1000000',
      }),
    ),
    /** Tenant environments (busy or idle) Lambda allows the function; default from the concurrency. */
    tenantEnvironmentCap: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        rule: 'must be an integer from 1 to 10000000',
      }),
    ),
    /**
     * The idle time after which the function's environments are gone, as far
     * as known (the local host's `--idle-reclaim`, a measurement): the
     * budget's starting point until it has learned the lifetime from traffic.
     */
    idleLifetimeMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400_000,
        rule: 'must be an integer from 1 to 86400000',
      }),
    ),
  },
  { additionalProperties: false },
);

export type GatewayFunctionSettings = Static<typeof GatewayFunctionSettingsSchema>;
export type Tenancy = FunctionSettings['tenancy'];

/**
 * What a field left out of a functions file means: Lambda's own
 * CreateFunction defaults (3 s, 128 MB), so a function behaves locally as it
 * will once deployed with the same declaration. Tenancy is `NONE` because
 * tenant isolation is opt-in on Lambda too (a function created without
 * `TenancyConfig` has none).
 */
export const FUNCTIONS_FILE_DEFAULTS: Readonly<FunctionSettings> = Object.freeze({
  timeoutSeconds: 3,
  memoryMb: 128,
  tenancy: 'NONE',
});

/**
 * What the gateway assumes of a function its config does not declare (only
 * reachable when `functions` is empty, i.e. no allow-list): the values that
 * cannot make it wrong, only less informed.
 * - `timeoutSeconds` 900, Lambda's maximum: no client-side warning or cut-off
 *   can fire before the function itself would have timed out.
 * - `memoryMb` 128, Lambda's minimum: the cold-start cost estimate is a lower
 *   bound, never an overstatement.
 * - `tenancy` `PER_TENANT`: the call carries the key's TenantId, so a
 *   tenant-isolated function never runs one tenant in another's environment;
 *   a function without tenancy refuses the TenantId loudly (400
 *   InvalidParameterValueException, mapped to WR_ERR_BACKEND) instead of
 *   sharing environments silently.
 */
export const UNDECLARED_FUNCTION_SETTINGS: Readonly<FunctionSettings> = Object.freeze({
  timeoutSeconds: 900,
  memoryMb: 128,
  tenancy: 'PER_TENANT',
});

/**
 * What the gateway needs to know of functions the local host runs: timeout
 * (the client's timeout stays longer), memory (cold-start price), tenancy and
 * reserved concurrency (the tenant-environment cap).
 * Takes any named settings (the local host's `FunctionDefinition`s) and keeps
 * only the settings, so the gateway's config stays `additionalProperties: false`.
 */
export function functionSettingsOf(
  definitions: readonly (FunctionSettings & {
    readonly name: string;
    readonly reservedConcurrency?: number | undefined;
  })[],
): Record<string, GatewayFunctionSettings> {
  return Object.fromEntries(
    definitions.map((f) => [
      f.name,
      {
        timeoutSeconds: f.timeoutSeconds,
        memoryMb: f.memoryMb,
        tenancy: f.tenancy,
        // The host derives its tenant-environment cap from it: the gateway's budget must agree.
        ...(f.reservedConcurrency === undefined
          ? {}
          : { reservedConcurrency: f.reservedConcurrency }),
      },
    ]),
  );
}
