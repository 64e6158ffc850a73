import { createHmac } from 'node:crypto';
import { SECRET } from '../support/tokens.js';

/** The decoded account secret of the test app. */
export const SECRET_BYTES = Buffer.from(SECRET, 'base64');

export const b64url = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

export interface ForgeOptions {
  /** The header: an object, or JSON text exactly as written. */
  header?: object | string;
  /** The payload: an object, or JSON text exactly as written. */
  payload?: object | string;
  /** The HMAC key (default: the app's secret). */
  key?: Buffer | string;
  /** The HMAC hash (default: sha256). */
  hash?: 'sha256' | 'sha384' | 'sha512';
}

const asText = (value: object | string): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/** A token built piece by piece, as an attacker would: any header, payload, key or hash. */
export function forge({
  header = { alg: 'HS256', typ: 'JWT' },
  payload = { exp: Math.floor(Date.now() / 1000) + 300 },
  key = SECRET_BYTES,
  hash = 'sha256',
}: ForgeOptions = {}): string {
  const input = `${b64url(asText(header))}.${b64url(asText(payload))}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

/** A future `exp`. */
export const future = () => Math.floor(Date.now() / 1000) + 300;
