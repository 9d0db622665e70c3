/**
 * The warm-state protocol between the gateway and a function wrapped by
 * `withWarmState` — version 1. Both sides import this module; nothing else
 * defines these names.
 *
 * Request (gateway → function): the Invoke API's client context
 * (`X-Amz-Client-Context`, base64 JSON, ≤ 3,583 bytes) carries
 * `{ "custom": { "warmroute": WarmRequest } }`. The payload stays the
 * application's own. Lambda's Node runtime exposes it as
 * `context.clientContext.custom.warmroute`. Since the snapshot scope
 * (docs/protocol.md) the request also carries `scope` — an optional field,
 * so version 1 is extended compatibly rather than bumped.
 *
 * Response (function → gateway): only when the request asked for it
 * (`wrap: true`), the function returns the envelope
 * `{ "warmroute/v1": WarmReport, "result": <handler result> }` with the
 * report first, so the gateway can recognise it from the leading bytes.
 * A caller that did not ask (a direct Invoke) gets the handler's result
 * unchanged, and a function that does not use the library returns its result
 * unwrapped: the gateway then reports state `unknown`.
 *
 * Keep-warm (issue 18, added compatibly to version 1): a request whose
 * `custom.warmroute` is {@link KeepWarmRequest} (`keepWarm: true`, no key)
 * is answered by the library without running the handler and without
 * touching any key's state; see {@link KEEP_WARM_CLIENT_CONTEXT}.
 */

import { DEFAULT_CALL_MODE, ROUTING_MODES, type RoutingMode } from '../src/routing-mode.js';

// The routing mode is the gateway's decision (src/routing-mode.ts); a request
// only carries it. Re-exported because `warmroute/lambda` has always exported
// the type; gateway code imports it from src/routing-mode.ts.
export type { RoutingMode };

export const PROTOCOL_VERSION = 1;

/** Property name of the report in the response envelope. */
export const ENVELOPE_REPORT_FIELD = 'warmroute/v1';
/** Property name of the application's result in the response envelope. */
export const ENVELOPE_RESULT_FIELD = 'result';
/** Leading bytes of every envelope (JSON.stringify puts the report first). */
export const ENVELOPE_PREFIX = `{"${ENVELOPE_REPORT_FIELD}":`;
const ENVELOPE_PREFIX_BYTES = Buffer.from(ENVELOPE_PREFIX);

/**
 * Where the key's state lives on the gateway's side (added compatibly to
 * version 1; see docs/protocol.md). The function adds its own name to make
 * the full snapshot scope (lambda/snapshot-scope.ts).
 */
export interface WarmScope {
  /** The directory namespace the key was resolved in. */
  readonly ns: string;
  /** The directory's epoch of that namespace (changes only when the directory lost its data). */
  readonly epoch: string;
  /** The key's generation (bumped by each rotation). */
  readonly gen: number;
}

export interface WarmRequest {
  /** Protocol version the gateway speaks. */
  readonly v: typeof PROTOCOL_VERSION;
  /**
   * The affinity key (the session/workspace the state belongs to) as every
   * version-1 gateway sends it: with `#g<generation>` appended when the
   * generation is above 0, so a function built before scopes existed still
   * keeps generations apart. With `scope`, see {@link affinityKeyOf}.
   */
  readonly key: string;
  readonly mode: RoutingMode;
  /** Latest state version the gateway's directory knows of (0 = none known). */
  readonly stateVersion: number;
  /** Ask for the response envelope. */
  readonly wrap: boolean;
  /** Absent from gateways before scopes (and from tools that do not route): the key then stands alone. */
  readonly scope?: WarmScope;
}

/** `key` as a version-1 request carries it for `generation`. */
export function requestKey(affinityKey: string, generation: number): string {
  return generation > 0 ? `${affinityKey}#g${generation}` : affinityKey;
}

/**
 * The affinity key of a request with a scope: `key` without the
 * `#g<gen>` suffix the gateway appended. Undefined when the suffix is
 * missing (a malformed request: the scope is then ignored).
 */
export function affinityKeyOf(key: string, scope: WarmScope): string | undefined {
  if (scope.gen === 0) return key;
  const suffix = `#g${scope.gen}`;
  return key.endsWith(suffix) && key.length > suffix.length
    ? key.slice(0, -suffix.length)
    : undefined;
}

