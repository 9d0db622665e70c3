import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeClientContext } from '../../src/backend/backend.js';
import { ClientContextMemo, warmClientContext } from '../../src/invoker/state-scope.js';

/**
 * Review of a621d8c (the client-context memo looked up by the scope's key and
 * checked field by field): over any sequence of calls on one memo, where a key
 * moves between namespaces, epochs, generations, modes and state versions and
 * keys collide on purpose, every answer equals a fresh encoding. A stale
 * answer would send the function an old scope or version: a silent wrong
 * answer about its warm state.
 */

const call = fc.record({
  scope: fc.record({
    namespace: fc.constantFrom('default', 'other', 'default '),
    epoch: fc.constantFrom('', 'e1', 'e2'),
    generation: fc.constantFrom(0, 1, 2),
    key: fc.constantFrom('blue', 'green', 'blue#g1', ''),
  }),
  mode: fc.constantFrom('affinity' as const, 'fresh' as const, 'pooled' as const),
  stateVersion: fc.constantFrom(0, 1, 2, Number.MAX_SAFE_INTEGER),
});

describe('ClientContextMemo (review)', () => {
  it('always answers what a fresh encoding gives (property)', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 40 }), (calls) => {
        const memo = new ClientContextMemo();
        for (const c of calls) {
          expect(memo.encoded(c.scope, c.mode, c.stateVersion)).toBe(
            encodeClientContext(warmClientContext(c.scope, c.mode, c.stateVersion)),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
