import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { ApproovClaims } from './approov.claims.js';
import { APPROOV_CONFIG, type ApproovConfig } from './approov.options.js';
import type { ApproovFailureReason } from './approov.reasons.js';

/** The algorithm Approov signs with: pinned here, never taken from the token. */
const APPROOV_ALGORITHM = 'HS256';

interface DecodedJws {
  header: Record<string, unknown>;
  payload: unknown;
}

/** Where `check()` leaves the claims of a token whose signature is valid. */
export interface ClaimsSink {
  claims?: ApproovClaims;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Header parameters of other kinds of JOSE objects. */
const NOT_JWS_PARAMETERS = ['b64', 'zip', 'enc'];

/** The headers Approov signs with, as segments: they need no parsing. */
const APPROOV_HEADERS: ReadonlySet<string> = new Set(
  ['{"alg":"HS256","typ":"JWT"}', '{"typ":"JWT","alg":"HS256"}'].map((json) =>
    Buffer.from(json).toString('base64url'),
  ),
);

/**
 * Verifies Approov tokens with the account secret: structure, header, signature and time claims.
 *
 * A token goes through two checks. First a strict one of its own: three base64url segments, a
 * JSON object header with `alg` HS256 and no `crit`, and the HMAC compared in constant time; it
 * throws nothing, so garbage and forged tokens cost no more than a good one. Then the library's
 * own `JwtService` (never the application's `JwtModule`) verifies it again and parses the payload.
 * A token that passes both and is within its lifetime is remembered, by its exact text, in a
 * bounded cache: the next request with it skips both checks, never the time check.
 */
@Injectable()
export class ApproovTokenVerifier {
  private readonly jwt: JwtService;
  private readonly key: KeyObject;
  private readonly clockToleranceSeconds: number;
  private readonly cacheSize: number;
  /** Verified tokens and their frozen claims, oldest first. */
  private readonly verified = new Map<string, ApproovClaims>();

  constructor(@Inject(APPROOV_CONFIG) config: ApproovConfig) {
    this.key = config.key;
    this.clockToleranceSeconds = config.clockToleranceSeconds;
    this.cacheSize = config.cacheSize;
    this.jwt = new JwtService({
      // A KeyObject: jsonwebtoken would otherwise try to parse the secret as a public key on
      // every call.
      secret: config.key,
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
  check(
    token: string,
    sink: ClaimsSink,
    nowSeconds = Date.now() / 1000,
  ): ApproovFailureReason | undefined {
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
  verifySignature(token: string): ApproovClaims | ApproovFailureReason {
    const failure = this.checkJws(token);
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

  /** The strict check of the compact JWS, without exceptions (RFC 7515 sections 5.2 and 7.1). */
  private checkJws(token: string): ApproovFailureReason | undefined {
    const headerEnd = token.indexOf('.');
    const payloadEnd = token.indexOf('.', headerEnd + 1);
    if (headerEnd <= 0 || payloadEnd <= headerEnd + 1 || token.indexOf('.', payloadEnd + 1) >= 0) {
      return 'malformed_token';
    }
    const header = token.slice(0, headerEnd);
    const payload = token.slice(headerEnd + 1, payloadEnd);
    const signature = token.slice(payloadEnd + 1);
    if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) {
      return 'malformed_token';
    }
    if (!APPROOV_HEADERS.has(header)) {
      const failure = checkHeader(header);
      if (failure !== undefined) return failure;
    }
    // Compared as text: another encoding of the same bytes is another token.
    const expected = createHmac('sha256', this.key)
      .update(token.slice(0, payloadEnd))
      .digest('base64url');
    if (
      signature.length !== expected.length ||
      !timingSafeEqual(Buffer.from(signature, 'latin1'), Buffer.from(expected, 'latin1'))
    ) {
      return 'bad_signature';
    }
    return undefined;
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

/** Checks a header segment other than Approov's usual ones. */
function checkHeader(segment: string): ApproovFailureReason | undefined {
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  // Most garbage is not even braced: refuse it without the cost of a parse error.
  if (!text.startsWith('{') || !text.endsWith('}')) return 'malformed_token';
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    return 'malformed_token';
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return 'malformed_token';
  }
  if (!Object.hasOwn(header, 'alg') || (header as { alg: unknown }).alg !== APPROOV_ALGORITHM) {
    return 'unsupported_algorithm';
  }
  // RFC 7515 section 4.1.11: a recipient that does not understand `crit` must reject.
  if (Object.hasOwn(header, 'crit')) return 'critical_header';
  // An unencoded payload (RFC 7797), compression or encryption has no place in an Approov JWS.
  if (NOT_JWS_PARAMETERS.some((name) => Object.hasOwn(header, name))) return 'malformed_token';
  return undefined;
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
