import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { checkContentDigest } from './content-digest.js';

const body = Buffer.from('{"hello": "world"}');
const digest = (algorithm: string, of = body) => createHash(algorithm).update(of).digest('base64');

describe('checkContentDigest', () => {
  it('accepts RFC 9530 digests of the body, as byte sequences or strings', () => {
    // RFC 9530 appendix B.1's sha-256 of this body.
    expect(
      checkContentDigest('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:', body),
    ).toBeUndefined();
    expect(checkContentDigest(`sha-512=:${digest('sha512')}:`, body)).toBeUndefined();
    expect(checkContentDigest(`sha-256="${digest('sha256')}"`, body)).toBeUndefined();
    expect(checkContentDigest(`md5=:AAAA:, sha-256=:${digest('sha256')}:`, body)).toBeUndefined();
  });

  it('wants every known algorithm to match', () => {
    const other = Buffer.from('{}');
    expect(checkContentDigest(`sha-256=:${digest('sha256', other)}:`, body)).toBe(
      'content_digest_mismatch',
    );
    expect(
      checkContentDigest(
        `sha-256=:${digest('sha256')}:, sha-512=:${digest('sha512', other)}:`,
        body,
      ),
    ).toBe('content_digest_mismatch');
  });

  it('refuses unparsable fields, unknown algorithms only, and values that are not bytes', () => {
    for (const field of [
      '',
      'sha-256',
      'md5=:AAAA:',
      'sha-256=1',
      'sha-256=(:AAAA:)',
      'sha-256="%%"',
      '==',
    ]) {
      expect(checkContentDigest(field, body)).toBe('content_digest_invalid');
    }
  });
});
