import {
  constants,
  createHmac,
  createPublicKey,
  type JsonWebKey,
  KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import {
  ALGORITHM_SPECS,
  type AlgorithmSpec,
  isJwsAlgorithm,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  MIN_RSA_BITS,
} from './algorithms.js';
import { decodeApproovSecret, type HmacAlgorithm } from './secret.js';

/** A key the token verifier trusts, checked and parsed once. */
export interface VerificationKey {
  /** The key id tokens name it by; `undefined` for a key that serves tokens of its `alg` whatever their `kid`. */
  readonly kid: string | undefined;
  /** The one algorithm this key verifies: pinned by configuration, never by the token. */
  readonly alg: JwsAlgorithm;
  readonly key: KeyObject;
  /**
   * Whether `signature` (the third segment of a compact JWS, base64url) is this key's signature of
   * `signingInput` (the first two segments and the dot). Never throws.
   */
  readonly verify: (signingInput: string, signature: string) => boolean;
}

/** How a verification key is given: `key` as text, a JWK or a `KeyObject`. */
export interface VerificationKeyDescription {
  readonly kid?: unknown;
  readonly alg?: unknown;
  readonly key?: unknown;
}

/**
 * What is wrong with a key description, as the end of a sentence that starts with the key's
 * name: `is a private key: give the public key`. It never quotes the key material.
 */
export type KeyProblem = string;

const MAX_KID_LENGTH = 256;

/**
 * Checks and parses a verification key: an HMAC secret as base64 or base64url text (or a secret
 * `KeyObject`); a public key as PEM text, a JWK (object or JSON text) or a `KeyObject`. The key
 * must suit `alg`: RSA of at least 2048 bits for RS* and PS*, the algorithm's curve for ES*,
 * Ed25519 or Ed448 for EdDSA. A private key, or a secret given for an asymmetric algorithm, is a
 * problem, not something to derive a key from.
 */
export function parseVerificationKey(
  description: VerificationKeyDescription,
): VerificationKey | KeyProblem {
  if (typeof description !== 'object' || description === null) {
    return 'must be an object { kid?, alg, key }';
  }
  const { alg } = description;
  if (!isJwsAlgorithm(alg))
    return `has ${describeAlg(alg)}; it must be one of ${JWS_ALGORITHMS.join(', ')}`;
  let kid = description.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH)) {
    return `has a kid that is not text of 1 to ${MAX_KID_LENGTH} characters`;
  }
  const spec = ALGORITHM_SPECS[alg];
  let key: KeyObject | KeyProblem;
  if (spec.family === 'hmac') {
    key = secretKeyOf(description.key, alg as HmacAlgorithm);
  } else {
    const parsed = publicKeyOf(description.key, alg);
    if (typeof parsed === 'string') return parsed;
    if (parsed.kid !== undefined) {
      if (kid !== undefined && kid !== parsed.kid) {
        return 'has a kid that differs from the kid of its JWK';
      }
      kid = parsed.kid;
    }
    key = parsed.key;
    const mismatch = keyMismatch(key, alg, spec);
    if (mismatch !== undefined) return mismatch;
  }
  if (typeof key === 'string') return key;
  return Object.freeze({
    kid: kid as string | undefined,
    alg,
    key,
    verify: verifierOf(key, spec),
  });
}

function secretKeyOf(value: unknown, alg: HmacAlgorithm): KeyObject | KeyProblem {
  let key: KeyObject | string;
  if (value instanceof KeyObject) {
    if (value.type !== 'secret') return `is a ${value.type} key; ${alg} needs a secret`;
    const minBytes = ALGORITHM_SPECS[alg].hashBytes;
    if (value.symmetricKeySize! < minBytes) {
      return `is ${value.symmetricKeySize} bytes; an ${alg} key needs at least ${minBytes}`;
    }
    key = value;
  } else if (typeof value === 'string') {
    key = decodeApproovSecret(value, alg);
    if (typeof key === 'string') return `has a secret that ${key}`;
  } else {
    return `needs the secret as base64 or base64url text for ${alg}`;
  }
  // A public key given as the secret would let anyone who has it sign tokens.
  return isPublicKeyDer(key.export()) ? `is a public key in DER; ${alg} needs the secret` : key;
}

