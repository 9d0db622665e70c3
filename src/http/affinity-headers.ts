import type { FastifyReply } from 'fastify';
import { INVOCATION_STATES } from '../../lambda/protocol.js';

/** Response headers that tell a client what happened to its key. */
export const AFFINITY_HEADERS = {
  tenant: 'x-affinity-tenant',
  state: 'x-affinity-state',
  env: 'x-affinity-env',
} as const;

// What a header may carry without encoding: visible ASCII. The tenant ID is
// derived and the state comes from a closed set; the environment id comes
// from the function's report, so it is checked here too, at the last step
// before a header, whatever the invoker validated.
const HEADER_TOKEN = /^[\x21-\x7e]{1,128}$/;
/** The states the invoker reports (tokens already): a set lookup instead of the pattern. */
const KNOWN_STATES: ReadonlySet<string> = new Set(INVOCATION_STATES);

export function setAffinityHeaders(
  reply: FastifyReply,
  result: { tenantId: string; state: string; envId?: string | undefined },
): void {
  reply.header(AFFINITY_HEADERS.tenant, result.tenantId);
  const state = result.state;
  reply.header(
    AFFINITY_HEADERS.state,
    KNOWN_STATES.has(state) || HEADER_TOKEN.test(state) ? state : 'unknown',
  );
  // Set or removed, never left as it was: a proxied function's own headers
  // are applied first and must not speak for the gateway.
  if (result.envId !== undefined && HEADER_TOKEN.test(result.envId))
    reply.header(AFFINITY_HEADERS.env, result.envId);
  // Only when set: deleting a property that is not there still turns the
  // reply's header object into a slow dictionary-mode object.
  else if (reply.hasHeader(AFFINITY_HEADERS.env)) reply.removeHeader(AFFINITY_HEADERS.env);
}
