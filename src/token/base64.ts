/**
 * What is wrong with a text that should be base64, as the end of a sentence that starts with the
 * thing's name: `is not base64 or base64url text`. It never quotes the text.
 */
export type Base64Problem =
  | 'is not base64 or base64url text'
  | 'mixes the base64 and base64url alphabets'
  | 'has a length that no base64 text can have (is it truncated?)'
  | 'is not canonical base64 (is it truncated or mistyped?)';

const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes standard base64 or base64url, padding optional, strictly: one alphabet, a possible
 * length, and no stray bits in the last character, so that one byte string has one text. Node's
 * own decoder skips what it does not know, which would let two texts mean the same bytes.
 */
export function decodeBase64(text: string): Buffer | Base64Problem {
  if (!BASE64_TEXT.test(text)) return 'is not base64 or base64url text';
  if (/[+/]/.test(text) && /[-_]/.test(text)) return 'mixes the base64 and base64url alphabets';
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1 || (unpadded !== text && text.length % 4 !== 0)) {
    return 'has a length that no base64 text can have (is it truncated?)';
  }
  const urlText = unpadded.replace(/\+/g, '-').replace(/\//g, '_');
  const bytes = Buffer.from(urlText, 'base64url');
  if (bytes.toString('base64url') !== urlText) {
    return 'is not canonical base64 (is it truncated or mistyped?)';
  }
  return bytes;
}
