import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { createDomainReader } from '../../budget/domain-reader.js';
import { FUNCTION_NAME_PATTERN, type BudgetConfig } from '../../config/schema.js';
import { WarmrouteError } from '../../errors.js';
import { CALL_MODES, DEFAULT_CALL_MODE, type CallMode } from '../../routing-mode.js';
import type { AffinityInvoker } from '../../invoker/affinity-invoker.js';
import { setAffinityHeaders } from '../affinity-headers.js';
import { createKeyExtractor } from '../key-extractors.js';
import { readValidKey } from '../read-valid-key.js';
import { ClientGoneSignal } from '../client-gone.js';
import { isJsonText } from '../json-bytes.js';

const EMPTY_PAYLOAD = Buffer.from('{}');

const callModes: ReadonlyMap<string, CallMode> = new Map(CALL_MODES.map((m) => [m, m]));

/**
 * Refuses a body that is not JSON (WR_ERR_INVALID_JSON) without parsing it:
 * the function gets the bytes, so the route only needs the verdict
 * (src/http/json-bytes.ts agrees with JSON.parse on every input).
 */
function checkJson(body: Buffer): void {
  if (isJsonText(body)) return;
  // Only on refusal: JSON.parse words the error, as the route always has.
  try {
    JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new WarmrouteError('WR_ERR_INVALID_JSON', [(err as Error).message]);
  }
}

/** The function is named as a route's `function` is in the config (a name, a partial or a full ARN). */
const RpcParamsSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 140, pattern: FUNCTION_NAME_PATTERN }),
});

/**
 * `POST /v1/functions/{name}/invoke`: the body is the function's payload
 * (JSON), the response is the function's result. Mode per call through
 * `x-affinity-mode` (`affinity` default, or `fresh`).
 */
export function registerRpcRoute(
  app: FastifyInstance,
  deps: {
    invoker: AffinityInvoker;
    keyHeader: string;
    requestTimeoutMs: number;
    /** The config's `rpcBudget`: a `pool` budget reads each request's domain. */
    budget?: BudgetConfig | undefined;
  },
): void {
  const domainOf = createDomainReader(deps.budget);
  const { extractor: keyFromHeader, describe: keyWhere } = createKeyExtractor(
    undefined,
    deps.keyHeader,
  );
  app.post<{ Params: Static<typeof RpcParamsSchema> }>(
    '/v1/functions/:name/invoke',
    { schema: { params: RpcParamsSchema } },
    async (request, reply) => {
      const key = readValidKey(keyFromHeader(request, null), keyWhere);
      const modeHeader = request.headers['x-affinity-mode'];
      const mode =
        modeHeader === undefined
          ? DEFAULT_CALL_MODE
          : typeof modeHeader === 'string'
            ? callModes.get(modeHeader)
            : undefined;
      if (mode === undefined) {
        throw new WarmrouteError('WR_ERR_BAD_REQUEST', [
          `x-affinity-mode must be ${CALL_MODES.join(' or ')}`,
        ]);
      }
      // Only affinity mode has a budget to spill from: other modes need no domain.
      const domain = mode === 'affinity' ? domainOf?.(request, null) : undefined;
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      let payload: Buffer = EMPTY_PAYLOAD;
      if (body !== undefined && body.length > 0) {
        checkJson(body);
        payload = body;
      }
      // Known before any I/O: an unknown function invokes nothing.
      deps.invoker.functionInfo(request.params.name);

      const result = await deps.invoker.invoke({
        functionName: request.params.name,
        key,
        mode,
        route: 'rpc',
        domain,
        payload,
        deadline: Date.now() + deps.requestTimeoutMs,
        signal: new ClientGoneSignal(reply.raw),
      });
      setAffinityHeaders(reply, result);
      if (result.functionError !== undefined) {
        const errorType = result.errorType ?? result.functionError;
        throw new WarmrouteError('WR_ERR_FUNCTION_ERROR', [errorType, request.params.name], {
          details: { errorType },
        });
      }
      const out = result.payload;
      // The bytes are returned, not passed to reply.send(): an async handler
      // that returns the reply (a thenable) costs one more promise hop.
      void reply.type('application/json');
      return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
  );
}
