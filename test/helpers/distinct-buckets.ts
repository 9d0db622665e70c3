import { epochBucket } from '../../src/directory/epoch-bucket.js';

/** Keys `${stem}0`, `${stem}1`, … (`count` of them), no two in the same epoch bucket. */
export function keysInDistinctBuckets(stem: string, count: number): string[] {
  const keys: string[] = [];
  const buckets = new Set<number>();
  for (let i = 0; keys.length < count; i++) {
    const key = `${stem}${i}`;
    if (buckets.has(epochBucket(key))) continue;
    buckets.add(epochBucket(key));
    keys.push(key);
  }
  return keys;
}
