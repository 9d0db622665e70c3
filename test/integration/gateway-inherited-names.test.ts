import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Through the gateway: an RPC call naming a property every object inherits
 * gets the documented 404 and the local Lambda host receives no invocation
 * (before, `constructor` passed the allow-list, an Invoke went out and the
 * local host's ResourceNotFoundException came back as `upstream`).
 */
describe('gateway: /v1/functions/<inherited name>/invoke is a 404 that invokes nothing', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])('%s', async (name) => {
    // Prepare
    const before = Object.values(gw.localHost.stats().invocations).reduce((a, b) => a + b, 0);

    // Act
    const res = await gw.app.inject({
      method: 'POST',
      url: `/v1/functions/${name}/invoke`,
      headers: { 'x-affinity-key': 'blue', 'content-type': 'application/json' },
      payload: '{}',
    });

    // Assess
    // The gateway's own refusal: no `upstream` field (Lambda's ResourceNotFoundException
    // mapped to the same code would mean an Invoke went out).
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'WR_ERR_FUNCTION_NOT_FOUND', message: `Unknown function: ${name}` },
    });
    const after = Object.values(gw.localHost.stats().invocations).reduce((a, b) => a + b, 0);
    expect(after).toBe(before);
  });
});
