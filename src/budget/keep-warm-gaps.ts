/**
 * The last `capacity` idle gaps (ms) of a key or of a whole function, with a
 * sorted view for src/budget/keep-warm-decision.ts. Fixed memory (two
 * Float64Arrays); Infinity stands for "did not come back within the
 * horizon". The sorted view is rebuilt lazily, only when asked for after a
 * change, since gaps arrive on the request path and are read only when a
 * ping is due.
 */
export class GapSample {
  private readonly ring: Float64Array;
  private readonly ordered: Float64Array;
  private next = 0;
  private filled = 0;
  private dirty = false;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`gap sample: capacity must be a positive integer, got ${capacity}`);
    this.ring = new Float64Array(capacity);
    this.ordered = new Float64Array(capacity);
  }

  /** Gaps held (at most `capacity`). */
  get count(): number {
    return this.filled;
  }

  /** Records a gap; the oldest goes once `capacity` are held. A negative or NaN gap is ignored. */
  add(gapMs: number): void {
    if (!(gapMs >= 0)) return;
    this.ring[this.next] = gapMs;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
    this.dirty = true;
  }

  /** Gaps held that are longer than `ms` (Infinity included). */
  countAbove(ms: number): number {
    const sorted = this.sorted();
    let lo = 0;
    let hi = this.filled;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] ?? Infinity) <= ms) lo = mid + 1;
      else hi = mid;
    }
    return this.filled - lo;
  }

  /** The held gaps ascending (Infinity last) in the first `count` entries; valid until the next `add`. */
  sorted(): Float64Array {
    if (this.dirty) {
      const view = this.ordered.subarray(0, this.filled);
      view.set(this.ring.subarray(0, this.filled));
      view.sort();
      this.dirty = false;
    }
    return this.ordered;
  }
}
