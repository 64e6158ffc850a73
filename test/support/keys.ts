import { createSecretKey, KeyObject } from 'node:crypto';
import type { ApproovKeyOptions, JwsAlgorithm } from 'nestjs-approov';
import {
  generateApproovKeyPair,
  generateApproovSecret,
  mintApproovToken,
} from 'nestjs-approov/testing';
// Internal, not in the public API: for the unit specs of the core, which build keys and key sets.
import { TokenKeySet } from '../../src/token/key-set.js';
import { parseVerificationKey, type VerificationKey } from '../../src/token/verification-key.js';

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';
export type AsymmetricAlgorithm = Exclude<JwsAlgorithm, HmacAlgorithm>;

export const HMAC_ALGORITHMS: readonly HmacAlgorithm[] = ['HS256', 'HS384', 'HS512'];
/** One or more algorithms of each asymmetric family: RSA, RSA-PSS, ECDSA on each curve, EdDSA. */
export const ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = [
  'RS256',
  'PS256',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Signs tokens with an HMAC secret, which is also the key a server verifies them with. */
export interface SecretSigner {
  readonly alg: HmacAlgorithm;
  /** Base64, as `approov secret -get base64` prints it. */
  readonly secret: string;
}

/** Signs tokens with a private key; a server verifies them with the public key. */
export interface KeyPairSigner {
  readonly alg: AsymmetricAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export type Signer = SecretSigner | KeyPairSigner;

/** A new signer: a 64-byte secret for HMAC, a new key pair otherwise. */
export function newSigner(alg: HmacAlgorithm): SecretSigner;
export function newSigner(alg: AsymmetricAlgorithm): KeyPairSigner;
export function newSigner(alg: JwsAlgorithm): Signer;
export function newSigner(alg: JwsAlgorithm): Signer {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512'
    ? { alg, secret: generateApproovSecret() }
    : { alg, ...generateApproovKeyPair(alg) };
}

/** The ways a key can be given to `keys`. */
export type HmacKeyFormat = 'base64 text' | 'base64url text' | 'secret KeyObject';
export type PublicKeyFormat = 'PEM' | 'JWK object' | 'JWK JSON text' | 'public KeyObject';

/** The verification key of `signer`, given as `format`. */
export function keyIn(
  format: HmacKeyFormat | PublicKeyFormat,
  signer: Signer,
): ApproovKeyOptions['key'] {
  if ('secret' in signer) {
    const bytes = Buffer.from(signer.secret, 'base64');
    switch (format) {
      case 'base64 text':
        return signer.secret;
      case 'base64url text':
        return bytes.toString('base64url');
      case 'secret KeyObject':
        return createSecretKey(bytes);
      default:
        throw new TypeError(`An ${signer.alg} secret is not given as ${format}.`);
    }
  }
  const { publicKey, alg } = signer;
  switch (format) {
    case 'PEM':
      return publicKey.export({ type: 'spki', format: 'pem' }) as string;
    case 'JWK object':
      return publicKey.export({ format: 'jwk' });
    case 'JWK JSON text':
      // As a key set serves it: with the algorithm and use it is for.
      return JSON.stringify({ ...publicKey.export({ format: 'jwk' }), alg, use: 'sig' });
    case 'public KeyObject':
      return publicKey;
    default:
      throw new TypeError(`An ${alg} public key is not given as ${format}.`);
  }
}

/**
 * A token signed by `signer`, valid for five minutes, with `kid` in its header when given and
 * `claims` in its payload.
 */
export function signToken(
  signer: Signer,
  { kid, claims }: { kid?: string; claims?: Record<string, unknown> } = {},
): string {
  const key = 'secret' in signer ? signer.secret : signer.privateKey;
  return mintApproovToken({ key: { alg: signer.alg, key, kid }, claims });
}

/**
 * The runs of 16 or more base64 or base64url characters in a key, however it is given (text, JWK,
 * `KeyObject`): what an error message must never quote.
 */
export function materialOf(key: unknown): string[] {
  const text =
    key instanceof KeyObject
      ? textsOf(key).join(' ')
      : typeof key === 'string'
        ? key
        : JSON.stringify(key);
  return text.match(/[A-Za-z0-9+/_-]{16,}/g) ?? [];
}

/** A `KeyObject` as DER in both base64 alphabets, and as a JWK where it has one (RSA-PSS has none). */
function textsOf(key: KeyObject): string[] {
  const der =
    key.type === 'secret'
      ? key.export()
      : key.export({ format: 'der', type: key.type === 'private' ? 'pkcs8' : 'spki' });
  const texts = [der.toString('base64'), der.toString('base64url')];
  if (key.asymmetricKeyType !== 'rsa-pss')
    texts.push(JSON.stringify(key.export({ format: 'jwk' })));
  return texts;
}

/** The key `parseVerificationKey` makes of `key` for `alg`, which the test needs accepted. */
export function keyOf(alg: JwsAlgorithm, key: unknown, kid?: string): VerificationKey {
  const parsed = parseVerificationKey({ alg, key, kid });
  if (typeof parsed === 'string') throw new Error(`refused: ${parsed}`);
  return parsed;
}

/** The key set of `keys`, which the test needs accepted. */
export function setOf(...keys: VerificationKey[]): TokenKeySet {
  const set = TokenKeySet.of(keys);
  if (!(set instanceof TokenKeySet)) throw new Error(`refused: ${set.problem}`);
  return set;
}
