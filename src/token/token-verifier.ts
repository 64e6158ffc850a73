import { RecentCache } from '../cache/recent-cache.js';
import { SecondSighting } from '../cache/second-sighting.js';
import type { ApproovClaims } from './claims.js';
import { checkJws } from './jws.js';
import type { TokenKeySet } from './key-set.js';
import { checkTimeClaims } from './time-claims.js';
import type { TokenFailure } from './token-failure.js';

/** Where `check()` leaves the claims of a token whose signature is valid. */
export interface ClaimsSink {
  claims?: ApproovClaims;
}

/** What the verifier needs of the configuration. */
export interface TokenVerifierSettings {
  /** The keys tokens may be signed with. */
  readonly keys: TokenKeySet;
  readonly clockToleranceSeconds: number;
  /** How many verified tokens to remember; 0 for none. */
  readonly cacheSize: number;
}

/**
 * Verifies Approov tokens with a set of keys: structure, header, signature and time claims.
 *
 * Each token is checked in full, once, by `checkJws`, which throws nothing, so garbage and
 * forged tokens cost no more than one verification with each selected key; the payload of a
 * token whose signature is valid is then parsed. (Earlier versions verified HMAC tokens a second
 * time with `@nestjs/jwt`: that doubled the cost of every new token and refused nothing that
 * `checkJws` accepts, which `jwt-agreement.spec.ts` holds; see docs/performance.md.) A token that
 * passes and is within its lifetime the second time it is seen is remembered, by its exact text,
 * in a bounded cache: the next requests with it skip the signature check, never the time check.
 * (An app sends its token on every call for minutes; a token seen once, as each of a large
 * fleet's new tokens is, would cost more in the cache than it saves.)
 */
export class ApproovTokenVerifier {
  private keys: TokenKeySet;
  private readonly clockToleranceSeconds: number;
  /** Verified tokens and their frozen claims. */
  private readonly verified: RecentCache<string, ApproovClaims>;
  /** Tokens verified once: the second verification puts a token in the cache. */
  private readonly verifiedOnce: SecondSighting;

  constructor(settings: TokenVerifierSettings) {
    this.clockToleranceSeconds = settings.clockToleranceSeconds;
    this.verified = new RecentCache(settings.cacheSize);
    this.verifiedOnce = new SecondSighting(settings.cacheSize);
    this.keys = settings.keys;
  }

  /** The keys in use. */
  get keySet(): TokenKeySet {
    return this.keys;
  }

  /**
   * Verifies tokens with `keys` from now on. When a key in use is not in the new set, the
   * remembered tokens are forgotten: one verified by a removed key must not pass again.
   */
  useKeys(keys: TokenKeySet): void {
    if (!keys.includesAll(this.keys)) this.verified.clear();
    this.keys = keys;
  }

  /**
   * Why `token` fails now, or `undefined` when it is valid. The claims of a token whose signature
   * is valid go to `sink`, even when its time claims fail, so that the failure can be reported
   * with its `did` and `arc`.
   */
  check(token: string, sink: ClaimsSink, nowSeconds = Date.now() / 1000): TokenFailure | undefined {
    let claims = this.verified.get(token);
    const remembered = claims !== undefined;
    if (claims === undefined) {
      const verified = this.verifySignature(token);
      if (typeof verified === 'string') return verified;
      claims = verified;
    }
    sink.claims = claims;
    const failure = checkTimeClaims(claims, nowSeconds, this.clockToleranceSeconds);
    if (failure !== undefined) {
      if (remembered) this.verified.delete(token);
      return failure;
    }
    if (!remembered && this.verifiedOnce.offer(token)) this.verified.set(token, claims);
    return undefined;
  }

  /**
   * The frozen payload of `token` if its JWS is sound (structure, header, signature), or why it
   * is not. The time claims are left to `check()`.
   */
  verifySignature(token: string): ApproovClaims | TokenFailure {
    const signedBy = checkJws(token, this.keys);
    if (typeof signedBy === 'string') return signedBy;
    const payload = parsePayload(token);
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return 'malformed_token';
    }
    return Object.freeze(payload) as ApproovClaims;
  }
}

/** The payload segment's JSON, or `undefined` when it is not JSON. */
function parsePayload(token: string): unknown {
  const segment = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
