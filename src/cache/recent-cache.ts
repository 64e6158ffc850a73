/**
 * A map that keeps the `size` entries set last, forgetting the oldest first. The order lives in
 * a ring of keys allocated once, so that an eviction never iterates the map: a `Map` whose
 * oldest entries are deleted one by one keeps their holes at its front, and each
 * `keys().next()` walks over them (several microseconds per eviction at 10,000 entries).
 */
export class RecentCache<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly order: (K | undefined)[];
  private next = 0;

  /** `size` 0 keeps nothing. */
  constructor(private readonly size: number) {
    this.order = new Array<K | undefined>(size);
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Keeps `key`, forgetting the entry set `size` sets ago if it is still here. */
  set(key: K, value: V): void {
    if (this.size === 0) return;
    const oldest = this.order[this.next];
    // A key deleted or set again since leaves a stale slot: forgetting it early is harmless.
    if (oldest !== undefined) this.entries.delete(oldest);
    this.order[this.next] = key;
    this.next = (this.next + 1) % this.size;
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.order.fill(undefined);
    this.next = 0;
  }
}
