import type { FastifyReply } from 'fastify';

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

export function setAffinityHeaders(
  reply: FastifyReply,
  result: { tenantId: string; state: string; envId?: string | undefined },
): void {
  reply.header(AFFINITY_HEADERS.tenant, result.tenantId);
  reply.header(AFFINITY_HEADERS.state, HEADER_TOKEN.test(result.state) ? result.state : 'unknown');
  // Set or removed, never left as it was: a proxied function's own headers
  // are applied first and must not speak for the gateway.
  if (result.envId !== undefined && HEADER_TOKEN.test(result.envId))
    reply.header(AFFINITY_HEADERS.env, result.envId);
  else reply.removeHeader(AFFINITY_HEADERS.env);
}
