import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { carrierOf } from './approov.exchange.js';

/**
 * The claims of a verified Approov token. Only `exp` is guaranteed; the others appear as the
 * Approov account is configured. The object is frozen.
 */
export interface ApproovClaims {
  /** Expiry, seconds since the epoch; may have a fraction. Always checked. */
  readonly exp: number;
  /** Issued at, seconds since the epoch. */
  readonly iat?: number;
  /** Issuer, `"<account>.approov.io"`. */
  readonly iss?: string;
  /** Audience, `"approov.io"`. */
  readonly aud?: string;
  /** Subject, `"approov|<did>"`. */
  readonly sub?: string;
  /** The client's IP address as Approov saw it. Not compared with the caller's address. */
  readonly ip?: string;
  /** Device id (base64): good for logs and per-device rate limits. */
  readonly did?: string;
  /** Token binding hash; checked on routes that bind the token. */
  readonly pay?: string;
  /** Attestation response code: log it, never act on it. */
  readonly arc?: string;
  /** Installation public key (base64 DER SPKI, P-256), for message signing. */
  readonly ipk?: string;
  /** Account message-signing key id. */
  readonly mskid?: string;
  /** Web-protection results. */
  readonly embed?: unknown;
  readonly [claim: string]: unknown;
}

/**
 * The request property where `ApproovGuard` puts the verified claims. It is absent on routes
 * that skip the check.
 */
export const APPROOV_CLAIMS_PROPERTY = 'approovClaims';

/**
 * A request that `ApproovGuard` checked: the HTTP request (also for GraphQL), or the WebSocket
 * client.
 */
export interface ApproovRequest {
  /**
   * The token's claims when the request passed every check, or, in monitor mode, when only the
   * token binding failed. Absent otherwise, and on routes that skip the check.
   */
  [APPROOV_CLAIMS_PROPERTY]?: ApproovClaims;
  /** `true` when the request passed every check; `false` when monitor mode let it through. */
  approovVerified?: boolean;
}

/**
 * Injects the Approov claims into a handler parameter: `@ApproovClaims() claims` for all of
 * them, `@ApproovClaims('did') did` for one. `undefined` when the guard found none or did not
 * run. In monitor mode they can come from a token that failed its binding: see
 * `@ApproovVerified()`.
 */
export const ApproovClaims = createParamDecorator(
  (claim: keyof ApproovClaims | undefined, context: ExecutionContext): unknown => {
    const claims = carrierOf(context)?.[APPROOV_CLAIMS_PROPERTY];
    return claim === undefined ? claims : claims?.[claim];
  },
);

/**
 * Injects whether the request passed every Approov check: `false` when monitor mode let a
 * failed request through, and when the guard did not run.
 */
export const ApproovVerified = createParamDecorator(
  (_: unknown, context: ExecutionContext): boolean => carrierOf(context)?.approovVerified === true,
);
