import { describe, expect, it } from 'vitest';
import { driveWorkload, type RequestRecord } from '../../bench/workload/drive.js';

describe('driveWorkload onSettled (progress)', () => {
  it('is called once per request as it settles, failures included, with the stored record', async () => {
    // Prepare
    const seen: RequestRecord<number>[] = [];
    // Act
    const result = await driveWorkload<number>({
      trace: [0, 1, 2, 3, 4, 5],
      concurrency: 2,
      request: (key) => (key === 3 ? Promise.reject(new Error('boom')) : Promise.resolve(key * 10)),
      onSettled: (r) => seen.push(r),
    });
    // Assess
    expect(seen).toHaveLength(6);
    expect([...seen].sort((a, b) => a.index - b.index)).toEqual(result.records);
    expect(seen.find((r) => r.key === 3)?.error).toBeInstanceOf(Error);
  });
});
