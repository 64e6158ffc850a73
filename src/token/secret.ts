import { createSecretKey, type KeyObject } from 'node:crypto';

/** HS256 wants a key of at least its output size (RFC 7518 section 3.2); Approov's has 64 bytes. */
const MIN_SECRET_BYTES = 32;

const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;
/**
 * Words, not random text: `approov_base64_secret_here`, `your-secret`, `CHANGE_ME`. Random base64
 * of 43 characters or more is in one case only about once in 10^11 tries.
 */
const PLACEHOLDER = /^(?:[a-z0-9_-]+|[A-Z0-9_-]+)$/;

/**
 * What is wrong with a text given as the account secret, as the end of a sentence that starts
 * with the option's name: `is empty`, `is not base64 or base64url text`. It never quotes the text.
 */
export type SecretProblem = string;

/**
 * Decodes the account secret as the Approov CLI prints it: standard base64 or base64url, padding
 * optional, surrounding whitespace ignored. Anything else is a `SecretProblem`, so that a
 * mistyped or truncated secret can stop the app at startup instead of refusing every request.
 */
export function decodeApproovSecret(text: unknown): KeyObject | SecretProblem {
  if (typeof text !== 'string') {
    return text === undefined || text === null ? 'is missing' : 'must be a string';
  }
  const trimmed = text.trim();
  if (trimmed === '') return 'is empty';
  if (PLACEHOLDER.test(trimmed)) return 'is made of words: a placeholder, not the secret';
  if (!BASE64_TEXT.test(trimmed)) return 'is not base64 or base64url text';
  if (/[+/]/.test(trimmed) && /[-_]/.test(trimmed)) {
    return 'mixes the base64 and base64url alphabets';
  }
  const unpadded = trimmed.replace(/=+$/, '');
  const padded = unpadded !== trimmed;
  if (unpadded.length % 4 === 1 || (padded && trimmed.length % 4 !== 0)) {
    return 'has a length that no base64 text can have (is it truncated?)';
  }
  const urlText = unpadded.replace(/\+/g, '-').replace(/\//g, '_');
  const bytes = Buffer.from(urlText, 'base64url');
  // A final character with stray low bits means the text was cut or mistyped.
  if (bytes.toString('base64url') !== urlText) {
    return 'is not canonical base64 (is it truncated or mistyped?)';
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    return `decodes to ${bytes.length} bytes; an HS256 key needs at least ${MIN_SECRET_BYTES} (Approov's has 64)`;
  }
  return createSecretKey(bytes);
}
