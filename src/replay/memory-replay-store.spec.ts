import { describe, expect, it } from '@jest/globals';
import {
  ApproovMemoryReplayStore,
  type ApproovMemoryReplayStoreOptions,
  ApproovReplayStoreFullError,
  ENTRY_OVERHEAD_BYTES,
  MAX_TTL_MS,
} from './memory-replay-store.js';

/** A key as long as the guard writes one: a label and 43 base64url characters (32 bytes). */
const KEY_PREFIX = `account:${'A'.repeat(33)}`;
const keyOf = (index: number): string => `${KEY_PREFIX}${1e9 + index}`;
const KEY_BYTES = keyOf(0).length + ENTRY_OVERHEAD_BYTES;

/** A store on a clock the test moves; it starts in the middle of a second, as real clocks do. */
function storeWithClock(options: Omit<ApproovMemoryReplayStoreOptions, 'now'> = {}) {
  const clock = { ms: 1_000_500 };
  const store = new ApproovMemoryReplayStore({ ...options, now: () => clock.ms });
  return { store, clock };
}

describe('ApproovMemoryReplayStore: claims', () => {
  it('records a key once: true on its first claim, false on every later one', () => {
    const { store } = storeWithClock();
    expect(store.claim(keyOf(1), 30_000)).toBe(true);
    expect(store.claim(keyOf(1), 30_000)).toBe(false);
    expect(store.claim(keyOf(1), 30_000)).toBe(false);
    expect(store.claim(keyOf(2), 30_000)).toBe(true);
    expect(store.size).toBe(2);
    expect(store.estimatedBytes).toBe(2 * KEY_BYTES);
  });

  it('refuses a key until its time to live has passed, not a millisecond less', () => {
    const { store, clock } = storeWithClock();
    expect(store.claim(keyOf(1), 5_000)).toBe(true);
    clock.ms += 4_999;
    expect(store.claim(keyOf(1), 5_000)).toBe(false);
    clock.ms += 1;
    expect(store.claim(keyOf(1), 5_000)).toBe(true);
    // Claimed again: refused for a new time to live from now.
    clock.ms += 4_999;
    expect(store.claim(keyOf(1), 5_000)).toBe(false);
    clock.ms += 1;
    expect(store.claim(keyOf(1), 5_000)).toBe(true);
    // Still one entry, counted once.
    expect(store.size).toBe(1);
    expect(store.estimatedBytes).toBe(KEY_BYTES);
  });

  it('a refused claim does not lengthen the time to live', () => {
    const { store, clock } = storeWithClock();
    expect(store.claim(keyOf(1), 5_000)).toBe(true);
    clock.ms += 4_000;
    expect(store.claim(keyOf(1), 60_000)).toBe(false);
    clock.ms += 1_000;
    expect(store.claim(keyOf(1), 5_000)).toBe(true);
  });

  it('takes times to live from 1 ms to MAX_TTL_MS (2 h), and records nothing for others', () => {
    const { store, clock } = storeWithClock();
    expect(MAX_TTL_MS).toBe(2 * 3600 * 1000);
    for (const ttl of [0, -1, MAX_TTL_MS + 1, Number.NaN, Infinity, -Infinity]) {
      expect(() => store.claim(keyOf(1), ttl)).toThrow(RangeError);
    }
    expect(store.size).toBe(0);
    expect(store.claim(keyOf(1), 1)).toBe(true);
    expect(store.claim(keyOf(2), MAX_TTL_MS)).toBe(true);
    clock.ms += MAX_TTL_MS - 1;
    expect(store.claim(keyOf(2), 1)).toBe(false);
    clock.ms += 1;
    expect(store.claim(keyOf(2), 1)).toBe(true);
  });

  it('works on its own monotonic clock when given none', () => {
    const store = new ApproovMemoryReplayStore();
    expect(store.claim(keyOf(1), 30_000)).toBe(true);
    expect(store.claim(keyOf(1), 30_000)).toBe(false);
    expect(store.onStoreError).toBe('refuse');
  });
});

