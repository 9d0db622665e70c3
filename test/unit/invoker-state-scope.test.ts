import { describe, expect, it } from 'vitest';
import { readWarmRequest } from '../../lambda/protocol.js';
import { encodeClientContext } from '../../src/backend/backend.js';
import { MAX_KEY_BYTES } from '../../src/directory/validate-key.js';
import type { StateScope } from '../../src/directory/types.js';
import { ClientContextMemo, warmClientContext } from '../../src/invoker/state-scope.js';

/** Lambda's limit on X-Amz-Client-Context (base64). */
const CLIENT_CONTEXT_LIMIT = 3_583;

const scope = (over: Partial<StateScope> = {}): StateScope => ({
  namespace: 'default',
  epoch: '0123456789abcdef0123456789abcdef',
  generation: 0,
  key: 'ws-42',
  ...over,
});

describe('the gateway side of the state scope (issue 11, defect 2)', () => {
  it('sends the scope, and the key with the #g suffix functions before scopes relied on', () => {
    const at0 = warmClientContext(scope(), 'affinity', 3).custom.warmroute;
    const at2 = warmClientContext(scope({ generation: 2 }), 'pooled', 0).custom.warmroute;

    expect(at0).toEqual({
      v: 1,
      key: 'ws-42',
      mode: 'affinity',
      stateVersion: 3,
      wrap: true,
      scope: { ns: 'default', epoch: '0123456789abcdef0123456789abcdef', gen: 0 },
    });
    expect(at2).toMatchObject({ key: 'ws-42#g2', scope: { gen: 2 } });
    // What the function library reads back is the same request, scope included.
    expect(readWarmRequest({ custom: { warmroute: at2 } })).toEqual(at2);
  });

  it('memoises by the whole scope: scopes that differ in any field never share an encoded context', () => {
    const scopes = [
      scope(),
      scope({ namespace: 'other' }),
      scope({ epoch: 'ffffffffffffffffffffffffffffffff' }),
      scope({ generation: 1 }),
      scope({ key: 'ws-42#g1' }),
      scope({ namespace: 'default","x' }),
    ];
    const memo = new ClientContextMemo();
    expect(new Set(scopes.map((s) => memo.encoded(s, 'affinity', 0))).size).toBe(scopes.length);
  });

  it('reuses an encoded context only for the same scope, mode and state version', () => {
    // Prepare
    const memo = new ClientContextMemo();
    const fresh = (sc: StateScope, mode: 'affinity' | 'pooled', version: number): string =>
      encodeClientContext(warmClientContext(sc, mode, version));

    // Act / Assess: every answer is what encoding anew would give.
    expect(memo.encoded(scope(), 'affinity', 3)).toBe(fresh(scope(), 'affinity', 3));
    expect(memo.encoded(scope(), 'affinity', 3)).toBe(fresh(scope(), 'affinity', 3));
    expect(memo.encoded(scope(), 'affinity', 4)).toBe(fresh(scope(), 'affinity', 4));
    expect(memo.encoded(scope(), 'pooled', 4)).toBe(fresh(scope(), 'pooled', 4));
    expect(memo.encoded(scope({ generation: 1 }), 'pooled', 4)).toBe(
      fresh(scope({ generation: 1 }), 'pooled', 4),
    );
    expect(memo.encoded(scope({ key: 'ws-42#g1' }), 'pooled', 4)).toBe(
      fresh(scope({ key: 'ws-42#g1' }), 'pooled', 4),
    );
  });

  it('stays inside Lambda’s client-context limit for the largest key at a large generation', () => {
    // `"` doubles in JSON: the worst key the validator lets through.
    const worst = scope({ key: '"'.repeat(MAX_KEY_BYTES), generation: Number.MAX_SAFE_INTEGER });
    const encoded = encodeClientContext(
      warmClientContext(worst, 'affinity', Number.MAX_SAFE_INTEGER),
    );
    expect(encoded.length).toBeLessThanOrEqual(CLIENT_CONTEXT_LIMIT);
  });
});
