import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  generateApproovSecret,
  mintApproovToken,
  type MintApproovTokenOptions,
} from 'nestjs-approov/testing';

/** Approov's published dummy secret (64 bytes). */
export const SECRET =
  'h+CX0tOzdAAR9l15bWAqvq7w9olk66daIH+Xk+IAHhVVHszjDzeGobzNnqyRze3lw/WVyWrc2gZfh3XXfBOmww==';

/** Another valid secret: tokens signed with it must fail the signature check. */
export const OTHER_SECRET = generateApproovSecret();

/** The request header that carries `token`. */
export const header = (token: string) => ({ 'Approov-Token': token });

/** A token signed with `SECRET`, valid for five minutes unless `options` say otherwise. */
export const mint = (options: Partial<MintApproovTokenOptions> = {}): string =>
  mintApproovToken({ secret: SECRET, ...options });

/**
 * A compact JWS of the given header and payload texts, exactly as written, signed HS256 with the
 * decoded `secret`: for tokens that `mint` cannot express (a payload that is not an object).
 */
export function signRaw(header: string, payload: string, secret = SECRET): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  const signature = createHmac('sha256', Buffer.from(secret, 'base64'))
    .update(input)
    .digest('base64url');
  return `${input}.${signature}`;
}

/** Approov's published test vectors, copied from the project's shared folder. */
export interface VectorCase {
  name: string;
  token: string | null;
  authorization?: string | null;
  expect: 200 | 401;
}
export interface Vectors {
  quickstarts: {
    secret_base64: string;
    binding_value: string;
    cases: VectorCase[];
    binding_cases: VectorCase[];
  };
  aspnet: {
    secret_base64: string;
    binding_values: { Authorization: string; 'X-Device-Id': string };
    cases: VectorCase[];
    binding_cases: VectorCase[];
  };
}
export const vectors: Vectors = JSON.parse(
  readFileSync(new URL('../vectors/approov-official.json', import.meta.url), 'utf8'),
);

/** The decoded payload of a compact JWS. */
export const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
