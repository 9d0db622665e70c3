import { describe, expect, it } from 'vitest';
import { clientOptionsFromEnv, SDK_ENVIRONMENT } from '../../src/sdk/env-options.js';

/**
 * SDK_ENVIRONMENT is the list the README contract and the deploy/ scanner
 * read as "the SDK's variables": it must be exactly what the default
 * client reads, so a variable added to the reader without the list (or the
 * other way round) fails here.
 */
describe('SDK_ENVIRONMENT', () => {
  it('is exactly the set of variables clientOptionsFromEnv reads', () => {
    // Prepare: an environment that records every name asked for.
    const read = new Set<string>();
    const env = new Proxy<Record<string, string | undefined>>(
      { WARMROUTE_URL: 'http://127.0.0.1:3000' },
      {
        get(target, name) {
          if (typeof name === 'string') read.add(name);
          return typeof name === 'string' ? target[name] : undefined;
        },
      },
    );

    // Act
    clientOptionsFromEnv(env);

    // Assess
    expect([...read].sort()).toEqual([...SDK_ENVIRONMENT].sort());
  });
});
