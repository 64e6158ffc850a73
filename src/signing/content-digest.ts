import { createHash } from 'node:crypto';
import { isInnerList, parseDictionary } from 'structured-headers';
import { bytesOf } from './signature-fields.js';
import type { SigningFailure } from './signing-failure.js';

/** The Content-Digest algorithms (RFC 9530) checked, by their registered names. */
const DIGEST_ALGORITHMS: Readonly<Record<string, string>> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
};

/**
 * Checks a `Content-Digest` field (RFC 9530) against the body's bytes: every known algorithm it
 * lists must match; unknown ones are skipped, but at least one must be known. Returns why it
 * fails, or `undefined`.
 */
export function checkContentDigest(field: string, body: Buffer): SigningFailure | undefined {
  let digests;
  try {
    digests = parseDictionary(field);
  } catch {
    return 'content_digest_invalid';
  }
  let checked = 0;
  for (const [name, member] of digests) {
    const algorithm = DIGEST_ALGORITHMS[name];
    if (algorithm === undefined) continue;
    const expected = isInnerList(member) ? undefined : bytesOf(member[0]);
    if (expected === undefined) return 'content_digest_invalid';
    if (!createHash(algorithm).update(body).digest().equals(expected)) {
      return 'content_digest_mismatch';
    }
    checked += 1;
  }
  return checked === 0 ? 'content_digest_invalid' : undefined;
}
