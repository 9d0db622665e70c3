/**
 * The keys an environment holds in memory, least recently used first, capped
 * at `maxKeys`. Also remembers (boundedly) which keys it released, so a later
 * miss can be told apart: `released` versus `first-use`.
 */
export class KeyCache<E extends { readonly busy: number }> {
  private readonly entries = new Map<string, E>();
  private readonly released = new Map<string, true>();

  constructor(
    private readonly maxKeys: number,
    private readonly maxRemembered = Math.max(1024, maxKeys * 16),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry, made most recently used. */
  get(key: string): E | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  wasReleased(key: string): boolean {
    return this.released.has(key);
  }

  /**
   * Insert or replace `key`, then return the least recently used entries
   * beyond the cap (never one in use), already removed: the caller releases
   * their memory and directories.
   */
  set(key: string, entry: E): { key: string; entry: E }[] {
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.released.delete(key);
    const evicted: { key: string; entry: E }[] = [];
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxKeys) break;
      if (k === key || e.busy > 0) continue;
      this.entries.delete(k);
      this.remember(k);
      evicted.push({ key: k, entry: e });
    }
    return evicted;
  }

  /** Drop `key` (its state is no longer trusted); it counts as released. */
  delete(key: string): void {
    if (this.entries.delete(key)) this.remember(key);
  }

  private remember(key: string): void {
    this.released.set(key, true);
    if (this.released.size > this.maxRemembered) {
      const oldest = this.released.keys().next();
      if (oldest.done !== true) this.released.delete(oldest.value);
    }
  }
}
