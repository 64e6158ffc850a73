import type { ApproovReplayStore } from './replay-store.js';

/** Options of `ApproovMemoryReplayStore`. */
export interface ApproovMemoryReplayStoreOptions {
  /**
   * The most signatures remembered at once. When it is reached, claims fail (and the guard
   * refuses the requests that need one) until entries expire: forgetting a live entry would
   * accept its replay.
   * @default 500000
   */
  maxEntries?: number;
  /**
   * The most memory the entries may take, in bytes, estimated as each key's length plus
   * `ENTRY_OVERHEAD_BYTES`; reaching it fails claims as `maxEntries` does.
   * @default 83886080 (80 MiB: 500,000 of the guard's keys take about 70 MB)
   */
  maxBytes?: number;
  /**
   * The clock, in milliseconds, for tests.
   * @default a monotonic clock (`performance.now()`), which a change of the system time leaves alone
   */
  now?: () => number;
}

/** Thrown by a claim on a full `ApproovMemoryReplayStore`. */
export class ApproovReplayStoreFullError extends Error {
  constructor(limit: string) {
    super(`the in-memory replay store is full (${limit}) until its entries expire`);
    this.name = 'ApproovReplayStoreFullError';
  }
}

/**
 * What an entry costs besides its key's characters: the map entry and its expiry, the string's
 * header, the bucket slot (measured on Node 20: 139 bytes of heap per entry of the guard's keys).
 */
export const ENTRY_OVERHEAD_BYTES = 88;
/** The longest time a key may be kept: the longest a signature can pass its time checks. */
export const MAX_TTL_MS = 2 * 3600 * 1000;
/** The length of the keys the guard writes: a label and 32 bytes in base64url. */
const GUARD_KEY_BYTES = 'account:'.length + 43;
/** One bucket per second of expiry, in a ring longer than the longest time to live. */
const RING_SECONDS = 8192;

/**
 * A replay store in this process's memory: for apps that run one instance. Bounded in entries
 * and bytes; each key is forgotten once its time to live has passed. Expired keys are swept by
 * the claims themselves, a second's bucket at a time (no timer), so a claim costs O(1) amortised.
 * Synchronous: a route that checks replays against it stays synchronous.
 */
export class ApproovMemoryReplayStore implements ApproovReplayStore {
  readonly onStoreError = 'refuse';
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  /** Each key's expiry, in milliseconds of the store's clock. */
  private readonly expiries = new Map<string, number>();
  /** The keys to look at in each second of expiry, by that second modulo `RING_SECONDS`. */
  private buckets: (string[] | undefined)[] | undefined;
  /** Every second before this one has been swept; `undefined` before the first claim. */
  private sweptSecond: number | undefined;
  private bytes = 0;
  /** Made once: a full store refuses every new key, and a stack trace each time would cost more. */
  private readonly fullOfEntries: ApproovReplayStoreFullError;
  private readonly fullOfBytes: ApproovReplayStoreFullError;

  constructor({
    maxEntries = 500_000,
    maxBytes = 80 * 1024 * 1024,
    now = () => performance.now(),
  }: ApproovMemoryReplayStoreOptions = {}) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('ApproovMemoryReplayStore: maxEntries must be a whole number from 1');
    }
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError('ApproovMemoryReplayStore: maxBytes must be a whole number from 1');
    }
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.now = now;
    this.fullOfEntries = new ApproovReplayStoreFullError(`${maxEntries} entries`);
    this.fullOfBytes = new ApproovReplayStoreFullError(`${maxBytes} bytes`);
  }

  /** How many keys are held, expired ones not yet swept included. */
  get size(): number {
    return this.expiries.size;
  }

  /** The estimated bytes the held keys take. */
  get estimatedBytes(): number {
    return this.bytes;
  }

  claim(key: string, ttlMs: number): boolean {
    if (!(ttlMs > 0 && ttlMs <= MAX_TTL_MS)) {
      throw new RangeError(`ApproovMemoryReplayStore: ttlMs must be from 1 to ${MAX_TTL_MS}`);
    }
    const now = this.now();
    this.sweep(now);
    const held = this.expiries.get(key);
    if (held !== undefined && held > now) return false;
    // An expired key still held is claimed again in its place.
    const cost = held === undefined ? key.length + ENTRY_OVERHEAD_BYTES : 0;
    const full = cost > 0 ? this.fullFor(cost) : undefined;
    if (full !== undefined) throw full;
    const expiry = now + ttlMs;
    this.expiries.set(key, expiry);
    this.bytes += cost;
    const second = Math.floor(expiry / 1000);
    const buckets = (this.buckets ??= new Array<string[] | undefined>(RING_SECONDS));
    const index = second % RING_SECONDS;
    const bucket = buckets[index];
    if (bucket === undefined) buckets[index] = [key];
    else bucket.push(key);
    return true;
  }

  /** Fails when the store is full, as the claim of a new key of the guard's would. */
  ping(): Promise<void> {
    this.sweep(this.now());
    const full = this.fullFor(GUARD_KEY_BYTES + ENTRY_OVERHEAD_BYTES);
    return full === undefined ? Promise.resolve() : Promise.reject(full);
  }

  /** The error of a claim whose new entry, costing `cost` bytes, would pass a bound. */
  private fullFor(cost: number): ApproovReplayStoreFullError | undefined {
    if (this.expiries.size >= this.maxEntries) return this.fullOfEntries;
    if (this.bytes + cost > this.maxBytes) return this.fullOfBytes;
    return undefined;
  }

  /** Forgets the keys that expired in every second before `now`'s. */
  private sweep(now: number): void {
    const { buckets } = this;
    const second = Math.floor(now / 1000);
    if (buckets === undefined || this.sweptSecond === undefined) {
      this.sweptSecond = second;
      return;
    }
    // After an idle spell longer than the ring, one pass over it finds everything.
    const from = Math.max(this.sweptSecond, second - RING_SECONDS);
    for (let swept = from; swept < second; swept++) {
      const index = swept % RING_SECONDS;
      const bucket = buckets[index];
      if (bucket === undefined) continue;
      buckets[index] = undefined;
      for (const key of bucket) {
        // A key claimed again after it expired is in a later bucket too, with a later expiry.
        const expiry = this.expiries.get(key);
        if (expiry !== undefined && expiry <= now) {
          this.expiries.delete(key);
          this.bytes -= key.length + ENTRY_OVERHEAD_BYTES;
        }
      }
    }
    this.sweptSecond = second;
  }
}
