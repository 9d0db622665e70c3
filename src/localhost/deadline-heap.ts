/** An entry of a `DeadlineHeap`: the heap keeps `heapIndex` current (-1 when not queued). */
export interface Deadlined {
  deadline: number;
  heapIndex: number;
}

/**
 * Entries ordered by deadline, earliest first, each present at most once.
 * Indexed (every entry knows its position) so a deadline can move or an
 * entry leave in O(log n): a hot environment pushes its deadline back on
 * every invocation, and lazily skipped stale copies would pile up by the
 * hundred thousand before the first one fell due.
 */
export class DeadlineHeap<T extends Deadlined> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Queues `item` at `deadline`, or moves it there when already queued. */
  set(item: T, deadline: number): void {
    item.deadline = deadline;
    if (item.heapIndex < 0) {
      item.heapIndex = this.items.length;
      this.items.push(item);
    }
    this.restore(item.heapIndex);
  }

  delete(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return;
    const last = this.items.pop();
    item.heapIndex = -1;
    if (last === undefined || last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.restore(i);
  }

  private restore(i: number): void {
    this.down(this.up(i));
  }

  private up(i: number): number {
    const item = this.at(i);
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = this.at(parentIndex);
      if (parent.deadline <= item.deadline) break;
      this.place(parent, i);
      i = parentIndex;
    }
    this.place(item, i);
    return i;
  }

  private down(i: number): void {
    const item = this.at(i);
    const n = this.items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.at(right).deadline < this.at(left).deadline ? right : left;
      const next = this.at(child);
      if (next.deadline >= item.deadline) break;
      this.place(next, i);
      i = child;
    }
    this.place(item, i);
  }

  private place(item: T, i: number): void {
    this.items[i] = item;
    item.heapIndex = i;
  }

  private at(i: number): T {
    const item = this.items[i];
    if (item === undefined) throw new RangeError(`deadline heap: no entry at ${i}`);
    return item;
  }
}
