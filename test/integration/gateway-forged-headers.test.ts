import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeySourceGateway, type KeySourceGateway } from '../helpers/key-source-gateway.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * `x-affinity-tenant`, `-state` and `-env` are the gateway's word on what
 * happened to a key. A proxied function sets its own headers first; the
 * gateway's are written after them, and one it has no value for is removed,
 * so a function (in `fresh` mode: untrusted code) cannot forge them.
 */
describe('gateway: a proxied function cannot forge the affinity headers', () => {
  let gw: KeySourceGateway;
  beforeAll(async () => {
    gw = await startKeySourceGateway([{ prefix: '/', function: 'forger', mode: 'affinity' }]);
  });
  afterAll(async () => {
    await gw.close();
  });

  for (const query of ['', '?report=bogus']) {
    it(`without a valid report${query === '' ? '' : ' (a bogus one)'}: tenant and state are the gateway's, no env`, async () => {
      const res = await rawRequest(gw.url, {
        target: `/x${query}`,
        headers: [['x-affinity-key', 'forge-me']],
      });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('forged');
      expect(res.headers['x-affinity-tenant']).toMatch(/^wr-[a-z2-7]+$/);
      expect(res.headers['x-affinity-tenant']).not.toBe('wr-forged');
      expect(res.headers['x-affinity-state']).toBe('unknown');
      expect(res.headers['x-affinity-env']).toBeUndefined();
      expect(res.headers['x-injected']).toBeUndefined();
    });
  }
});
