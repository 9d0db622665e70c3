/**
 * How the gateway routes a key to a tenant (README "Modes per route"):
 * - `affinity`: a stable tenant per key, so the key finds its warm environment;
 * - `fresh`: a random tenant per request, a clean environment for untrusted code;
 * - `pooled`: the key hashed into one of `poolSize` tenant slots, to cap cold-start cost.
 *
 * The gateway decides the mode; the config's route schema, the directory, the
 * scheduler, the invoker and the SDK read this list. The function only hears
 * which mode served it (lambda/protocol.ts `WarmRequest.mode`), so the wire
 * protocol imports it from here instead of keeping a copy that could fall behind.
 */
export const ROUTING_MODES = ['affinity', 'fresh', 'pooled'] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];

/**
 * The modes a caller may pick per call (the RPC route's `x-affinity-mode`,
 * the SDK's `mode`). `pooled` is not one: it needs a pool size, which only a
 * configured route carries.
 */
export const CALL_MODES = ['affinity', 'fresh'] as const satisfies readonly RoutingMode[];
export type CallMode = (typeof CALL_MODES)[number];

/**
 * The mode of a call that names none: the RPC route without
 * `x-affinity-mode`, the SDK without `mode`, the directory's `resolve()`
 * without `opts.mode`, and a warm request whose `mode` the function cannot read.
 */
export const DEFAULT_CALL_MODE: CallMode = 'affinity';
