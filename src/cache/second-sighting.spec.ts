import { describe, expect, it } from '@jest/globals';
import { SecondSighting } from './second-sighting.js';

describe('SecondSighting', () => {
  it('says no the first time a key is offered, yes from the second', () => {
    const seen = new SecondSighting(10);
    expect(seen.offer('eyJ.eyJ.signature-one')).toBe(false);
    expect(seen.offer('eyJ.eyJ.signature-two')).toBe(false);
    expect(seen.offer('eyJ.eyJ.signature-one')).toBe(true);
    expect(seen.offer('eyJ.eyJ.signature-one')).toBe(true);
    expect(seen.offer('eyJ.eyJ.signature-two')).toBe(true);
  });

  it('tells keys apart by their last characters', () => {
    const seen = new SecondSighting(10);
    expect(seen.offer('a'.repeat(500) + 'tail-0000001')).toBe(false);
    expect(seen.offer('b'.repeat(500) + 'tail-0000002')).toBe(false);
    // Same last 12 characters: the filter cannot tell them apart, by design (a token's signature).
    expect(seen.offer('c'.repeat(500) + 'tail-0000001')).toBe(true);
  });

  it('forgets a key whose slot another key took: it waits for one more sighting', () => {
    const seen = new SecondSighting(1);
    const keys = Array.from({ length: 200_000 }, (_, index) => `key-${index.toString(36)}`);
    for (const key of keys) seen.offer(key);
    // The last keys offered are remembered; of the first, 200,000 keys in 4,096 slots later,
    // most were pushed out.
    expect(keys.slice(-10).every((key) => seen.offer(key))).toBe(true);
    const remembered = keys.slice(0, 1000).filter((key) => seen.offer(key)).length;
    expect(remembered).toBeLessThan(100);
  });
});
