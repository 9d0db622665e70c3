import {
  PROTOCOL_VERSION,
  buildClientContext,
  requestKey,
  type RoutingMode,
} from '../../lambda/protocol.js';
import type { StateScope } from '../directory/types.js';

/**
 * How the gateway names the warm state a request works on (docs/protocol.md,
 * "Snapshot scope"). The directory decides the scope (namespace, epoch,
 * generation, and the key at the end of a binding chain); this module turns
 * it into the warm request the function reads, so the naming lives in one
 * place. The function adds its own name; the gateway never names a function
 * in the scope, so a key cannot reach another function's state.
 */

/** A memo id of a scope (JSON: unambiguous whatever the fields contain). */
export function stateScopeId(scope: StateScope): string {
  return JSON.stringify([scope.namespace, scope.epoch, scope.generation, scope.key]);
}

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
): ReturnType<typeof buildClientContext> {
  return buildClientContext({
    v: PROTOCOL_VERSION,
    key: requestKey(scope.key, scope.generation),
    mode,
    stateVersion,
    wrap: true,
    scope: { ns: scope.namespace, epoch: scope.epoch, gen: scope.generation },
  });
}
