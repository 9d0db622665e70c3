/**
 * How often a key was seen recently, in bounded memory: the frequency half of
 * TinyLFU admission (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient
 * Cache Admission Policy", ACM Transactions on Storage 13(4), 2017), shaped
 * like Caffeine's FrequencySketch.
 *
 * - A count-min sketch of 4 rows of 4-bit counters, packed eight to a 32-bit
 *   word. Counts above 15 carry no extra information for admission: the
 *   question is only ever "is the newcomer seen more often than the victim",
 *   and the paper shows 4 bits suffice once counts are aged. Memory is
 *   2 bytes per unit of capacity (4 rows × 4 bits × capacity rounded up to a
 *   power of two), whatever the number of distinct keys.
 * - Conservative update (only the counters equal to the row minimum grow):
 *   the estimate stays ≥ the true count (up to the 4-bit ceiling) and
 *   overestimates less than a plain count-min sketch.
 * - Aging ("reset" in the paper): after `sampleSize` increments every
 *   counter is halved, so the sketch reflects the recent window and a key
 *   that was hot an hour ago does not keep its tenant forever. The paper's
 *   sample size of 10 × capacity is the default.
 * - No doorkeeper (the paper's Bloom filter in front of the sketch): it
 *   halves the counter memory for one-hit wonders, but here the sketch is
 *   sized by the tenant cap (a few thousand), so its 2 bytes per slot are
 *   already negligible and a second structure would double the hashing on
 *   the request path.
 *
 * Keys are hashed once (FNV-1a over UTF-16 code units, then a murmur3
 * finaliser) and never stored; callers that need both `increment` and
 * `estimate` for one key hash it once with `FrequencySketch.hash` and use the
 * `…Hash` methods. Row positions come from double hashing of that one
 * 32-bit value (Kirsch, Mitzenmacher 2006), so each operation touches four
 * counters and allocates nothing.
 */

const MAX_COUNT = 15;
/** Keeps a mistaken capacity (a byte count, say) from allocating gigabytes. */
const MAX_CAPACITY = 1 << 26;

export interface FrequencySketchOptions {
  /** The number of keys whose frequencies must be told apart (the tenant cap). */
  readonly capacity: number;
  /** Increments between two agings; default 10 × capacity, as in the paper. */
  readonly sampleSize?: number;
}

export class FrequencySketch {
  /** Counters per row; a power of two so a position is a mask, not a modulo. */
  readonly width: number;
  readonly sampleSize: number;
  private readonly mask: number;
  private readonly table: Uint32Array;
  private additions = 0;
  private agings = 0;

  constructor(options: FrequencySketchOptions) {
    const { capacity } = options;
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY)
      throw new RangeError(
        `frequency sketch: capacity must be an integer in [1, ${MAX_CAPACITY}], got ${capacity}`,
      );
    const sampleSize = options.sampleSize ?? 10 * capacity;
    if (!Number.isSafeInteger(sampleSize) || sampleSize < 1)
      throw new RangeError(
        `frequency sketch: sampleSize must be a positive integer, got ${sampleSize}`,
      );
    // At least 8 counters a row so a row fills whole words.
    this.width = Math.max(8, nextPowerOfTwo(capacity));
    this.mask = this.width - 1;
    this.sampleSize = sampleSize;
    // Four rows (the unrolled reads below) of `width` 4-bit counters, eight a word.
    this.table = new Uint32Array((4 * this.width) / 8);
  }

  /** A 32-bit hash of any string (lone surrogates included); never throws. */
  static hash(key: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return fmix32(h);
  }

  /** How many times aging has halved the counters (for tests and metrics). */
  get agingCount(): number {
    return this.agings;
  }

  increment(key: string): void {
    this.incrementHash(FrequencySketch.hash(key));
  }

  estimate(key: string): number {
    return this.estimateHash(FrequencySketch.hash(key));
  }

  incrementHash(hash: number): void {
    const step = secondHash(hash);
    const i0 = this.index(0, hash, step);
    const i1 = this.index(1, hash, step);
    const i2 = this.index(2, hash, step);
    const i3 = this.index(3, hash, step);
    const min = Math.min(this.read(i0), this.read(i1), this.read(i2), this.read(i3));
    if (min === MAX_COUNT) return;
    // Conservative update: only the counters holding the minimum grow.
    this.bumpIf(i0, min);
    this.bumpIf(i1, min);
    this.bumpIf(i2, min);
    this.bumpIf(i3, min);
    if (++this.additions >= this.sampleSize) this.age();
  }

  estimateHash(hash: number): number {
    const step = secondHash(hash);
    return Math.min(
      this.read(this.index(0, hash, step)),
      this.read(this.index(1, hash, step)),
      this.read(this.index(2, hash, step)),
      this.read(this.index(3, hash, step)),
    );
  }

  /** Halves every counter (the paper's reset); runs by itself every `sampleSize` increments. */
  age(): void {
    const table = this.table;
    // Shifting the packed word right by one halves all eight counters at once;
    // the mask drops the bit each counter would take from its neighbour.
    for (let i = 0; i < table.length; i++) table[i] = ((table[i] ?? 0) >>> 1) & 0x77777777;
    this.additions >>>= 1;
    this.agings++;
  }

  private index(row: number, hash: number, step: number): number {
    return row * this.width + ((hash + Math.imul(row, step)) & this.mask);
  }

  private read(index: number): number {
    return ((this.table[index >>> 3] ?? 0) >>> ((index & 7) << 2)) & 0xf;
  }

  private bumpIf(index: number, value: number): void {
    const word = index >>> 3;
    const shift = (index & 7) << 2;
    const current = this.table[word] ?? 0;
    if (((current >>> shift) & 0xf) === value) this.table[word] = current + (1 << shift);
  }
}

/** Odd, so successive rows land on distinct positions of a power-of-two row. */
function secondHash(hash: number): number {
  return fmix32(hash ^ 0x85ebca6b) | 1;
}

/** murmur3's 32-bit finaliser: spreads FNV's weak low bits over the whole word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function nextPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}
