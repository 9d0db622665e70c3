import { createHmac, randomBytes } from 'node:crypto';

/** base32 characters after the prefix: 160 bits of HMAC output. */
export const TENANT_HASH_CHARS = 32;
const HASH_BYTES = (TENANT_HASH_CHARS * 5) / 8;
/**
 * The config schema's bound (`WARMROUTE_TENANT_PREFIX`), stated once here:
 * 32 characters + the 32-character hash stays far inside Lambda's 256.
 */
export const MAX_TENANT_PREFIX_LENGTH = 32;
/**
 * Most tenant slots a `pooled` route may have: the config schema's bound on
 * a route's `poolSize`, stated once here, next to the slot derivation.
 */
export const MAX_POOL_SIZE = 100_000;
/** Characters a tenant prefix may use: Lambda's TenantId set without the space (a header-unfriendly prefix). */
export const TENANT_PREFIX_PATTERN = /^[a-zA-Z0-9._:/=+@-]*$/;
/** Lambda's TenantId rules: 1–256 characters of this set. */
export const TENANT_ID_PATTERN = /^[a-zA-Z0-9._:/=+\-@ ]{1,256}$/;

// RFC 4648 base32, lower case: every character is valid in a TenantId.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET.charAt((buffer >> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET.charAt((buffer << (5 - bits)) & 31);
  return out;
}

/** Throws unless `prefix` keeps every tenant ID inside Lambda's TenantId rules. */
export function validateTenantPrefix(prefix: string): void {
  if (prefix.length > MAX_TENANT_PREFIX_LENGTH || !TENANT_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `tenant prefix must be at most ${MAX_TENANT_PREFIX_LENGTH} characters of [a-zA-Z0-9._:/=+@-]: ${JSON.stringify(prefix)}`,
    );
  }
}

/**
 * The HMAC input: a purpose tag, then every field length-prefixed. With plain
 * `namespace ":" key` joining, namespace "a" + key "b:c" and namespace "a:b" +
 * key "c" would share an input; with lengths no two field lists do, and the
 * tag keeps affinity, pool-slot and pool-tenant inputs apart.
 */
function hmacInput(tag: string, fields: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`warmroute/v1/${tag}\n`, 'utf8')];
  for (const field of fields) {
    const bytes = Buffer.from(String(field), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

function hmac(secret: string | Buffer, tag: string, fields: readonly (string | number)[]): Buffer {
  return createHmac('sha256', secret).update(hmacInput(tag, fields)).digest();
}

/** What an affinity tenant ID is derived from. */
export interface TenantInput {
  readonly namespace: string;
  /**
   * The namespace's epoch: a random id kept in the directory's store. Losing
   * the store's data makes a new one, so generations that restart at 0 can
   * never derive a tenant the key had before.
   */
  readonly epoch: string;
  readonly key: string;
  readonly generation: number;
}

/**
 * `prefix + base32(HMAC-SHA256(secret, namespace, epoch, key, generation))`,
 * cut to a fixed length. Without the secret a client can neither pick a key
 * that lands on another key's tenant nor compute a tenant ID it was not
 * given.
 */
export function deriveTenantId(
  secret: string | Buffer,
  prefix: string,
  input: TenantInput,
): string {
  const fields = [input.namespace, input.epoch, input.key, input.generation];
  return prefix + base32(hmac(secret, 'affinity', fields).subarray(0, HASH_BYTES));
}

/** The pool slot (0 … poolSize-1) a key falls into; keyed, so clients cannot aim at a slot. */
export function poolSlot(
  secret: string | Buffer,
  namespace: string,
  key: string,
  poolSize: number,
): number {
  const digest = hmac(secret, 'pool-slot', [namespace, key]);
  // 48 bits modulo a pool size far below 2^48: the bias is negligible.
  return digest.readUIntBE(0, 6) % poolSize;
}

/** The tenant ID of one pool slot; the pool size is part of it so resized pools do not share tenants. */
export function poolTenantId(
  secret: string | Buffer,
  prefix: string,
  namespace: string,
  poolSize: number,
  slot: number,
): string {
  return (
    prefix +
    base32(hmac(secret, 'pool-tenant', [namespace, poolSize, slot]).subarray(0, HASH_BYTES))
  );
}

/** A random tenant ID of the same shape, for `fresh` mode (a guaranteed new environment). */
export function randomTenantId(prefix: string): string {
  return prefix + base32(randomBytes(HASH_BYTES));
}