function isPublicKeyDer(bytes: Buffer): boolean {
  return (['spki', 'pkcs1'] as const).some((type) => {
    try {
      createPublicKey({ key: bytes, format: 'der', type });
      return true;
    } catch {
      return false;
    }
  });
}

interface ParsedPublicKey {
  key: KeyObject;
  /** The JWK's own `kid`, if it was given as one. */
  kid?: string;
}

function publicKeyOf(value: unknown, alg: JwsAlgorithm): ParsedPublicKey | KeyProblem {
  if (value instanceof KeyObject) {
    if (value.type === 'public') return { key: value };
    return value.type === 'private'
      ? 'is a private key: give the public key'
      : `is a secret; ${alg} needs a public key`;
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('-----BEGIN ')) {
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
        return 'is a private key: give the public key';
      }
      try {
        return { key: createPublicKey(text) };
      } catch {
        return 'is not a readable PEM public key';
      }
    }
    if (text.startsWith('{')) {
      try {
        return publicKeyOfJwk(JSON.parse(text) as unknown, alg);
      } catch {
        return 'is neither PEM nor JWK JSON';
      }
    }
    return `is neither a PEM nor a JWK public key; ${alg} needs a public key, not a secret`;
  }
  if (typeof value === 'object' && value !== null) return publicKeyOfJwk(value, alg);
  return `must be a public key for ${alg}: PEM text, a JWK or a KeyObject`;
}

/** JWK members that only a private (or secret) key has (RFC 7518 section 6). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A public JWK (RFC 7517), whose `alg`, `use` and `key_ops`, when given, must allow `alg`. */
export function publicKeyOfJwk(jwk: unknown, alg: JwsAlgorithm): ParsedPublicKey | KeyProblem {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'is not a JWK object';
  const members = jwk as Record<string, unknown>;
  if (members.kty === 'oct') return `is a secret (kty "oct"); ${alg} needs a public key`;
  if (PRIVATE_JWK_MEMBERS.some((name) => Object.hasOwn(members, name))) {
    return 'is a private key: give the public key';
  }
  if (members.alg !== undefined && members.alg !== alg) {
    return `is a JWK with ${describeAlg(members.alg)}, not ${alg}`;
  }
  if (members.use !== undefined && members.use !== 'sig') {
    return 'is a JWK whose "use" is not "sig"';
  }
  if (
    members.key_ops !== undefined &&
    !(Array.isArray(members.key_ops) && members.key_ops.includes('verify'))
  ) {
    return 'is a JWK whose "key_ops" do not include "verify"';
  }
  if (members.kid !== undefined && (typeof members.kid !== 'string' || members.kid === '')) {
    return 'is a JWK whose kid is not text';
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members as JsonWebKey, format: 'jwk' });
  } catch {
    return 'is not a readable public JWK';
  }
  return { key, kid: members.kid };
}

/** Why a public key does not suit `alg`, if it does not. */
function keyMismatch(
  key: KeyObject,
  alg: JwsAlgorithm,
  spec: AlgorithmSpec,
): KeyProblem | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (spec.family) {
    case 'rsa':
    case 'rsa-pss':
      if (type !== 'rsa' && !(type === 'rsa-pss' && spec.family === 'rsa-pss')) {
        return `is ${keyTypeName(type)} key; ${alg} needs an RSA key`;
      }
      if (details.modulusLength! < MIN_RSA_BITS) {
        return `is an RSA key of ${details.modulusLength} bits; at least ${MIN_RSA_BITS} are needed`;
      }
      // An RSA-PSS key can be restricted to one hash and a salt length: ones other than the
      // algorithm's would make every verification fail.
      return (details.hashAlgorithm !== undefined && details.hashAlgorithm !== spec.hash) ||
        (details.mgf1HashAlgorithm !== undefined && details.mgf1HashAlgorithm !== spec.hash) ||
        (details.saltLength !== undefined && details.saltLength > spec.hashBytes)
        ? `is an RSA-PSS key restricted to other parameters than ${alg}'s (${spec.hash}, salt of ${spec.hashBytes} bytes)`
        : undefined;
    case 'ecdsa':
      if (type !== 'ec') return `is ${keyTypeName(type)} key; ${alg} needs an EC key`;
      return details.namedCurve !== spec.curve
        ? `is on curve ${details.namedCurve}; ${alg} needs ${spec.curve}`
        : undefined;
    default:
      return type === 'ed25519' || type === 'ed448'
        ? undefined
        : `is ${keyTypeName(type)} key; EdDSA needs an Ed25519 or Ed448 key`;
  }
}

