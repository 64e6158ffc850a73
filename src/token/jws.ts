import type { JwsHeader, TokenKeySet } from './key-set.js';
import type { TokenFailure } from './token-failure.js';
import type { VerificationKey } from './verification-key.js';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Header parameters of other kinds of JOSE objects. */
const NOT_JWS_PARAMETERS = ['b64', 'zip', 'enc'];

/** The headers Approov signs with by default, as segments: they need no parsing. */
const APPROOV_HEADERS: ReadonlyMap<string, JwsHeader> = new Map(
  ['{"alg":"HS256","typ":"JWT"}', '{"typ":"JWT","alg":"HS256"}'].map((json) => [
    Buffer.from(json).toString('base64url'),
    { alg: 'HS256', kid: undefined },
  ]),
);

/**
 * The strict check of a compact JWS, without exceptions (RFC 7515 sections 5.2 and 7.1): three
 * base64url segments; a JSON object header with a string `alg` that one of `keys` has, a string
 * `kid` if any, and no `crit`; then the signature, by the keys that `keys` selects for that alg
 * and kid (never one the token names, embeds or points to). Returns the key that verified the
 * token, or why it fails. The payload is left to the caller.
 */
export function checkJws(token: string, keys: TokenKeySet): VerificationKey | TokenFailure {
  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  if (headerEnd <= 0 || payloadEnd <= headerEnd + 1 || token.indexOf('.', payloadEnd + 1) >= 0) {
    return 'malformed_token';
  }
  const headerSegment = token.slice(0, headerEnd);
  const signature = token.slice(payloadEnd + 1);
  if (
    !BASE64URL.test(headerSegment) ||
    !BASE64URL.test(token.slice(headerEnd + 1, payloadEnd)) ||
    !BASE64URL.test(signature)
  ) {
    return 'malformed_token';
  }
  const known = APPROOV_HEADERS.get(headerSegment) ?? keys.verifiedHeader(headerSegment);
  const header = known ?? parseHeader(headerSegment);
  if (typeof header === 'string') return header;
  const selection = keys.select(header.alg, header.kid);
  if (typeof selection === 'string') return selection;
  const signingInput = token.slice(0, payloadEnd);
  for (const key of selection.keys) {
    if (!key.verify(signingInput, signature)) continue;
    if (known === undefined) keys.rememberHeader(headerSegment, header);
    return key;
  }
  return selection.failure;
}

/** Reads a header segment other than Approov's usual ones. */
function parseHeader(segment: string): JwsHeader | TokenFailure {
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
  const { alg, kid } = header as Record<string, unknown>;
  if (!Object.hasOwn(header, 'alg') || typeof alg !== 'string') return 'unsupported_algorithm';
  // RFC 7515 section 4.1.11: a recipient that does not understand `crit` must reject.
  if (Object.hasOwn(header, 'crit')) return 'critical_header';
  // An unencoded payload (RFC 7797), compression or encryption has no place in an Approov JWS.
  if (NOT_JWS_PARAMETERS.some((name) => Object.hasOwn(header, name))) return 'malformed_token';
  if (Object.hasOwn(header, 'kid') && typeof kid !== 'string') return 'malformed_token';
  return { alg, kid: kid as string | undefined };
}
