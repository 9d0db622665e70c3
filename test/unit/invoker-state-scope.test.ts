import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readWarmRequest } from '../../lambda/protocol.js';
import { encodeClientContext } from '../../src/backend/backend.js';
import { MAX_KEY_BYTES } from '../../src/directory/validate-key.js';
import type { StateScope } from '../../src/directory/types.js';
import {
  ClientContextMemo,
  encodeWarmClientContext,
  stateScopeId,
  warmClientContext,
} from '../../src/invoker/state-scope.js';
import { ROUTING_MODES, type RoutingMode } from '../../src/routing-mode.js';

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
    expect(new Set(scopes.map(stateScopeId)).size).toBe(scopes.length);
  });

  it('reuses an encoded context only for the same scope, mode and state version', () => {
    // Prepare
    const memo = new ClientContextMemo();
    const fresh = (sc: StateScope, mode: 'affinity' | 'pooled', version: number): string =>
      encodeWarmClientContext(sc, mode, version);

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

  it('stays inside the limit in its wire form too, for every mode', () => {
    const worst = scope({ key: '"'.repeat(MAX_KEY_BYTES), generation: Number.MAX_SAFE_INTEGER });
    for (const mode of ROUTING_MODES) {
      const encoded = encodeWarmClientContext(worst, mode, Number.MAX_SAFE_INTEGER);
      expect(encoded.length).toBeLessThanOrEqual(CLIENT_CONTEXT_LIMIT);
    }
  });
});

/** What the function sees: Lambda's runtime decodes the header into `context.clientContext`. */
const decode = (base64: string): unknown =>
  JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));

/**
 * The reader of the first library version (commit 9db5096, `readWarmRequest`),
 * copied: functions deployed with it must read the wire form as before.
 */
function firstVersionReader(clientContext: unknown) {
  if (typeof clientContext !== 'object' || clientContext === null) return undefined;
  const custom = (clientContext as { custom?: unknown }).custom;
  if (typeof custom !== 'object' || custom === null) return undefined;
  const req = (custom as { warmroute?: unknown }).warmroute;
  if (typeof req !== 'object' || req === null) return undefined;
  const r = req as Record<string, unknown>;
  if (r['v'] !== 1 || typeof r['key'] !== 'string' || r['key'].length === 0) return undefined;
  const mode = r['mode'] === 'fresh' || r['mode'] === 'pooled' ? r['mode'] : 'affinity';
  const sv = r['stateVersion'];
  const stateVersion = typeof sv === 'number' && Number.isSafeInteger(sv) && sv >= 0 ? sv : 0;
  return { v: 1, key: r['key'], mode, stateVersion, wrap: r['wrap'] === true };
}

const scopes = fc.record({
  namespace: fc.string({ minLength: 1, maxLength: 20 }),
  epoch: fc.string({
    unit: fc.constantFrom(
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      'a',
      'b',
      'c',
      'd',
      'e',
      'f',
    ),
    minLength: 32,
    maxLength: 32,
  }),
  generation: fc.oneof(fc.constant(0), fc.nat()),
  key: fc.string({ minLength: 1, maxLength: 40 }),
});
const modes = fc.constantFrom<RoutingMode>(...ROUTING_MODES);
const versions = fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));

describe('the client context on the wire (issue 16: smaller messages)', () => {
  it('leaves out mode affinity and state version 0, and keeps every other field', () => {
    const wire = (mode: RoutingMode, version: number) =>
      (
        decode(encodeWarmClientContext(scope(), mode, version)) as {
          custom: { warmroute: Record<string, unknown> };
        }
      ).custom.warmroute;

    expect(wire('affinity', 0)).toEqual({
      v: 1,
      key: 'ws-42',
      wrap: true,
      scope: { ns: 'default', epoch: '0123456789abcdef0123456789abcdef', gen: 0 },
    });
    expect(wire('affinity', 7)).toMatchObject({ stateVersion: 7 });
    expect(wire('affinity', 7)).not.toHaveProperty('mode');
    expect(wire('fresh', 0)).toMatchObject({ mode: 'fresh' });
    expect(wire('fresh', 0)).not.toHaveProperty('stateVersion');
    expect(wire('pooled', 3)).toMatchObject({ mode: 'pooled', stateVersion: 3 });
    // 35 bytes of JSON fewer than the full request when both are defaults.
    const full = encodeClientContext(warmClientContext(scope(), 'affinity', 0));
    expect(full.length - encodeWarmClientContext(scope(), 'affinity', 0).length).toBe(48);
  });

  it('reads back as the whole request, in this library and in the first one', () => {
    fc.assert(
      fc.property(scopes, modes, versions, (sc, mode, version) => {
        const meant = warmClientContext(sc, mode, version).custom.warmroute;
        const sent = decode(encodeWarmClientContext(sc, mode, version));
        expect(readWarmRequest(sent)).toEqual(readWarmRequest({ custom: { warmroute: meant } }));
        const unscoped = {
          v: meant.v,
          key: meant.key,
          mode: meant.mode,
          stateVersion: meant.stateVersion,
          wrap: meant.wrap,
        };
        expect(firstVersionReader(sent)).toEqual(unscoped);
      }),
      { numRuns: 500 },
    );
  });
});
