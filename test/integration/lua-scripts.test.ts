import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { directoryScripts, snapshotScripts } from '../../src/redis/script-loader.js';
import { SHARED_REDIS_URL } from '../helpers/redis.js';

/**
 * Every script as the loader hands it to ioredis (includes expanded) is valid
 * Lua that Redis accepts. SCRIPT LOAD only caches a script on the shared
 * server; nothing runs and no key is touched.
 */

const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true });
afterAll(() => {
  redis.disconnect();
});

describe('the shipped Lua scripts', () => {
  it('load in Redis after include expansion, under the SHA ioredis sends with EVALSHA', async () => {
    // Prepare
    const scripts = { ...directoryScripts(), ...snapshotScripts() };
    expect(Object.keys(scripts)).toHaveLength(9);
    for (const [name, { lua }] of Object.entries(scripts)) {
      // Act
      const sha = (await redis.script('LOAD', lua)) as string;
      // Assess
      expect(sha, name).toBe(createHash('sha1').update(lua).digest('hex'));
    }
  });
});
