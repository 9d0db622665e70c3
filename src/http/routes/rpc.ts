import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { FUNCTION_NAME_PATTERN } from '../../config/schema.js';
import { WarmrouteError } from '../../errors.js';
import { CALL_MODES, DEFAULT_CALL_MODE } from '../../routing-mode.js';
import type { AffinityInvoker } from '../../invoker/affinity-invoker.js';
import { setAffinityHeaders } from '../affinity-headers.js';
import { createKeyExtractor } from '../key-extractors.js';
import { readValidKey } from '../read-valid-key.js';
import { ClientGoneSignal } from '../client-gone.js';

const EMPTY_PAYLOAD = Buffer.from('{}');

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
  deps: { invoker: AffinityInvoker; keyHeader: string; requestTimeoutMs: number },
): void {
  const { extractor: keyFromHeader, describe: keyWhere } = createKeyExtractor(
    undefined,
    deps.keyHeader,
  );
  app.post<{ Params: Static<typeof RpcParamsSchema> }>(
    '/v1/functions/:name/invoke',
    { schema: { params: RpcParamsSchema } },
    async (request, reply) => {
      const key = readValidKey(keyFromHeader(request, null), keyWhere);
      const modeHeader = request.headers['x-affinity-mode'] ?? DEFAULT_CALL_MODE;
      const mode = CALL_MODES.find((m) => m === modeHeader);
      if (mode === undefined) {
        throw new WarmrouteError('WR_ERR_BAD_REQUEST', [
          `x-affinity-mode must be ${CALL_MODES.join(' or ')}`,
        ]);
      }
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      let payload: Buffer = EMPTY_PAYLOAD;
      if (body !== undefined && body.length > 0) {
        try {
          JSON.parse(body.toString('utf8'));
        } catch (err) {
          throw new WarmrouteError('WR_ERR_INVALID_JSON', [(err as Error).message]);
        }
        payload = body;
      }
      // Known before any I/O: an unknown function invokes nothing.
      deps.invoker.functionInfo(request.params.name);

      const result = await deps.invoker.invoke({
        functionName: request.params.name,
        key,
        mode,
        route: 'rpc',
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
      return reply
        .code(200)
        .type('application/json')
        .send(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    },
  );
}
