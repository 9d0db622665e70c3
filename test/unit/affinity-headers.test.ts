import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { setAffinityHeaders } from '../../src/http/affinity-headers.js';

describe('affinity headers', () => {
  it('never hand Node a value it would throw on: a function-reported env id that is not visible ASCII is left out', async () => {
    const app = Fastify();
    let envId = '';
    app.get('/', (_request, reply) => {
      setAffinityHeaders(reply, { tenantId: 'wr-t', state: 'hit', envId });
      return reply.send('ok');
    });
    for (const bad of [
      'a\r\nx-injected: 1',
      'caf\u00e9',
      '\u20ac',
      'sp ace',
      '',
      'x'.repeat(129),
      '\u0000',
    ]) {
      envId = bad;
      const res = await app.inject('/');
      expect(res.statusCode, JSON.stringify(bad)).toBe(200);
      expect(res.headers['x-affinity-env'], JSON.stringify(bad)).toBeUndefined();
      expect(res.headers['x-injected']).toBeUndefined();
    }
    // A header set before (a proxied function's own x-affinity-env) does not survive.
    const forged = Fastify();
    forged.get('/', (_request, reply) => {
      void reply.header('x-affinity-env', 'forged-env').header('x-affinity-state', 'hit');
      setAffinityHeaders(reply, { tenantId: 'wr-t', state: 'unknown' });
      return reply.send('ok');
    });
    const res = await forged.inject('/');
    expect(res.headers['x-affinity-env']).toBeUndefined();
    expect(res.headers['x-affinity-state']).toBe('unknown');
    await forged.close();

    envId = 'env-0123abcd';
    const good = await app.inject('/');
    expect(good.headers['x-affinity-env']).toBe('env-0123abcd');
    expect(good.headers['x-affinity-tenant']).toBe('wr-t');
    expect(good.headers['x-affinity-state']).toBe('hit');
    await app.close();
  });
});
