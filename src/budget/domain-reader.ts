import type { FastifyRequest } from 'fastify';
import type { BudgetConfig } from '../config/schema.js';
import { WarmrouteError } from '../errors.js';
import { createKeyExtractor } from '../http/key-extractors.js';
import { readValidKey } from '../http/read-valid-key.js';

/**
 * How a route reads the request's isolation domain for its `pool` budget
 * (README "Tenant-environment budget"): from the budget's `domain` source,
 * with the extractors and the normalisation of keys, so `org` and `org `
 * are one domain whatever the source. Read for every request of a pooling
 * route, not only the spilled ones: whether a request without a domain is
 * refused must not depend on how full the budget is.
 */
export type DomainReader = (
  request: FastifyRequest,
  pathParameters: Record<string, string> | null,
) => string;

/** The route's reader; undefined unless its budget pools (the invoker then needs no domain). */
export function createDomainReader(
  budget: Pick<BudgetConfig, 'policy' | 'domain'> | undefined,
): DomainReader | undefined {
  if (budget?.policy !== 'pool' || budget.domain === undefined) return undefined;
  const { extractor, describe } = createKeyExtractor(budget.domain, '');
  const where = `isolation domain, ${describe}`;
  return (request, pathParameters) => {
    const raw = extractor(request, pathParameters);
    if (raw === undefined) {
      throw new WarmrouteError('WR_ERR_BAD_REQUEST', [
        `no ${where}, which this route pools keys by`,
      ]);
    }
    return readValidKey(raw, where);
  };
}
