import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { createGateway } from '../../src/index.js';
import { endpointOfOwnHost } from '../../src/create-gateway.js';

const silent = pino({ level: 'silent' });

describe('embedded local host bound to a wildcard or mapped loopback address (with a control token)', () => {
  for (const host of ['0.0.0.0', '::ffff:127.0.0.1']) {
    it(`${host}: the gateway starts and invokes its own host over loopback`, async () => {
      const gateway = await createGateway(
        {
          WARMROUTE_LOCAL_PORT: '0',
          WARMROUTE_LOCAL_HOST: host,
          WARMROUTE_LOCAL_CONTROL_TOKEN: 'review-control-token-0123456789',
        },
        { logger: silent, defaultMetrics: false },
      );
      onTestFinished(() => gateway.close());
      const res = await gateway.app.inject({
        method: 'POST',
        url: '/v1/functions/counter/invoke',
        headers: { 'x-affinity-key': 'blue', 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(res.statusCode, res.body).toBe(200);
    });
  }
});

describe('endpointOfOwnHost', () => {
  it('reaches a wildcard-bound host over loopback and leaves other addresses alone', () => {
    expect(endpointOfOwnHost('http://0.0.0.0:9001')).toBe('http://127.0.0.1:9001');
    expect(endpointOfOwnHost('http://[::]:9001')).toBe('http://[::1]:9001');
    expect(endpointOfOwnHost('http://127.0.0.1:9001')).toBe('http://127.0.0.1:9001');
    expect(endpointOfOwnHost('http://192.168.1.7:9001')).toBe('http://192.168.1.7:9001');
  });
});