/** What a function reports it did with the key's state (`WarmReport.state`). */
export const WARM_STATES = ['hit', 'rehydrated', 'fresh'] as const;
export type WarmState = (typeof WARM_STATES)[number];

/**
 * What the gateway says happened to the key's state (`x-affinity-state`, the
 * SDK's `state`, the metrics' `state` label, the directory's outcome
 * counters): the function's report, or `unknown` when there was none (a
 * function without the library, a direct Invoke) or it was not valid.
 */
export const INVOCATION_STATES = [...WARM_STATES, 'unknown'] as const;
export type InvocationState = (typeof INVOCATION_STATES)[number];

/**
 * Why state was not a hit:
 * - `first-use`: this environment had never held the key (new or recycled environment);
 * - `released`: the environment held it but released it (LRU limit on keys in memory);
 * - `stale`: the copy in memory was older than the latest known version;
 * - `conflict`: a checkpoint lost a version race; the environment reloaded the winner.
 */
export const MISS_REASONS = ['first-use', 'released', 'stale', 'conflict'] as const;
export type MissReason = (typeof MISS_REASONS)[number];

export interface WarmReport {
  readonly v: typeof PROTOCOL_VERSION;
  /** Random id made when the environment initialised (tenantId is not known at init). */
  readonly env: string;
  readonly state: WarmState;
  readonly reason?: MissReason;
  /** State version the environment holds after this invocation. */
  readonly stateVersion: number;
  /** Milliseconds spent restoring from the snapshot store (0 on a hit). */
  readonly rehydrateMs: number;
  /** Snapshot conflicts met during this invocation. */
  readonly conflicts?: number;
  /** True on the first invocation this environment serves (a new execution environment: a cold start). */
  readonly coldStart?: boolean;
  /** Present (true) only on the answer to a keep-warm ping: the library answered it, no handler ran. */
  readonly keepWarm?: true;
}

export interface WarmEnvelope<TResult = unknown> {
  readonly [ENVELOPE_REPORT_FIELD]: WarmReport;
  readonly [ENVELOPE_RESULT_FIELD]: TResult;
}

/** The client context object the gateway sends (before base64): Lambda's Node runtime exposes `custom` as `context.clientContext.custom`. */
export interface WarmClientContext {
  readonly custom: { readonly warmroute: WarmRequest };
}

/** The client context object the gateway sends (before base64). */
export function buildClientContext(request: WarmRequest): WarmClientContext {
  return { custom: { warmroute: request } };
}

function readScope(value: unknown): WarmScope | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Partial<Record<keyof WarmScope, unknown>>;
  if (typeof s.ns !== 'string' || s.ns.length === 0 || typeof s.epoch !== 'string')
    return undefined;
  if (typeof s.gen !== 'number' || !Number.isSafeInteger(s.gen) || s.gen < 0) return undefined;
  return { ns: s.ns, epoch: s.epoch, gen: s.gen };
}

/**
 * Read the gateway's request out of a Lambda context's clientContext, if
 * present and well formed. A malformed `scope` is dropped (the request is
 * then read like one from a gateway before scopes).
 */
export function readWarmRequest(clientContext: unknown): WarmRequest | undefined {
  if (typeof clientContext !== 'object' || clientContext === null) return undefined;
  const custom = (clientContext as { custom?: unknown }).custom;
  if (typeof custom !== 'object' || custom === null) return undefined;
  const req = (custom as { warmroute?: unknown }).warmroute;
  if (typeof req !== 'object' || req === null) return undefined;
  const r = req as Partial<Record<keyof WarmRequest, unknown>>;
  if (r.v !== PROTOCOL_VERSION || typeof r.key !== 'string' || r.key.length === 0) return undefined;
  const mode = ROUTING_MODES.find((m) => m === r.mode) ?? DEFAULT_CALL_MODE;
  const stateVersion =
    typeof r.stateVersion === 'number' &&
    Number.isSafeInteger(r.stateVersion) &&
    r.stateVersion >= 0
      ? r.stateVersion
      : 0;
  const scope = readScope(r.scope);
  const request: WarmRequest = {
    v: PROTOCOL_VERSION,
    key: r.key,
    mode,
    stateVersion,
    wrap: r.wrap === true,
  };
  return scope !== undefined && affinityKeyOf(r.key, scope) !== undefined
    ? { ...request, scope }
    : request;
}

