import type { FastifyReply } from 'fastify';

/** Response headers that tell a client what happened to its key. */
export const AFFINITY_HEADERS = {
  tenant: 'x-affinity-tenant',
  state: 'x-affinity-state',
  env: 'x-affinity-env',
} as const;

export function setAffinityHeaders(
  reply: FastifyReply,
  result: { tenantId: string; state: string; envId?: string | undefined },
): void {
  reply.header(AFFINITY_HEADERS.tenant, result.tenantId);
  reply.header(AFFINITY_HEADERS.state, result.state);
  if (result.envId !== undefined) reply.header(AFFINITY_HEADERS.env, result.envId);
}
