import type { KeyObject } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { ApproovClaims } from './claims.js';
import { APPROOV_ALGORITHM, checkHs256Jws } from './jws.js';
import { checkTimeClaims } from './time-claims.js';
import type { TokenFailure } from './token-failure.js';

interface DecodedJws {
  header: Record<string, unknown>;
  payload: unknown;
}

/** Where `check()` leaves the claims of a token whose signature is valid. */
export interface ClaimsSink {
  claims?: ApproovClaims;
}

/** What the verifier needs of the configuration. */
export interface TokenVerifierSettings {
  /** The decoded account secret. */
  readonly key: KeyObject;
  readonly clockToleranceSeconds: number;
  /** How many verified tokens to remember; 0 for none. */
  readonly cacheSize: number;
}

/**
 * Verifies Approov tokens with the account secret: structure, header, signature and time claims.
 *
 * A token goes through two checks. First a strict one of its own (`checkHs256Jws`), which throws
 * nothing, so garbage and forged tokens cost no more than a good one. Then the library's own
 * `JwtService` (never the application's `JwtModule`) verifies it again and parses the payload.
 * A token that passes both and is within its lifetime is remembered, by its exact text, in a
 * bounded cache: the next request with it skips both checks, never the time check.
 */
export class ApproovTokenVerifier {
  private readonly jwt: JwtService;
  private readonly key: KeyObject;
  private readonly clockToleranceSeconds: number;
  private readonly cacheSize: number;
  /** Verified tokens and their frozen claims, oldest first. */
  private readonly verified = new Map<string, ApproovClaims>();

  constructor(settings: TokenVerifierSettings) {
    this.key = settings.key;
    this.clockToleranceSeconds = settings.clockToleranceSeconds;
    this.cacheSize = settings.cacheSize;
    this.jwt = new JwtService({
      // A KeyObject: jsonwebtoken would otherwise try to parse the secret as a public key on
      // every call.
      secret: settings.key,
      // The time claims are checked here, on the exact clock rather than whole seconds.
      verifyOptions: {
        algorithms: [APPROOV_ALGORITHM],
        complete: true,
        ignoreExpiration: true,
        ignoreNotBefore: true,
      },
    });
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
    if (!remembered) this.remember(token, claims);
    return undefined;
  }

  /**
   * The frozen payload of `token` if its JWS is sound (structure, header, signature), or why it
   * is not. The time claims are left to `check()`.
   */
  verifySignature(token: string): ApproovClaims | TokenFailure {
    const failure = checkHs256Jws(token, this.key);
    if (failure !== undefined) return failure;
    let jws: DecodedJws;
    try {
      jws = this.jwt.verify<DecodedJws>(token);
    } catch (error) {
      return reasonOfJwtError(error);
    }
    const { payload } = jws;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return 'malformed_token';
    }
    return Object.freeze(payload) as ApproovClaims;
  }

  /** Keeps a verified token, evicting the oldest beyond the cache size. */
  private remember(token: string, claims: ApproovClaims): void {
    if (this.cacheSize === 0) return;
    if (this.verified.size >= this.cacheSize) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, claims);
  }
}

function reasonOfJwtError(error: unknown): TokenFailure {
  const message = error instanceof Error ? error.message : '';
  if (message === 'invalid signature') return 'bad_signature';
  if (message === 'invalid algorithm') return 'unsupported_algorithm';
  return 'malformed_token';
}
