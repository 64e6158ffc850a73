/** Characters of a key that make its fingerprint: fewer than 13, so that no slice of it is kept. */
const FINGERPRINT_CHARACTERS = 12;
/** Enough for a tiny cache's handful of keys to be forgotten only once in a million. */
const MIN_SLOTS = 2 ** 12;
const MAX_SLOTS = 2 ** 20;

/**
 * A filter in front of a cache, so that only keys offered twice enter it. A stream of keys each
 * seen once (a large fleet's tokens, every one new) would otherwise fill the cache with entries
 * that never come back, each living just long enough for the garbage collector to move it to the
 * old generation: that costs more per request than the cache saves. It holds a fingerprint of
 * each key's last characters (a token's signature: random) in a fixed table, in one of two slots
 * chosen by the fingerprint, so it allocates nothing and keeps nothing alive. A key is forgotten
 * only when others took both its slots; a fingerprint shared by two keys lets the second in early.
 */
export class SecondSighting {
  private readonly fingerprints: Uint32Array;
  private readonly mask: number;

  /**
   * Room for about `slots` keys (a power of two at least that, from 2^12 to 2^20): as many as the
   * cache holds. A key offered again before that many others is remembered; one that comes back
   * later is new again, as it would have left the cache too.
   */
  constructor(slots: number) {
    const wanted = 2 ** Math.ceil(Math.log2(Math.max(slots, MIN_SLOTS)));
    const size = Math.min(MAX_SLOTS, wanted);
    this.fingerprints = new Uint32Array(size);
    this.mask = size - 1;
  }

  /** Whether `key` was offered before (and its slot kept it since); if not, remembers it. */
  offer(key: string): boolean {
    // FNV-1a over the last characters, then murmur3's finaliser, so that keys differing in one
    // character differ in every bit that picks their slots; 0 marks an empty slot.
    let hash = 0x811c9dc5;
    for (let index = Math.max(0, key.length - FINGERPRINT_CHARACTERS); index < key.length;) {
      hash = Math.imul(hash ^ key.charCodeAt(index++), 0x01000193);
    }
    hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
    const fingerprint = (hash ^ (hash >>> 16)) >>> 0 || 1;
    const first = fingerprint & this.mask;
    // The second slot from other bits of the fingerprint than the first's.
    const second = (fingerprint >>> 12) & this.mask;
    const { fingerprints } = this;
    if (fingerprints[first] === fingerprint || fingerprints[second] === fingerprint) return true;
    fingerprints[fingerprints[first] === 0 ? first : second] = fingerprint;
    return false;
  }
}
