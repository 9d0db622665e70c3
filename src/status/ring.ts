/**
 * A fixed-capacity ring of the status page's intervals. The slots are
 * allocated once; a push past capacity overwrites the oldest entry, so the
 * memory a gateway spends on its status series never grows with uptime or
 * traffic. Reads come oldest first, the order the page draws them in.
 */
export class Ring<T> {
  readonly #slots: (T | undefined)[];
  /** Index of the oldest entry. */
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring capacity must be a positive integer, got ${String(capacity)}`);
    this.#slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends `item` in O(1); returns the entry it displaced when the ring was full. */
  push(item: T): T | undefined {
    const capacity = this.capacity;
    if (this.#size < capacity) {
      this.#slots[(this.#start + this.#size) % capacity] = item;
      this.#size += 1;
      return undefined;
    }
    const evicted = this.#slots[this.#start];
    this.#slots[this.#start] = item;
    this.#start = (this.#start + 1) % capacity;
    return evicted;
  }

  /** The newest entry, if any. */
  last(): T | undefined {
    return this.#size === 0
      ? undefined
      : this.#slots[(this.#start + this.#size - 1) % this.capacity];
  }

  /** The entries, oldest first (a new array; the ring is not exposed). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++)
      out.push(this.#slots[(this.#start + i) % this.capacity] as T);
    return out;
  }

  /** Drops every entry (the slots stay allocated). */
  clear(): void {
    this.#slots.fill(undefined);
    this.#start = 0;
    this.#size = 0;
  }
}
