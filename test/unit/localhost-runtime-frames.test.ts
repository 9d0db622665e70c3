import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameReader,
  FrameType,
  type Frame,
} from '../../src/localhost/runtime-frames.js';

/** The frames a reader reports for `bytes` cut at `cuts`, and whether it gave up. */
function read(
  bytes: Buffer,
  cuts: readonly number[],
  maxPayload: number,
): { frames: Frame[]; invalid: string[] } {
  const frames: Frame[] = [];
  const invalid: string[] = [];
  const reader = new FrameReader(
    maxPayload,
    (f) => frames.push(f),
    (r) => invalid.push(r),
  );
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  for (const [k, from] of [0, ...at].entries())
    reader.push(bytes.subarray(from, at[k] ?? bytes.length));
  return { frames, invalid };
}

const frameInput = fc.record({
  type: fc.constantFrom(...Object.values(FrameType)),
  meta: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
  payload: fc.uint8Array({ maxLength: 300 }),
});

describe('runtime channel frames', () => {
  it('come out as they went in, however the byte stream is cut (property)', () => {
    fc.assert(
      fc.property(
        fc.array(frameInput, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (input, cuts) => {
          const bytes = Buffer.concat(
            input.map((f) => encodeFrame(f.type, f.meta, Buffer.from(f.payload))),
          );

          const { frames, invalid } = read(bytes, cuts, 1_000);

          expect(invalid).toEqual([]);
          expect(
            frames.map((f) => ({ type: f.type, meta: f.meta, payload: [...(f.payload ?? [])] })),
          ).toEqual(input.map((f) => ({ type: f.type, meta: f.meta, payload: [...f.payload] })));
        },
      ),
      { seed: 1616, numRuns: 300 },
    );
  });

  it('reports an oversized payload without its bytes and reads the next frame after it', () => {
    const big = encodeFrame(FrameType.response, { id: 'a' }, Buffer.alloc(5_000, 1));
    const next = encodeFrame(FrameType.next, {});

    const { frames } = read(Buffer.concat([big, next]), [3, 100, 2_000, 4_999], 1_000);

    expect(frames.map((f) => [f.type, f.meta, f.payload?.length])).toEqual([
      [FrameType.response, { id: 'a' }, undefined],
      [FrameType.next, {}, 0],
    ]);
  });

  it('gives up on a frame whose meta is not a JSON object', () => {
    const head = Buffer.alloc(9);
    head.writeUInt32BE(5 + 3, 0);
    head.writeUInt8(FrameType.next, 4);
    head.writeUInt32BE(3, 5);

    const { frames, invalid } = read(Buffer.concat([head, Buffer.from('[1]')]), [], 1_000);

    expect(frames).toEqual([]);
    expect(invalid).toHaveLength(1);
  });
});
