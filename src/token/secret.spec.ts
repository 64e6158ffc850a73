import { describe, expect, it } from '@jest/globals';
import type { KeyObject } from 'node:crypto';
import { decodeApproovSecret } from './secret.js';

const DUMMY =
  'h+CX0tOzdAAR9l15bWAqvq7w9olk66daIH+Xk+IAHhVVHszjDzeGobzNnqyRze3lw/WVyWrc2gZfh3XXfBOmww==';
const DUMMY_BYTES = Buffer.from(DUMMY, 'base64');

const bytesOf = (text: string) => (decodeApproovSecret(text) as KeyObject).export();

describe('decodeApproovSecret', () => {
  it('decodes the base64 the Approov CLI prints to the 64-byte secret', () => {
    expect(bytesOf(DUMMY)).toEqual(DUMMY_BYTES);
    expect(DUMMY_BYTES).toHaveLength(64);
  });

  it('accepts base64url, with or without padding, and surrounding whitespace', () => {
    const url = DUMMY_BYTES.toString('base64url');
    expect(bytesOf(url)).toEqual(DUMMY_BYTES);
    expect(bytesOf(`${url}==`)).toEqual(DUMMY_BYTES);
    expect(bytesOf(DUMMY.replace(/=+$/, ''))).toEqual(DUMMY_BYTES);
    expect(bytesOf(`  ${DUMMY}\n`)).toEqual(DUMMY_BYTES);
  });

  it('keeps non-printable bytes', () => {
    const bytes = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37) % 256));
    expect(bytesOf(bytes.toString('base64'))).toEqual(bytes);
  });

  it('accepts 32 bytes and refuses 31', () => {
    expect(bytesOf(Buffer.alloc(32, 1).toString('base64'))).toHaveLength(32);
    expect(decodeApproovSecret(Buffer.alloc(31, 1).toString('base64'))).toMatch(
      /^decodes to 31 bytes; an HS256 key needs at least 32/,
    );
  });

  it.each([
    ['missing', undefined, 'is missing'],
    ['null', null, 'is missing'],
    ['a number', 42, 'must be a string'],
    ['empty', '', 'is empty'],
    ['blank', '  \n', 'is empty'],
    ['padding only', '====', 'is not base64'],
    ['a placeholder', 'approov_base64_secret_here', 'is made of words: a placeholder'],
    ['a shouted placeholder', 'YOUR_APPROOV_SECRET', 'is made of words: a placeholder'],
    ['punctuation', '!!!!', 'is not base64'],
    ['with a space inside', DUMMY.replace('X', ' X'), 'is not base64'],
    [
      'mixed alphabets',
      `${DUMMY.slice(0, 40)}-_${DUMMY.slice(42)}`,
      'mixes the base64 and base64url',
    ],
    ['of impossible length', DUMMY.replace(/=+$/, '').slice(0, 85), 'has a length that no base64'],
    ['padded at a wrong length', `${DUMMY.replace(/=+$/, '').slice(0, 84)}=`, 'has a length'],
    ['with stray bits in its last character', DUMMY.replace('ww==', 'wx=='), 'is not canonical'],
  ])('refuses a secret that is %s, saying what is wrong without quoting it', (_, text, problem) => {
    const result = decodeApproovSecret(text);
    expect(typeof result).toBe('string');
    expect(result).toMatch(new RegExp(`^${problem}`));
    if (typeof text === 'string' && text.trim().length > 4)
      expect(result).not.toContain(text.trim());
  });
});
