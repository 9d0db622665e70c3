import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createDomainReader } from '../../src/budget/domain-reader.js';
import { isWarmrouteError } from '../../src/errors.js';

/** A route that answers the domain it read, or the error code. */
async function appReading(reader: ReturnType<typeof createDomainReader>) {
  const app = Fastify();
  onTestFinished(() => app.close());
  app.get('/', (request, reply) => {
    try {
      return { domain: reader?.(request, null) ?? null };
    } catch (err) {
      return reply.code(400).send({ code: isWarmrouteError(err) ? err.code : 'other' });
    }
  });
  await app.ready();
  return app;
}

describe('createDomainReader', () => {
  it('reads the domain of a pooling route, normalised like a key', async () => {
    // Prepare
    const app = await appReading(
      createDomainReader({ policy: 'pool', domain: { from: 'header', name: 'x-org' } }),
    );

    // Act
    const spaced = await app.inject({ url: '/', headers: { 'x-org': 'org-1 ' } });
    const plain = await app.inject({ url: '/', headers: { 'x-org': 'org-1' } });
    const missing = await app.inject({ url: '/' });
    const control = await app.inject({ url: '/', headers: { 'x-org': 'a\u0001b' } });

    // Assess
    expect(spaced.json()).toEqual(plain.json());
    expect(plain.json()).toEqual({ domain: 'org-1' });
    expect(missing.json()).toEqual({ code: 'WR_ERR_BAD_REQUEST' });
    expect(control.json()).toEqual({ code: 'WR_ERR_KEY_INVALID' });
  });

  it('is undefined for routes that do not pool', () => {
    expect(createDomainReader(undefined)).toBeUndefined();
    expect(createDomainReader({ policy: 'queue' })).toBeUndefined();
    expect(createDomainReader({ policy: 'reject' })).toBeUndefined();
  });
});