describe('ApproovMemoryReplayStore: expiry', () => {
  it('forgets expired entries in the sweep: size and estimatedBytes fall back', async () => {
    const { store, clock } = storeWithClock();
    for (let index = 0; index < 3; index++) store.claim(keyOf(index), 2_000);
    clock.ms += 1_000;
    for (let index = 3; index < 5; index++) store.claim(keyOf(index), 2_000);
    expect([store.size, store.estimatedBytes]).toEqual([5, 5 * KEY_BYTES]);
    // Past the first three's expiry, but their second is not over: not swept yet.
    clock.ms += 1_000;
    await store.ping();
    expect(store.size).toBe(5);
    // Their second is over: swept by the next call, the later two kept.
    clock.ms += 500;
    await store.ping();
    expect([store.size, store.estimatedBytes]).toEqual([2, 2 * KEY_BYTES]);
    expect(store.claim(keyOf(3), 2_000)).toBe(false);
    clock.ms += 1_000;
    expect(store.claim(keyOf(9), 2_000)).toBe(true);
    expect([store.size, store.estimatedBytes]).toEqual([1, KEY_BYTES]);
  });

  it('keeps a key claimed again after it expired until its new expiry', async () => {
    const { store, clock } = storeWithClock();
    store.claim(keyOf(1), 1_000);
    clock.ms += 1_000;
    // Expired, not yet swept: claimed again, with an expiry in a later second.
    expect(store.claim(keyOf(1), 10_000)).toBe(true);
    clock.ms += 2_000;
    // The sweep of its old second must not forget it.
    await store.ping();
    expect(store.size).toBe(1);
    expect(store.claim(keyOf(1), 10_000)).toBe(false);
    clock.ms += 9_000;
    await store.ping();
    expect([store.size, store.estimatedBytes]).toEqual([0, 0]);
  });

  it('forgets everything after an idle spell longer than its ring (3 hours), on one claim', () => {
    const { store, clock } = storeWithClock();
    for (let second = 0; second < 20; second++) {
      for (let index = 0; index < 50; index++) {
        const ttl = 20_000 + ((second * 7919 + index * 104_729) % (MAX_TTL_MS - 20_000));
        store.claim(keyOf(second * 50 + index), ttl);
      }
      clock.ms += 1_000;
    }
    expect(store.size).toBe(1_000);
    clock.ms += 3 * 3600 * 1000;
    expect(store.claim(keyOf(5_000), 30_000)).toBe(true);
    expect([store.size, store.estimatedBytes]).toEqual([1, KEY_BYTES]);
    // The keys it forgot are claimable again, and then refused again.
    expect(store.claim(keyOf(0), 30_000)).toBe(true);
    expect(store.claim(keyOf(0), 30_000)).toBe(false);
  });

  it('forgets everything after an idle spell a little longer than the longest time to live', () => {
    const { store, clock } = storeWithClock();
    store.claim(keyOf(1), MAX_TTL_MS);
    store.claim(keyOf(2), 1_000);
    clock.ms += MAX_TTL_MS + 1_000;
    expect(store.claim(keyOf(3), 1_000)).toBe(true);
    expect(store.size).toBe(1);
    expect(store.claim(keyOf(1), 1_000)).toBe(true);
  });
});

describe('ApproovMemoryReplayStore: bounds', () => {
  it('at maxEntries, refuses new keys without forgetting live ones, until they expire', async () => {
    const { store, clock } = storeWithClock({ maxEntries: 3 });
    for (let index = 0; index < 3; index++) expect(store.claim(keyOf(index), 5_000)).toBe(true);
    expect(() => store.claim(keyOf(3), 5_000)).toThrow(ApproovReplayStoreFullError);
    expect(() => store.claim(keyOf(3), 5_000)).toThrow(
      'the in-memory replay store is full (3 entries) until its entries expire',
    );
    // The held keys are still replays: nothing was forgotten to make room.
    for (let index = 0; index < 3; index++) expect(store.claim(keyOf(index), 5_000)).toBe(false);
    expect(store.size).toBe(3);
    await expect(store.ping()).rejects.toThrow(ApproovReplayStoreFullError);
    clock.ms += 4_999;
    expect(() => store.claim(keyOf(3), 5_000)).toThrow(ApproovReplayStoreFullError);
    expect(store.claim(keyOf(0), 5_000)).toBe(false);
    // Expired and their second over: room again.
    clock.ms += 1_000;
    await expect(store.ping()).resolves.toBeUndefined();
    expect(store.claim(keyOf(3), 5_000)).toBe(true);
    expect(store.claim(keyOf(0), 5_000)).toBe(true);
    expect(store.size).toBe(2);
  });

  it('at maxEntries, still takes a held key whose time to live has passed', () => {
    const { store, clock } = storeWithClock({ maxEntries: 1 });
    store.claim(keyOf(1), 1_000);
    clock.ms += 1_000;
    // Expired but not swept: claiming it again replaces it, it takes no more room.
    expect(store.claim(keyOf(1), 1_000)).toBe(true);
    expect([store.size, store.estimatedBytes]).toEqual([1, KEY_BYTES]);
  });

  it('at maxBytes, refuses new keys without forgetting live ones, until they expire', () => {
    const maxBytes = 3 * KEY_BYTES + ENTRY_OVERHEAD_BYTES + 1;
    const { store, clock } = storeWithClock({ maxBytes });
    for (let index = 0; index < 3; index++) expect(store.claim(keyOf(index), 5_000)).toBe(true);
    expect(() => store.claim(keyOf(3), 5_000)).toThrow(
      new ApproovReplayStoreFullError(`${maxBytes} bytes`),
    );
    for (let index = 0; index < 3; index++) expect(store.claim(keyOf(index), 5_000)).toBe(false);
    expect([store.size, store.estimatedBytes]).toEqual([3, 3 * KEY_BYTES]);
    // A key short enough for what is left still fits, to the byte.
    expect(store.claim('k', 5_000)).toBe(true);
    expect(store.estimatedBytes).toBe(maxBytes);
    clock.ms += 6_000;
    expect(store.claim(keyOf(3), 5_000)).toBe(true);
    expect([store.size, store.estimatedBytes]).toEqual([1, KEY_BYTES]);
  });

  it('ping rejects while a claim of a key like the guard writes would fail for bytes', async () => {
    const { store } = storeWithClock({ maxBytes: 2 * KEY_BYTES });
    store.claim(keyOf(0), 5_000);
    await expect(store.ping()).resolves.toBeUndefined();
    store.claim(keyOf(1), 5_000);
    expect(() => store.claim(keyOf(2), 5_000)).toThrow(ApproovReplayStoreFullError);
    // Every claim fails now: a readiness probe must not say the store is up.
    await expect(store.ping()).rejects.toThrow(ApproovReplayStoreFullError);
  });

  it('ping resolves when the store can take claims, before any and after expiry', async () => {
    const { store, clock } = storeWithClock({ maxEntries: 1 });
    await expect(store.ping()).resolves.toBeUndefined();
    store.claim(keyOf(1), 1_000);
    await expect(store.ping()).rejects.toThrow(new ApproovReplayStoreFullError('1 entries'));
    clock.ms += 2_000;
    await expect(store.ping()).resolves.toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('refuses bounds that are not whole numbers from 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '10', null]) {
      expect(() => new ApproovMemoryReplayStore({ maxEntries: bad as number })).toThrow(
        new RangeError('ApproovMemoryReplayStore: maxEntries must be a whole number from 1'),
      );
      expect(() => new ApproovMemoryReplayStore({ maxBytes: bad as number })).toThrow(
        new RangeError('ApproovMemoryReplayStore: maxBytes must be a whole number from 1'),
      );
    }
    expect(new ApproovMemoryReplayStore({ maxEntries: 1, maxBytes: 1 }).size).toBe(0);
  });
});

