import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { errorCodeOf, rawRequest } from '../helpers/raw-http.js';

/**
 * The gateway's 404/405 answers read a request target as the router does
 * (src/http/request-target.ts): a path it routed under `/v1` with an
 * escaped unreserved character, or given in absolute-form, gets the same
 * 405 and `Allow` as the plain path. The methods were looked up on the raw
 * target, which no gateway pattern matched: `PATCH /v%31/keys/blue` got a
 * 414 "path segment is too long" (the `/` proxy route's wildcard took
 * PATCH), an absolute-form target a 404 naming scheme and host. Issue 12,
 * review finding 3.
 */
describe('gateway: 404/405 for the path the router routed', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it('answers an escaped or absolute-form path like the plain one', async () => {
    for (const target of [
      '/v1/keys/blue',
      '/v%31/keys/blue',
      '/%761/k%65ys/blue',
      `${gw.url}/v1/keys/blue`,
      '/v1/keys/blue#frag',
    ]) {
      const res = await rawRequest(gw.url, { method: 'PATCH', target });
      expect(res.status, `${target}: ${res.body.toString()}`).toBe(405);
      expect(res.headers.allow, target).toBe('GET, HEAD, DELETE');
      expect(errorCodeOf(res), target).toBe('WR_ERR_METHOD_NOT_ALLOWED');
    }
  });

  it('names the path as sent, without the scheme and host of an absolute-form target', async () => {
    const res = await rawRequest(gw.url, { method: 'PATCH', target: `${gw.url}/v1/nothing?x=1` });
    expect(res.status).toBe(404);
    expect(res.body.toString()).toContain('PATCH /v1/nothing');
    expect(res.body.toString()).not.toContain('127.0.0.1');
  });
});
