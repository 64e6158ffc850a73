import { createSecretKey, type KeyObject } from 'node:crypto';
import { decodeBase64 } from './base64.js';

/** HS256 wants a key of at least its output size (RFC 7518 section 3.2); Approov's has 64 bytes. */
const MIN_SECRET_BYTES = 32;

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
  const bytes = decodeBase64(trimmed);
  if (typeof bytes === 'string') return bytes;
  if (bytes.length < MIN_SECRET_BYTES) {
    return `decodes to ${bytes.length} bytes; an HS256 key needs at least ${MIN_SECRET_BYTES} (Approov's has 64)`;
  }
  return createSecretKey(bytes);
}