/** The signature check of one key, with everything that can be worked out once bound in. */
function verifierOf(key: KeyObject, spec: AlgorithmSpec): VerificationKey['verify'] {
  if (spec.family === 'hmac') {
    const length = Math.ceil((spec.hashBytes * 4) / 3);
    // The two texts compared are written into buffers made once, not into two new ones per call
    // (1.6% of a forged request's time in a CPU profile of the app under a flood).
    const given = Buffer.alloc(length);
    const expected = Buffer.alloc(length);
    return (signingInput, signature) => {
      if (signature.length !== length) return false;
      // Compared as text: another encoding of the same bytes is another token.
      given.write(signature, 'latin1');
      expected.write(
        createHmac(spec.hash!, key).update(signingInput, 'latin1').digest('base64url'),
        'latin1',
      );
      return timingSafeEqual(given, expected);
    };
  }
  const details = key.asymmetricKeyDetails!;
  const signatureBytes =
    spec.family === 'ecdsa'
      ? 2 * spec.coordinateBytes!
      : spec.family === 'eddsa'
        ? key.asymmetricKeyType === 'ed25519'
          ? 64
          : 114
        : Math.ceil(details.modulusLength! / 8);
  const verifyKey =
    spec.family === 'ecdsa'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : spec.family === 'rsa-pss'
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.hashBytes }
        : key;
  const hash = spec.hash ?? null;
  return (signingInput, signature) => {
    const bytes = Buffer.from(signature, 'base64url');
    // DER-encoded ECDSA, truncated or padded signatures have another length; a non-canonical
    // encoding of the right bytes is another token.
    if (bytes.length !== signatureBytes || bytes.toString('base64url') !== signature) return false;
    try {
      return verify(hash, Buffer.from(signingInput, 'latin1'), verifyKey, bytes);
    } catch {
      return false;
    }
  };
}

/**
 * A kid as a message names it, `kid "2026-a"` (its first 64 characters), when it is printable
 * text; otherwise `undefined`: a kid from a configuration or a key set document never brings
 * control characters into a log line.
 */
export function describeKid(kid: unknown): string | undefined {
  return typeof kid === 'string' && kid !== '' && /^[\x20-\x7e]*$/.test(kid)
    ? `kid "${kid.slice(0, 64)}"`
    : undefined;
}

/** The key types Node names, with their article, for problems: `an EC`, `an RSA-PSS`. */
const KEY_TYPE_NAMES: Readonly<Record<string, string>> = {
  rsa: 'an RSA',
  'rsa-pss': 'an RSA-PSS',
  dsa: 'a DSA',
  dh: 'a DH',
  ec: 'an EC',
  ed25519: 'an Ed25519',
  ed448: 'an Ed448',
  x25519: 'an X25519',
  x448: 'an X448',
};

function keyTypeName(type: string | undefined): string {
  return KEY_TYPE_NAMES[type ?? ''] ?? 'another kind of';
}

const QUOTABLE_ALGORITHMS: ReadonlySet<string> = new Set(
  [...JWS_ALGORITHMS, 'none'].map((name) => name.toLowerCase()),
);

/**
 * An `alg` as given, for a problem: quoted only when it is an algorithm name in another case (or
 * `none`), so that a secret given as the alg by mistake is never echoed.
 */
function describeAlg(value: unknown): string {
  if (typeof value !== 'string') return `an alg of type ${typeof value}`;
  return QUOTABLE_ALGORITHMS.has(value.toLowerCase())
    ? `alg "${value}"`
    : 'an alg that is no algorithm name';
}
