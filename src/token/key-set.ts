import { RecentCache } from '../cache/recent-cache.js';
import type { JwsAlgorithm } from './algorithms.js';
import type { TokenFailure } from './token-failure.js';
import type { VerificationKey } from './verification-key.js';

/**
 * The keys to try for one token, and why the token fails if none of them verifies it. Built once
 * per key set, so that choosing costs no allocation.
 */
export interface KeySelection {
  readonly keys: readonly VerificationKey[];
  /** `bad_signature`, or `unknown_key` when the token names a kid no key has. */
  readonly failure: TokenFailure;
}

/**
 * At most this many keys of one algorithm without a kid: each is tried for a token that does not
 * name one, so a forged token costs at most this many verifications. Two cover a rotation.
 */
export const MAX_KEYS_WITHOUT_KID = 3;

interface AlgorithmKeys {
  readonly byKid: Map<string, KeySelection>;
  /** For a token without a kid: the keys without one. */
  readonly anyKid: KeySelection;
  /** For a token whose kid no key has: the keys without one, then `unknown_key`. */
  readonly unknownKid: KeySelection;
}

/** What key selection reads of a JWS header. */
export interface JwsHeader {
  readonly alg: string;
  readonly kid: string | undefined;
}

/** Why a list of keys cannot form a set: the problem of the key at `index`. */
export interface KeySetProblem {
  readonly index: number;
  readonly problem: string;
}

/** Distinct verified headers remembered: one per key and header layout is a handful. */
const VERIFIED_HEADERS = 64;

/**
 * A set of verification keys, indexed by algorithm and kid. A token's `alg` must be one of the
 * set's algorithms; a token naming a kid gets the key with that kid and alg, and otherwise the
 * keys of its alg that have no kid (they serve tokens whatever their kid: the account secret has
 * none). Keys named, embedded or pointed to by the token (`jwk`, `jku`, `x5u`, `x5c`) are never
 * used.
 */
export class TokenKeySet {
  private readonly byAlgorithm = new Map<string, AlgorithmKeys>();
  /**
   * Header segments of tokens these keys verified, parsed: a key set's tokens share a few, which
   * then need no parsing. Only verified tokens add one, so a flood of forged headers cannot.
   */
  private readonly verifiedHeaders = new RecentCache<string, JwsHeader>(VERIFIED_HEADERS);

  private constructor(readonly keys: readonly VerificationKey[]) {
    for (const alg of new Set(keys.map((key) => key.alg))) {
      const ofAlg = keys.filter((key) => key.alg === alg);
      const withoutKid = Object.freeze(ofAlg.filter((key) => key.kid === undefined));
      const byKid = new Map<string, KeySelection>();
      for (const key of ofAlg) {
        if (key.kid !== undefined) {
          byKid.set(
            key.kid,
            Object.freeze({ keys: Object.freeze([key]), failure: 'bad_signature' }),
          );
        }
      }
      this.byAlgorithm.set(alg, {
        byKid,
        anyKid: Object.freeze({
          keys: withoutKid,
          failure: withoutKid.length > 0 ? 'bad_signature' : 'unknown_key',
        }),
        unknownKid: Object.freeze({ keys: withoutKid, failure: 'unknown_key' }),
      });
    }
  }

  /**
   * The set of `keys`, or why they cannot form one: two keys with one alg and kid, or more than
   * `MAX_KEYS_WITHOUT_KID` keys of one alg without a kid.
   */
  static of(keys: readonly VerificationKey[]): TokenKeySet | KeySetProblem {
    const seen = new Map<string, number>();
    const withoutKid = new Map<JwsAlgorithm, number>();
    for (const [index, key] of keys.entries()) {
      if (key.kid === undefined) {
        const count = (withoutKid.get(key.alg) ?? 0) + 1;
        if (count > MAX_KEYS_WITHOUT_KID) {
          return {
            index,
            problem: `is ${key.alg} key number ${count} without a kid; at most ${MAX_KEYS_WITHOUT_KID} are allowed`,
          };
        }
        withoutKid.set(key.alg, count);
        continue;
      }
      const name = `${key.alg} ${key.kid}`;
      const first = seen.get(name);
      if (first !== undefined) {
        return { index, problem: `has the same alg and kid as key ${first}` };
      }
      seen.set(name, index);
    }
    return new TokenKeySet(Object.freeze([...keys]));
  }

  /** The keys to try for a token with this header `alg` and `kid`, or why there are none. */
  select(alg: string, kid: string | undefined): KeySelection | 'unsupported_algorithm' {
    const ofAlg = this.byAlgorithm.get(alg);
    if (ofAlg === undefined) return 'unsupported_algorithm';
    if (kid === undefined) return ofAlg.anyKid;
    return ofAlg.byKid.get(kid) ?? ofAlg.unknownKid;
  }

  /** The parsed header of `segment`, if a token these keys verified had it. */
  verifiedHeader(segment: string): JwsHeader | undefined {
    return this.verifiedHeaders.get(segment);
  }

  /** Remembers the header of a token these keys verified. */
  rememberHeader(segment: string, header: JwsHeader): void {
    this.verifiedHeaders.set(segment, header);
  }

  /** Whether every key of `other` is in this set (same kid, alg and key material). */
  includesAll(other: TokenKeySet): boolean {
    return other.keys.every((old) =>
      this.keys.some(
        (key) =>
          key === old || (key.kid === old.kid && key.alg === old.alg && key.key.equals(old.key)),
      ),
    );
  }
}
