import { createHash, randomBytes } from 'node:crypto';

/**
 * How many epoch buckets a namespace's keys are spread over. Part of the
 * Redis key layout (src/redis/keys.ts): every key belongs to one bucket,
 * its record lives under the bucket's hash tag beside the bucket's epoch, so
 * each key script touches one Redis Cluster slot, and a namespace's keys
 * spread over up to this many slots (so over every shard). Changing it
 * moves every key to another bucket: it is a layout version, not a setting.
 * Why buckets and not one tag per key: docs/scaling.md, "Key layout".
 */
export const EPOCH_BUCKETS = 1024;

/**
 * The bucket of `key`: the first 32 bits of SHA-256 of its UTF-8 bytes,
 * modulo EPOCH_BUCKETS. Both directory stores and the directory use this one
 * function, so they agree on which epoch a key's tenant ID is derived from.
 */
export function epochBucket(key: string): number {
  return createHash('sha256').update(key, 'utf8').digest().readUInt32BE(0) % EPOCH_BUCKETS;
}

/**
 * A new epoch candidate: 128 random bits, never derived from anything seen
 * before (the directory and both stores make them the same way).
 */
export function newEpoch(): string {
  return randomBytes(16).toString('hex');
}