describe('ApproovMemoryReplayStore under load', () => {
  it('takes a million signatures at 10,000 a second within its bound, and forgets them all', async () => {
    const maxEntries = 500_000;
    const ttlMs = 30_000;
    const perSecond = 10_000;
    const { store, clock } = storeWithClock({ maxEntries });
    let largest = 0;
    for (let index = 0; index < 1_000_000; index++) {
      // The clock moves within each second, as requests arrive.
      clock.ms += 1_000 / perSecond;
      if (!store.claim(keyOf(index), ttlMs)) throw new Error(`claim ${index} refused`);
      if (store.size > largest) largest = store.size;
    }
    // 30 s of live keys and the last second's expired ones not yet swept: never near the bound.
    expect(largest).toBeLessThanOrEqual(maxEntries);
    expect(largest).toBeLessThanOrEqual((ttlMs / 1_000 + 1) * perSecond + 1);
    expect(largest).toBeGreaterThanOrEqual((ttlMs / 1_000) * perSecond);
    // The last keys are still replays; the first are long gone.
    expect(store.claim(keyOf(999_999), ttlMs)).toBe(false);
    expect(store.claim(keyOf(0), ttlMs)).toBe(true);
    clock.ms += ttlMs + 1_000;
    await store.ping();
    expect([store.size, store.estimatedBytes]).toEqual([0, 0]);
  }, 20_000);

  it('holds a million signatures that outlive the run to its bounds, refusing rather than forgetting', () => {
    const maxEntries = 100_000;
    const maxBytes = 6_000_000;
    const { store, clock } = storeWithClock({ maxEntries, maxBytes });
    let accepted = 0;
    let full = 0;
    for (let index = 0; index < 1_000_000; index++) {
      clock.ms += 0.05;
      try {
        if (store.claim(keyOf(index), 3_600_000)) accepted += 1;
      } catch (error) {
        // Counted here and compared once below: an expect() per claim would cost more than it.
        if (!(error instanceof ApproovReplayStoreFullError)) throw error;
        full += 1;
      }
      if (store.size > maxEntries || store.estimatedBytes > maxBytes) {
        throw new Error(`past a bound at claim ${index}`);
      }
    }
    expect(accepted + full).toBe(1_000_000);
    expect(accepted).toBe(store.size);
    // Every key it took is still a replay: none was forgotten to make room.
    expect(store.claim(keyOf(0), 3_600_000)).toBe(false);
    expect(store.claim(keyOf(accepted - 1), 3_600_000)).toBe(false);
  }, 20_000);
});
