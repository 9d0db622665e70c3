import {
  PROTOCOL_VERSION,
  buildClientContext,
  requestKey,
  type WarmClientContext,
} from '../../lambda/protocol.js';
import { encodeClientContext } from '../backend/backend.js';
import type { StateScope } from '../directory/types.js';
import type { RoutingMode } from '../routing-mode.js';

/**
 * How the gateway names the warm state a request works on (docs/protocol.md,
 * "The state key" and "Snapshot scope"). The directory decides the scope (namespace, epoch,
 * generation, and the key at the end of a binding chain); this module turns
 * it into the warm request the function reads, so the naming lives in one
 * place. The function adds its own name; the gateway never names a function
 * in the scope, so a key cannot reach another function's state.
 */

/**
 * The client context object of a warm request for `scope`. `key` keeps the
 * `#g<generation>` suffix every version-1 gateway sent, so a function on a
 * library without scopes still keeps generations apart; a function that
 * reads `scope` strips it again (lambda/protocol.ts `affinityKeyOf`).
 * `stateVersion` is the directory's version for the function being invoked
 * (versions are kept per function, as snapshots are): never another
 * function's, which would make this one's warm copy look stale.
 */
export function warmClientContext(
  scope: StateScope,
  mode: RoutingMode,
  stateVersion: number,
): WarmClientContext {
  return buildClientContext({
    v: PROTOCOL_VERSION,
    key: requestKey(scope.key, scope.generation),
    mode,
    stateVersion,
    wrap: true,
    scope: { ns: scope.namespace, epoch: scope.epoch, gen: scope.generation },
  });
}

/** Bounds the memo below: a scope per warm key; past this many it starts over. */
const MAX_MEMO_SCOPES = 10_000;

/** One memo entry: the scope and call it was encoded for, and the encoding. */
interface Encoded {
  readonly namespace: string;
  readonly epoch: string;
  readonly generation: number;
  readonly mode: RoutingMode;
  readonly stateVersion: number;
  readonly base64: string;
}

/**
 * The `X-Amz-Client-Context` value (base64) of each scope, reused while its
 * mode and state version stay the same: JSON + base64 per request measured
 * ~2 µs, and a warm key's version only moves when its state is written.
 * Looked up by the scope's key and checked field by field, so a request
 * builds no memo id (a JSON id per request measured ~1 µs); a key seen under
 * another namespace, epoch or generation replaces its entry.
 */
export class ClientContextMemo {
  readonly #memo = new Map<string, Encoded>();

  encoded(scope: StateScope, mode: RoutingMode, stateVersion: number): string {
    const memo = this.#memo.get(scope.key);
    if (
      memo !== undefined &&
      memo.mode === mode &&
      memo.stateVersion === stateVersion &&
      memo.generation === scope.generation &&
      memo.epoch === scope.epoch &&
      memo.namespace === scope.namespace
    ) {
      return memo.base64;
    }
    const base64 = encodeClientContext(warmClientContext(scope, mode, stateVersion));
    if (memo === undefined && this.#memo.size >= MAX_MEMO_SCOPES) this.#memo.clear();
    this.#memo.set(scope.key, {
      namespace: scope.namespace,
      epoch: scope.epoch,
      generation: scope.generation,
      mode,
      stateVersion,
      base64,
    });
    return base64;
  }
}