/**
 * Split a function's response payload into report and result. Returns
 * undefined when the payload is not an envelope (function without the
 * library): the caller then passes the payload through untouched.
 */
export function parseEnvelope(
  payload: Uint8Array,
): { report: WarmReport; result: unknown } | undefined {
  const prefix = ENVELOPE_PREFIX_BYTES;
  if (payload.length < prefix.length || !prefix.equals(payload.subarray(0, prefix.length))) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'),
    );
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const env = parsed as Record<string, unknown>;
  const report: unknown = env[ENVELOPE_REPORT_FIELD];
  if (
    typeof report !== 'object' ||
    report === null ||
    (report as { v?: unknown }).v !== PROTOCOL_VERSION
  ) {
    return undefined;
  }
  return { report: report as WarmReport, result: env[ENVELOPE_RESULT_FIELD] };
}

/**
 * The keep-warm ping: what the gateway sends to keep a tenant's environment
 * alive across an idle gap (src/budget/keep-warm.ts decides when).
 *
 * The marker travels in the client context, not the payload:
 * - Both Invoke paths the gateway uses carry it unchanged: the fast path
 *   signs and sends `X-Amz-Client-Context` itself, the SDK's
 *   `InvokeCommand` sends `ClientContext`; Lambda hands it to the Node
 *   runtime's `context.clientContext` on synchronous (RequestResponse)
 *   invocations, which is all the gateway makes. It is ~70 bytes of the
 *   3,583 allowed.
 * - Only the gateway writes the client context (no route copies one from
 *   a request), whereas the payload is the application's: the RPC route
 *   forwards a client's body as it came, so a reserved payload is something
 *   any HTTP client could send, and the function could not tell a ping from
 *   an application request that happens to look like one.
 * - It rides in the `warmroute` object the library already reads, with no
 *   `key`: a ping concerns an environment, not a key. A library from before
 *   keep-warm reads it as no request at all (a direct Invoke) and runs the
 *   handler on the payload, which is why keep-warm is opt-in per route and
 *   why the answer carries `keepWarm: true` (the gateway can tell).
 *
 * The payload is fixed too ({@link KEEP_WARM_PAYLOAD}) so that a function
 * without the library, pinged by mistake, gets an event that is plainly not
 * an application request (not an API Gateway proxy event, no body).
 *
 * The answer: when `wrap` is true, the envelope `{ "warmroute/v1": report,
 * "result": null }` with `keepWarm: true`, the environment's id, and `state`
 * `hit` (the environment had served before: it was alive and warm) or
 * `fresh` with `coldStart: true` (the ping itself started a new environment:
 * the old one was already gone). `stateVersion` is 0 and `rehydrateMs` 0:
 * no key was looked at.
 */
export interface KeepWarmRequest {
  readonly v: typeof PROTOCOL_VERSION;
  readonly keepWarm: true;
  /** Ask for the response envelope (the gateway always does). */
  readonly wrap: boolean;
}

/** The client context of every keep-warm ping (before base64). */
export const KEEP_WARM_CLIENT_CONTEXT: {
  readonly custom: { readonly warmroute: KeepWarmRequest };
} = Object.freeze({
  custom: Object.freeze({
    warmroute: Object.freeze({ v: PROTOCOL_VERSION, keepWarm: true, wrap: true } as const),
  }),
});

/** The payload of every keep-warm ping (JSON). */
export const KEEP_WARM_PAYLOAD = '{"warmroute":"keep-warm"}';

/** True when a Lambda context's clientContext is a keep-warm ping. */
export function isKeepWarm(clientContext: unknown): boolean {
  if (typeof clientContext !== 'object' || clientContext === null) return false;
  const custom = (clientContext as { custom?: unknown }).custom;
  if (typeof custom !== 'object' || custom === null) return false;
  const req = (custom as { warmroute?: unknown }).warmroute;
  if (typeof req !== 'object' || req === null) return false;
  const r = req as Partial<Record<keyof KeepWarmRequest, unknown>>;
  return r.v === PROTOCOL_VERSION && r.keepWarm === true;
}

/** Whether a keep-warm ping asked for the envelope. */
export function keepWarmWraps(clientContext: unknown): boolean {
  const custom = (clientContext as { custom?: { warmroute?: { wrap?: unknown } } } | null)?.custom;
  return custom?.warmroute?.wrap === true;
}
