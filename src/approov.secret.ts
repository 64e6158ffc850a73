import { createSecretKey, type KeyObject } from 'node:crypto';
import { ApproovConfigError } from './approov.errors.js';

/** HS256 wants a key of at least its output size (RFC 7518 section 3.2); Approov's has 64 bytes. */
const MIN_SECRET_BYTES = 32;

const HOW_TO_GET =
  'Get the account secret with `approov secret -get base64` (or `-get base64url`) and pass it exactly as printed.';

const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;
/**
 * Words, not random text: `approov_base64_secret_here`, `your-secret`, `CHANGE_ME`. Random base64
 * of 43 characters or more is in one case only about once in 10^11 tries.
 */
const PLACEHOLDER = /^(?:[a-z0-9_-]+|[A-Z0-9_-]+)$/;

/**
 * Decodes the account secret as the Approov CLI prints it: standard base64 or base64url, padding
 * optional, surrounding whitespace ignored. Anything else fails with an `ApproovConfigError` that
 * names the option, so that a mistyped or truncated secret stops the app at startup instead of
 * refusing every request.
 */
export function decodeApproovSecret(text: unknown): KeyObject {
  const fail = (problem: string): never => {
    throw new ApproovConfigError('secret', problem, HOW_TO_GET);
  };
  if (typeof text !== 'string') {
    return fail(text === undefined || text === null ? 'is missing' : 'must be a string');
  }
  const trimmed = text.trim();
  if (trimmed === '') return fail('is empty');
  if (PLACEHOLDER.test(trimmed)) return fail('is made of words: a placeholder, not the secret');
  if (!BASE64_TEXT.test(trimmed)) return fail('is not base64 or base64url text');
  if (/[+/]/.test(trimmed) && /[-_]/.test(trimmed)) {
    return fail('mixes the base64 and base64url alphabets');
  }
  const unpadded = trimmed.replace(/=+$/, '');
  const padded = unpadded !== trimmed;
  if (unpadded.length % 4 === 1 || (padded && trimmed.length % 4 !== 0)) {
    return fail('has a length that no base64 text can have (is it truncated?)');
  }
  const urlText = unpadded.replace(/\+/g, '-').replace(/\//g, '_');
  const bytes = Buffer.from(urlText, 'base64url');
  // A final character with stray low bits means the text was cut or mistyped.
  if (bytes.toString('base64url') !== urlText) {
    return fail('is not canonical base64 (is it truncated or mistyped?)');
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    return fail(
      `decodes to ${bytes.length} bytes; an HS256 key needs at least ${MIN_SECRET_BYTES} (Approov's has 64)`,
    );
  }
  return createSecretKey(bytes);
}
