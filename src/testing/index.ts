import { createHmac, randomBytes } from 'node:crypto';
import { approovBindingHash } from '../binding/token-binding.js';
import { approovSecretKey } from '../module/options.js';

export { approovBindingHash } from '../binding/token-binding.js';

/** What `mintApproovToken()` signs. */
export interface MintApproovTokenOptions {
  /** The account secret, base64 or base64url, as given to `ApproovModule`. */
  secret: string;
  /**
   * Seconds from `now` to `exp`; negative for an expired token. Ignored when `claims` sets `exp`.
   * @default 300
   */
  ttlSeconds?: number;
  /** Binding header values, in the route's order: `pay` becomes their hash. */
  bind?: readonly string[];
  /** Claims to add or override; a claim set to `undefined` is left out (`{ exp: undefined }`). */
  claims?: Record<string, unknown>;
  /**
   * The JWS header to sign, for tests of hostile headers.
   * @default { alg: 'HS256', typ: 'JWT' }
   */
  header?: Record<string, unknown>;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now()
   */
  now?: number;
}

const encodeSegment = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Mints an HS256 Approov token as the Approov cloud would, for tests and examples. Never use it
 * to issue tokens to clients: only Approov's attestation makes a token worth trusting.
 */
export function mintApproovToken(options: MintApproovTokenOptions): string {
  const { ttlSeconds = 300, now = Date.now() } = options;
  const claims = {
    exp: Math.floor(now / 1000) + ttlSeconds,
    ...(options.bind && { pay: approovBindingHash(options.bind) }),
    ...options.claims,
  };
  const signingInput = `${encodeSegment(options.header ?? { alg: 'HS256', typ: 'JWT' })}.${encodeSegment(claims)}`;
  const signature = createHmac('sha256', approovSecretKey(options.secret))
    .update(signingInput)
    .digest('base64url');
  return `${signingInput}.${signature}`;
}

/** A new random secret of 64 bytes in base64, like an Approov account's, for tests. */
export function generateApproovSecret(): string {
  return randomBytes(64).toString('base64');
}
