import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { TokenFailure } from './token-failure.js';

/** The algorithm Approov signs with: pinned here, never taken from the token. */
export const APPROOV_ALGORITHM = 'HS256';

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
 * The strict check of a compact JWS signed with HS256 and `key`, without exceptions (RFC 7515
 * sections 5.2 and 7.1): three base64url segments, a JSON object header with `alg` HS256 and no
 * `crit`, and the HMAC compared in constant time. Returns why the token fails, or `undefined`.
 * The payload is left to the caller.
 */
export function checkHs256Jws(token: string, key: KeyObject): TokenFailure | undefined {
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
  const expected = createHmac('sha256', key).update(token.slice(0, payloadEnd)).digest('base64url');
  if (
    signature.length !== expected.length ||
    !timingSafeEqual(Buffer.from(signature, 'latin1'), Buffer.from(expected, 'latin1'))
  ) {
    return 'bad_signature';
  }
  return undefined;
}

/** Checks a header segment other than Approov's usual ones. */
function checkHeader(segment: string): TokenFailure | undefined {
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
