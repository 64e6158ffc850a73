import { describe, expect, it } from '@jest/globals';
import { RecentCache } from './recent-cache.js';

describe('RecentCache', () => {
  it('keeps the entries set last, forgetting the oldest first', () => {
    const cache = new RecentCache<string, number>(3);
    for (const [index, key] of ['a', 'b', 'c', 'd'].entries()) cache.set(key, index);
    expect(['a', 'b', 'c', 'd'].map((key) => cache.get(key))).toEqual([undefined, 1, 2, 3]);
    cache.set('e', 4);
    expect(cache.has('b')).toBe(false);
    expect(cache.get('e')).toBe(4);
  });

  it('keeps nothing with size 0', () => {
    const cache = new RecentCache<string, number>(0);
    cache.set('a', 1);
    expect(cache.has('a')).toBe(false);
  });

  it('never holds more than its size, whatever is set again or deleted', () => {
    const cache = new RecentCache<number, number>(100);
    for (let index = 0; index < 10_000; index++) {
      cache.set(index % 150, index);
      if (index % 7 === 0) cache.delete(index % 150);
    }
    const held = Array.from({ length: 150 }, (_, key) => key).filter((key) => cache.has(key));
    expect(held.length).toBeLessThanOrEqual(100);
    // The last key set is always there.
    expect(cache.get(9_999 % 150)).toBe(9_999);
  });

  it('forgets everything on clear, and fills again from the start', () => {
    const cache = new RecentCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.clear();
    expect([cache.has('a'), cache.has('b')]).toEqual([false, false]);
    cache.set('c', 3);
    cache.set('d', 4);
    expect([cache.get('c'), cache.get('d')]).toEqual([3, 4]);
  });
});
