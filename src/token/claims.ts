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
