import { describe, expect, it } from 'vitest';
import {
  TENANT_HASH_CHARS,
  TENANT_ID_PATTERN,
  base32,
  deriveTenantId,
  poolSlot,
  poolTenantId,
  randomTenantId,
  validateTenantPrefix,
} from '../../src/directory/tenant-id.js';

const SECRET = 'unit-test-secret-0123456789abcdef';
const EPOCH = '0123456789abcdef0123456789abcdef';

/** The tenant of `key` at `generation` in namespace `ns` of epoch EPOCH. */
const tenant = (
  secret: string | Buffer,
  ns: string,
  key: string,
  generation: number,
  epoch = EPOCH,
): string => deriveTenantId(secret, 'wr-', { namespace: ns, epoch, key, generation });

describe('deriveTenantId', () => {
  it('is deterministic, fixed length and inside the TenantId character set', () => {
    // Prepare
    const keys = ['a', 'é', 'workspace/42', 'x'.repeat(1024), '🙂 emoji key', 'a:b'];

    // Act
    const ids = keys.map((key) => tenant(SECRET, 'default', key, 0));

    // Assess
    for (const [i, id] of ids.entries()) {
      expect(id).toMatch(TENANT_ID_PATTERN);
      expect(id).toMatch(/^wr-[a-z2-7]+$/);
      expect(id).toHaveLength(3 + TENANT_HASH_CHARS);
      expect(tenant(SECRET, 'default', keys[i]!, 0)).toBe(id);
    }
    expect(new Set(ids).size).toBe(keys.length);
  });

  it('changes with the secret, the namespace, the epoch, the key and the generation', () => {
    const base = tenant(SECRET, 'ns', 'key', 0);
    expect(tenant(`${SECRET}!`, 'ns', 'key', 0)).not.toBe(base);
    expect(tenant(Buffer.from(`${SECRET}!`), 'ns', 'key', 0)).not.toBe(base);
    expect(tenant(SECRET, 'ns2', 'key', 0)).not.toBe(base);
    expect(tenant(SECRET, 'ns', 'key2', 0)).not.toBe(base);
    expect(tenant(SECRET, 'ns', 'key', 1)).not.toBe(base);
    expect(tenant(SECRET, 'ns', 'key', 0, 'another-epoch')).not.toBe(base);
  });

  it('never gives a key of a new epoch any tenant it had in the old one (issue 11, defect 8)', () => {
    // Generations restart at 0 after a loss of data; the epoch is new then.
    const old = Array.from({ length: 20 }, (_, g) => tenant(SECRET, 'ns', 'key', g, 'epoch-1'));
    const renewed = Array.from({ length: 20 }, (_, g) => tenant(SECRET, 'ns', 'key', g, 'epoch-2'));
    expect(renewed.filter((id) => old.includes(id))).toEqual([]);
  });

  it('cannot be steered into another field split by a separator in the key or namespace', () => {
    // With plain "ns:key:gen" joining each pair below would hash the same input.
    const pairs: [string, string, number, string, string, number][] = [
      ['a', 'b:c', 0, 'a:b', 'c', 0],
      ['ns', 'key:1', 0, 'ns', 'key', 10],
      ['', 'x', 0, 'x', '', 0],
      ['a:', 'b', 0, 'a', ':b', 0],
    ];
    for (const [ns1, k1, g1, ns2, k2, g2] of pairs) {
      expect(tenant(SECRET, ns1, k1, g1)).not.toBe(tenant(SECRET, ns2, k2, g2));
    }
  });

  it('keeps pool tenants apart from affinity tenants', () => {
    // A key named like a pool slot must not land on the slot's environment.
    const pool = poolTenantId(SECRET, 'wr-', 'ns', 4, 0);
    expect(tenant(SECRET, 'ns', '4', 0)).not.toBe(pool);
    expect(tenant(SECRET, 'ns', '0', 4)).not.toBe(pool);
    expect(pool).toHaveLength(3 + TENANT_HASH_CHARS);
  });
});

describe('poolSlot', () => {
  it('spreads keys over every slot, deterministically, within range', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 800; i++) {
      const slot = poolSlot(SECRET, 'ns', `key-${i}`, 8);
      expect(slot).toBe(poolSlot(SECRET, 'ns', `key-${i}`, 8));
      counts[slot] = (counts[slot] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(50);
  });
});

describe('randomTenantId', () => {
  it('has the derived shape and differs per call', () => {
    const a = randomTenantId('wr-');
    const b = randomTenantId('wr-');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^wr-[a-z2-7]+$/);
    expect(a).toHaveLength(3 + TENANT_HASH_CHARS);
  });
});

describe('base32', () => {
  it('matches RFC 4648 test vectors (lower case, no padding)', () => {
    expect(base32(Buffer.from(''))).toBe('');
    expect(base32(Buffer.from('f'))).toBe('my');
    expect(base32(Buffer.from('fo'))).toBe('mzxq');
    expect(base32(Buffer.from('foo'))).toBe('mzxw6');
    expect(base32(Buffer.from('foob'))).toBe('mzxw6yq');
    expect(base32(Buffer.from('fooba'))).toBe('mzxw6ytb');
    expect(base32(Buffer.from('foobar'))).toBe('mzxw6ytboi');
  });
});

describe('validateTenantPrefix', () => {
  it('accepts Lambda-valid prefixes and rejects others', () => {
    expect(() => {
      validateTenantPrefix('wr-');
    }).not.toThrow();
    expect(() => {
      validateTenantPrefix('');
    }).not.toThrow();
    expect(() => {
      validateTenantPrefix('bad#');
    }).toThrow(/tenant prefix/);
    expect(() => {
      validateTenantPrefix('p'.repeat(65));
    }).toThrow(/tenant prefix/);
  });
});
