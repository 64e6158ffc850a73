import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { ApproovClaims } from './approov.claims.js';
import { APPROOV_CONFIG, type ApproovConfig } from './approov.options.js';
import type { ApproovFailureReason } from './approov.reasons.js';

/** The algorithm Approov signs with: pinned here, never taken from the token. */
export const APPROOV_ALGORITHM = 'HS256';

interface DecodedJws {
  header: Record<string, unknown>;
  payload: unknown;
}

/**
 * Verifies Approov tokens with the account secret: signature, header and claims. It owns its
 * `JwtService`, so an application's `JwtModule` (other secrets, a `secretOrKeyProvider`) can
 * never change what it accepts.
 */
@Injectable()
export class ApproovTokenVerifier {
  private readonly jwt: JwtService;
  private readonly clockToleranceSeconds: number;

  constructor(@Inject(APPROOV_CONFIG) config: ApproovConfig) {
    this.clockToleranceSeconds = config.clockToleranceSeconds;
    this.jwt = new JwtService({
      // A KeyObject: jsonwebtoken would otherwise try to parse the secret as a public key on
      // every call.
      secret: config.key,
      // jsonwebtoken checks the structure, the algorithm and the signature; the time claims are
      // checked below, on the exact clock rather than whole seconds.
      verifyOptions: {
        algorithms: [APPROOV_ALGORITHM],
        complete: true,
        ignoreExpiration: true,
        ignoreNotBefore: true,
      },
    });
  }

  /**
   * The frozen payload of `token` if its JWS is sound (structure, header, signature), or why it
   * is not. The time claims are checked apart, by `checkTime()`, so that a
   * failure on time can still be reported with the token's `did` and `arc`.
   */
  verifySignature(token: string): ApproovClaims | ApproovFailureReason {
    let jws: DecodedJws;
    try {
      jws = this.jwt.verify<DecodedJws>(token);
    } catch (error) {
      return reasonOfJwtError(error);
    }
    // RFC 7515 section 4.1.11: a recipient that does not understand `crit` must reject.
    if (Object.hasOwn(jws.header, 'crit')) return 'critical_header';
    const { payload } = jws;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return 'malformed_token';
    }
    return Object.freeze(payload) as ApproovClaims;
  }

  /** Why the time claims of a signed payload fail now, if they do. */
  checkTime(
    claims: ApproovClaims,
    nowSeconds = Date.now() / 1000,
  ): ApproovFailureReason | undefined {
    return checkTimeClaims(claims, nowSeconds, this.clockToleranceSeconds);
  }
}

function reasonOfJwtError(error: unknown): ApproovFailureReason {
  const message = error instanceof Error ? error.message : '';
  if (message === 'invalid signature') return 'bad_signature';
  if (message === 'invalid algorithm') return 'unsupported_algorithm';
  return 'malformed_token';
}

/**
 * Checks the time claims of a token whose signature is valid: a finite numeric `exp` after
 * `nowSeconds`, and an `nbf`, when present, not after it (both give or take `toleranceSeconds`).
 * Returns the reason they fail, or `undefined`.
 */
export function checkTimeClaims(
  claims: Readonly<Record<string, unknown>>,
  nowSeconds: number,
  toleranceSeconds: number,
): ApproovFailureReason | undefined {
  if (!Object.hasOwn(claims, 'exp')) return 'missing_exp';
  const { exp } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'invalid_exp';
  if (nowSeconds >= exp + toleranceSeconds) return 'expired';
  if (Object.hasOwn(claims, 'nbf')) {
    const { nbf } = claims;
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return 'invalid_nbf';
    if (nbf > nowSeconds + toleranceSeconds) return 'not_yet_valid';
  }
  return undefined;
}
