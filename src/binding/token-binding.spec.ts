import { describe, expect, it } from '@jest/globals';
import { approovBindingHash, checkBinding, payMatches } from './token-binding.js';
import type { ApproovClaims } from '../token/claims.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('approovBindingHash', () => {
  it("matches Approov's published binding vectors", () => {
    expect(approovBindingHash([`Bearer ${JWT}`])).toBe(
      'VQFFPJZ682aOtxRMjz0ktCHmyWeEEeSMvXh1uD8J3vk=',
    );
    expect(approovBindingHash(['Bearer authorizationtoken'])).toBe(
      'ksfBQsYbU4GcSMbX2z2kZgQlo4Gqce+KmiaShyI2j9w=',
    );
    expect(approovBindingHash(['Bearer myauth_token', 'my-device-id'])).toBe(
      '71tnS3rSq2lanEWrKz4MoexiOMtv7w0fspfM8BAQKNU=',
    );
  });

  it('trims each value and joins them with no separator, in order', () => {
    const joined = approovBindingHash(['Bearer myauth_tokenmy-device-id']);
    expect(approovBindingHash([' Bearer myauth_token\t', ' my-device-id '])).toBe(joined);
    expect(approovBindingHash(['my-device-id', 'Bearer myauth_token'])).not.toBe(joined);
  });

  it('hashes a value held as text as UTF-8, and one received from Node as its latin1 bytes', () => {
    const text = 'Bearer café';
    const received = Buffer.from(text, 'utf8').toString('latin1');
    expect(approovBindingHash([received], 'latin1')).toBe(approovBindingHash([text]));
    expect(approovBindingHash([received], 'latin1')).not.toBe(approovBindingHash([received]));
  });
});

describe('payMatches', () => {
  const expected = approovBindingHash(['Bearer authorizationtoken']);

  it('accepts exactly the expected text', () => {
    expect(payMatches(expected, expected)).toBe(true);
  });

  it('refuses other lengths without throwing, from 0 to 4096 characters', () => {
    for (const length of [0, 1, 43, 45, 88, 4096]) {
      expect(payMatches('A'.repeat(length), expected)).toBe(false);
    }
  });

  it('refuses non-ASCII text of the expected length in characters', () => {
    // 44 characters, 45 bytes: a compare on characters would throw or truncate.
    const nonAscii = `${expected.slice(0, 43)}Ł`;
    expect(nonAscii).toHaveLength(expected.length);
    expect(payMatches(nonAscii, expected)).toBe(false);
    // 'Ł' is U+0141: its low byte is 'A', which a latin1 conversion would keep.
    const lowByteTwin = `${expected.slice(0, 43)}${String.fromCharCode(0x100 + expected.charCodeAt(43))}`;
    expect(payMatches(lowByteTwin, expected)).toBe(false);
  });
});

describe('checkBinding', () => {
  const value = 'Bearer authorizationtoken';
  const claims = (pay?: unknown): ApproovClaims =>
    (pay === undefined ? { exp: 1 } : { exp: 1, pay }) as ApproovClaims;
  const bound = claims(approovBindingHash([value]));

  it('passes when pay is the hash of the headers', () => {
    expect(checkBinding(bound, ['Authorization', value], ['authorization'], false)).toBeUndefined();
  });

  it('names each failure', () => {
    const headers = ['authorization', value];
    expect(checkBinding(claims(), headers, ['authorization'], false)).toBe('missing_pay');
    expect(checkBinding(claims(7), headers, ['authorization'], false)).toBe('invalid_pay');
    expect(checkBinding(bound, [], ['authorization'], false)).toBe('missing_binding_header');
    expect(checkBinding(bound, ['authorization', ' '], ['authorization'], false)).toBe(
      'missing_binding_header',
    );
    expect(checkBinding(bound, [...headers, ...headers], ['authorization'], false)).toBe(
      'duplicate_binding_header',
    );
    expect(checkBinding(claims('x'), headers, ['authorization'], false)).toBe('binding_mismatch');
  });

  it('lets a token without pay through only with allowMissingPay', () => {
    expect(checkBinding(claims(), [], ['authorization'], true)).toBeUndefined();
    expect(checkBinding(claims('x'), ['authorization', value], ['authorization'], true)).toBe(
      'binding_mismatch',
    );
  });

  it('reads pay as an own claim only', () => {
    const inherited = Object.create({ pay: approovBindingHash([value]) }) as ApproovClaims;
    expect(checkBinding(inherited, ['authorization', value], ['authorization'], false)).toBe(
      'missing_pay',
    );
  });
});
