import { createSecretKey, type KeyObject } from 'node:crypto';
import { ALGORITHM_SPECS } from './algorithms.js';
import { decodeBase64 } from './base64.js';

/** The HMAC algorithms a secret can be given for. */
export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';

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
 * An HMAC key must be at least as long as the hash output (RFC 7518 section 3.2); Approov's has
 * 64 bytes.
 */
export function decodeApproovSecret(
  text: unknown,
  algorithm: HmacAlgorithm = 'HS256',
): KeyObject | SecretProblem {
  if (typeof text !== 'string') {
    return text === undefined || text === null ? 'is missing' : 'must be a string';
  }
  const trimmed = text.trim();
  if (trimmed === '') return 'is empty';
  if (PLACEHOLDER.test(trimmed)) return 'is made of words: a placeholder, not the secret';
  const bytes = decodeBase64(trimmed);
  if (typeof bytes === 'string') return bytes;
  const minBytes = ALGORITHM_SPECS[algorithm].hashBytes;
  if (bytes.length < minBytes) {
    return `decodes to ${bytes.length} bytes; an ${algorithm} key needs at least ${minBytes} (Approov's has 64)`;
  }
  return createSecretKey(bytes);
}
