import { describe, expect, it, onTestFinished } from 'vitest';
import { createGateway } from '../../src/index.js';
import { ok, startInvokeServer } from '../helpers/backend-invoke-server.js';

/**
 * WARMROUTE_LAMBDA_PIPELINE reaches the backend the gateway builds: unset or
 * `fast`, the fast path's requests; `sdk`, the SDK's own (recognisable by the
 * `amz-sdk-invocation-id` header only `InvokeCommand` sends; see
 * test/integration/backend-sdk-equivalence.test.ts).
 */

const cases = [
  { setting: undefined, sdk: false },
  { setting: 'fast', sdk: false },
  { setting: 'sdk', sdk: true },
] as const;

describe('WARMROUTE_LAMBDA_PIPELINE', () => {
  for (const { setting, sdk } of cases) {
    it(`${setting ?? 'unset'}: the gateway invokes through ${sdk ? "the SDK's InvokeCommand" : 'the fast path'}`, async () => {
      // Prepare
      const server = await startInvokeServer(() => ok({ statusCode: 200, body: '{}' }));
      onTestFinished(() => server.close());
      const gateway = await createGateway({
        AWS_ENDPOINT_URL_LAMBDA: server.url,
        WARMROUTE_LOG_LEVEL: 'silent',
        ...(setting === undefined ? {} : { WARMROUTE_LAMBDA_PIPELINE: setting }),
      });
      onTestFinished(() => gateway.close());
      // Act
      const res = await gateway.app.inject({
        method: 'POST',
        url: '/v1/functions/counter/invoke',
        headers: { 'x-affinity-key': 'blue', 'content-type': 'application/json' },
        payload: '{}',
      });
      // Assess
      expect(gateway.config.lambdaPipeline).toBe(setting ?? 'fast');
      expect(res.statusCode, res.body).toBe(200);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.url).toBe('/2015-03-31/functions/counter/invocations');
      expect(server.requests[0]?.headers['amz-sdk-invocation-id'] !== undefined).toBe(sdk);
    });
  }

  it('refuses a value other than fast or sdk, in the config report', async () => {
    await expect(
      createGateway({
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
        WARMROUTE_LAMBDA_PIPELINE: 'slow',
      }),
    ).rejects.toMatchObject({
      code: 'WR_ERR_CONFIG',
      message: expect.stringContaining('WARMROUTE_LAMBDA_PIPELINE') as unknown,
    });
  });
});
