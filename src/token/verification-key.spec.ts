import { describe, expect, it } from '@jest/globals';
import {
  constants,
  createSecretKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { generateApproovKeyPair, mintApproovToken } from '../testing/index.js';
import { JWS_ALGORITHMS, type JwsAlgorithm } from './algorithms.js';
import { parseVerificationKey, type VerificationKey } from './verification-key.js';

type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';
type AsymmetricAlgorithm = Exclude<JwsAlgorithm, HmacAlgorithm>;
interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const NOW = 1_800_000_000_000;

/** The key `parseVerificationKey` makes of a description it must accept. */
function parse(alg: JwsAlgorithm, key: unknown, kid?: unknown): VerificationKey {
  const parsed = parseVerificationKey({ alg, key, ...(kid !== undefined && { kid }) });
  if (typeof parsed === 'string') throw new Error(`refused: ${parsed}`);
  return parsed;
}

/** Whether `key` verifies the signature of the compact JWS `token`. */
function verifies(key: VerificationKey, token: string): boolean {
  const end = token.lastIndexOf('.');
  return key.verify(token.slice(0, end), token.slice(end + 1));
}

const signatureOf = (token: string) =>
  Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
const withSignature = (token: string, signature: Buffer | string) =>
  `${token.slice(0, token.lastIndexOf('.'))}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`;

const mintWith = (alg: JwsAlgorithm, key: KeyObject | string) =>
  mintApproovToken({ key: { alg, key }, now: NOW });

/** The members of a JWK that carry key material (RFC 7518 section 6). */
const MATERIAL_MEMBERS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'x', 'y', 'k'];

/** Every 8-character run of the key's material, in each text form it could be quoted in. */
function materialRunsOf(key: unknown): string[] {
  let texts: string[] = [];
  if (key instanceof KeyObject) {
    const bytes =
      key.type === 'secret'
        ? key.export()
        : key.export({ format: 'der', type: key.type === 'private' ? 'pkcs8' : 'spki' });
    texts = [bytes.toString('base64'), bytes.toString('base64url')];
  } else if (Buffer.isBuffer(key)) {
    texts = [key.toString('base64'), key.toString('base64url')];
  } else if (typeof key === 'string') {
    const jwk = jsonOf(key);
    if (jwk !== undefined) return materialRunsOf(jwk);
    texts = key.replace(/-----[A-Z ]+-----/g, '').split(/\s+/);
  } else if (typeof key === 'object' && key !== null) {
    texts = MATERIAL_MEMBERS.map((name) => (key as Record<string, unknown>)[name]).filter(
      (value): value is string => typeof value === 'string',
    );
  }
  return texts.flatMap((text) =>
    Array.from({ length: Math.max(text.length - 7, 0) }, (_, i) => text.slice(i, i + 8)),
  );
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Asserts that `problem` is text that quotes nothing of `key`. */
function expectNoKeyMaterial(problem: unknown, key: unknown): void {
  expect(typeof problem).toBe('string');
  expect(materialRunsOf(key).filter((run) => (problem as string).includes(run))).toEqual([]);
}

const rsa = generateApproovKeyPair('RS256');
const rsaAttacker = generateApproovKeyPair('RS256');
const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateApproovKeyPair('ES256');
const p384 = generateApproovKeyPair('ES384');
const p521 = generateApproovKeyPair('ES512');
const ed25519 = generateApproovKeyPair('EdDSA');
const ed448 = generateKeyPairSync('ed448');

/** Each asymmetric algorithm with a key pair of the kind it takes, and another (an attacker's). */
const ASYMMETRIC_CASES: readonly [string, AsymmetricAlgorithm, KeyPair, KeyPair][] = [
  ['RS256', 'RS256', rsa, rsaAttacker],
  ['RS384', 'RS384', rsa, rsaAttacker],
  ['RS512', 'RS512', rsa, rsaAttacker],
  ['PS256', 'PS256', rsa, rsaAttacker],
  ['PS384', 'PS384', rsa, rsaAttacker],
  ['PS512', 'PS512', rsa, rsaAttacker],
  ['ES256', 'ES256', p256, generateApproovKeyPair('ES256')],
  ['ES384', 'ES384', p384, generateApproovKeyPair('ES384')],
  ['ES512', 'ES512', p521, generateApproovKeyPair('ES512')],
  ['EdDSA with Ed25519', 'EdDSA', ed25519, generateApproovKeyPair('EdDSA')],
  ['EdDSA with Ed448', 'EdDSA', ed448, generateKeyPairSync('ed448')],
];

/** The ways a public key can be given. */
const PUBLIC_KEY_FORMATS: readonly [string, (key: KeyObject) => unknown][] = [
  ['PEM text', (key) => key.export({ format: 'pem', type: 'spki' })],
  ['a JWK object', (key) => key.export({ format: 'jwk' })],
  ['JWK JSON text', (key) => JSON.stringify(key.export({ format: 'jwk' }))],
  ['a public KeyObject', (key) => key],
];

describe('parseVerificationKey: public keys', () => {
  describe.each(ASYMMETRIC_CASES)('%s', (_, alg, pair, attacker) => {
    const token = mintWith(alg, pair.privateKey);
    const forged = mintWith(alg, attacker.privateKey);

    it.each(PUBLIC_KEY_FORMATS)(
      'takes the public key as %s and verifies its signatures only',
      (__, format) => {
        const key = parse(alg, format(pair.publicKey));
        expect(key).toMatchObject({ alg, kid: undefined });
        expect(key.key.equals(pair.publicKey)).toBe(true);
        expect(Object.isFrozen(key)).toBe(true);
        expect(verifies(key, token)).toBe(true);
        expect(verifies(key, forged)).toBe(false);
        expect(verifies(key, `${token.slice(0, 5)}x${token.slice(6)}`)).toBe(false);
      },
    );
  });

  it('takes RSA public keys as PKCS#1 PEM, and PEM with surrounding whitespace', () => {
    const token = mintWith('RS256', rsa.privateKey);
    const pkcs1 = rsa.publicKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    expect(pkcs1).toMatch(/^-----BEGIN RSA PUBLIC KEY-----/);
    expect(verifies(parse('RS256', pkcs1), token)).toBe(true);
    const spki = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(verifies(parse('RS256', `\n  ${spki}\n\n`), token)).toBe(true);
  });

  it.each(['PS256', 'PS384', 'PS512'] as const)(
    'takes an RSA-PSS key (asymmetricKeyType rsa-pss) for %s',
    (alg) => {
      const token = mintWith(alg, rsaPss.privateKey);
      expect(verifies(parse(alg, rsaPss.publicKey), token)).toBe(true);
      expect(
        verifies(parse(alg, rsaPss.publicKey.export({ format: 'pem', type: 'spki' })), token),
      ).toBe(true);
    },
  );

  it('takes a JWK whose alg, use and key_ops allow the algorithm', () => {
    const jwk = {
      ...p256.publicKey.export({ format: 'jwk' }),
      alg: 'ES256',
      use: 'sig',
      key_ops: ['verify'],
    };
    const token = mintWith('ES256', p256.privateKey);
    expect(verifies(parse('ES256', jwk), token)).toBe(true);
    expect(verifies(parse('ES256', JSON.stringify(jwk)), token)).toBe(true);
  });

  it("uses the JWK's kid when the description gives none, and accepts the same kid given twice", () => {
    const jwk = { ...p256.publicKey.export({ format: 'jwk' }), kid: 'jwk-kid' };
    expect(parse('ES256', jwk).kid).toBe('jwk-kid');
    expect(parse('ES256', JSON.stringify(jwk)).kid).toBe('jwk-kid');
    expect(parse('ES256', jwk, 'jwk-kid').kid).toBe('jwk-kid');
    expect(parse('ES256', p256.publicKey, 'given').kid).toBe('given');
    expect(parse('ES256', p256.publicKey.export({ format: 'jwk' }), 'given').kid).toBe('given');
  });

  it('takes a kid of 1 to 256 characters', () => {
    expect(parse('EdDSA', ed25519.publicKey, 'k').kid).toBe('k');
    expect(parse('EdDSA', ed25519.publicKey, 'k'.repeat(256)).kid).toBe('k'.repeat(256));
  });
});

describe('parseVerificationKey: HMAC secrets', () => {
  const MIN_BYTES: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };

  describe.each(Object.entries(MIN_BYTES) as [HmacAlgorithm, number][])('%s', (alg, minBytes) => {
    const bytes = randomBytes(minBytes);
    const token = mintWith(alg, createSecretKey(bytes));
    const forged = mintWith(alg, createSecretKey(randomBytes(minBytes)));

    it.each([
      ['base64 text', bytes.toString('base64')],
      ['base64url text', bytes.toString('base64url')],
      ['a secret KeyObject', createSecretKey(bytes)],
    ])(`takes a secret of ${minBytes} bytes as %s and verifies its signatures only`, (_, key) => {
      const parsed = parse(alg, key);
      expect(parsed).toMatchObject({ alg, kid: undefined });
      expect(parsed.key.export()).toEqual(bytes);
      expect(verifies(parsed, token)).toBe(true);
      expect(verifies(parsed, forged)).toBe(false);
    });

    it(`refuses a secret of ${minBytes - 1} bytes, as text or as a KeyObject`, () => {
      const short = randomBytes(minBytes - 1);
      for (const text of [short.toString('base64'), short.toString('base64url')]) {
        const problem = parseVerificationKey({ alg, key: text });
        expect(problem).toBe(
          `has a secret that decodes to ${minBytes - 1} bytes; an ${alg} key needs at least ${minBytes} (Approov's has 64)`,
        );
        expectNoKeyMaterial(problem, text);
      }
      const keyObject = createSecretKey(short);
      const problem = parseVerificationKey({ alg, key: keyObject });
      expect(problem).toBe(`is ${minBytes - 1} bytes; an ${alg} key needs at least ${minBytes}`);
      expectNoKeyMaterial(problem, keyObject);
    });
  });
});

const pem = (key: KeyObject) =>
  key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' }) as string;
const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' });
const secretText = randomBytes(64).toString('base64');

/** The end of the problem of an alg that is not one of the algorithms. */
const ONE_OF_THE_ALGORITHMS = `it must be one of ${JWS_ALGORITHMS.join(', ')}`;

/** [what the key is, alg, key, kid, the problem]: each refused, naming the problem, quoting nothing of the key. */
const REFUSALS: readonly [string, unknown, unknown, unknown, string][] = [
  [
    'a PKCS#8 private key PEM',
    'RS256',
    pem(rsa.privateKey),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a PKCS#1 private key PEM',
    'RS256',
    rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a SEC1 private key PEM',
    'ES256',
    p256.privateKey.export({ format: 'pem', type: 'sec1' }),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'an encrypted private key PEM',
    'ES256',
    p256.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'pass',
    }),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a private RSA JWK object',
    'RS256',
    jwkOf(rsa.privateKey),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a private EC JWK object',
    'ES256',
    jwkOf(p256.privateKey),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a private OKP JWK as JSON text',
    'EdDSA',
    JSON.stringify(jwkOf(ed25519.privateKey)),
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a public JWK with a private member',
    'RS256',
    { ...jwkOf(rsa.publicKey), p: jwkOf(rsa.privateKey).p },
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a private RSA KeyObject',
    'RS256',
    rsa.privateKey,
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a private EC KeyObject',
    'ES384',
    p384.privateKey,
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a private Ed448 KeyObject',
    'EdDSA',
    ed448.privateKey,
    undefined,
    'is a private key: give the public key',
  ],
  [
    'a base64 secret for RS256',
    'RS256',
    secretText,
    undefined,
    'is neither a PEM nor a JWK public key; RS256 needs a public key, not a secret',
  ],
  [
    'a base64url secret for EdDSA',
    'EdDSA',
    Buffer.from(secretText, 'base64').toString('base64url'),
    undefined,
    'is neither a PEM nor a JWK public key; EdDSA needs a public key, not a secret',
  ],
  [
    'a secret KeyObject for ES256',
    'ES256',
    createSecretKey(randomBytes(64)),
    undefined,
    'is a secret; ES256 needs a public key',
  ],
  [
    'an oct JWK object for RS256',
    'RS256',
    { kty: 'oct', k: Buffer.from(secretText, 'base64').toString('base64url') },
    undefined,
    'is a secret (kty "oct"); RS256 needs a public key',
  ],
  [
    'an oct JWK as JSON text for ES256',
    'ES256',
    JSON.stringify({ kty: 'oct', k: Buffer.from(secretText, 'base64').toString('base64url') }),
    undefined,
    'is a secret (kty "oct"); ES256 needs a public key',
  ],
  [
    'an RSA key of 1024 bits as PEM for RS256',
    'RS256',
    pem(rsa1024.publicKey),
    undefined,
    'is an RSA key of 1024 bits; at least 2048 are needed',
  ],
  [
    'an RSA key of 1024 bits as a JWK for PS256',
    'PS256',
    jwkOf(rsa1024.publicKey),
    undefined,
    'is an RSA key of 1024 bits; at least 2048 are needed',
  ],
  [
    'an RSA key of 1024 bits as a KeyObject for RS512',
    'RS512',
    rsa1024.publicKey,
    undefined,
    'is an RSA key of 1024 bits; at least 2048 are needed',
  ],
  [
    'a P-384 key for ES256',
    'ES256',
    pem(p384.publicKey),
    undefined,
    'is on curve secp384r1; ES256 needs prime256v1',
  ],
  [
    'a P-521 key for ES384',
    'ES384',
    jwkOf(p521.publicKey),
    undefined,
    'is on curve secp521r1; ES384 needs secp384r1',
  ],
  [
    'a P-256 key for ES512',
    'ES512',
    p256.publicKey,
    undefined,
    'is on curve prime256v1; ES512 needs secp521r1',
  ],
  [
    'a secp256k1 key for ES256',
    'ES256',
    generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
    undefined,
    'is on curve secp256k1; ES256 needs prime256v1',
  ],
  [
    'an EC key for RS256',
    'RS256',
    pem(p256.publicKey),
    undefined,
    'is an EC key; RS256 needs an RSA key',
  ],
  [
    'an EC JWK for PS256',
    'PS256',
    jwkOf(p256.publicKey),
    undefined,
    'is an EC key; PS256 needs an RSA key',
  ],
  [
    'an RSA-PSS key for RS256',
    'RS256',
    rsaPss.publicKey,
    undefined,
    'is an RSA-PSS key; RS256 needs an RSA key',
  ],
  [
    'an RSA key for ES256',
    'ES256',
    rsa.publicKey,
    undefined,
    'is an RSA key; ES256 needs an EC key',
  ],
  [
    'an Ed25519 key for ES256',
    'ES256',
    ed25519.publicKey,
    undefined,
    'is an Ed25519 key; ES256 needs an EC key',
  ],
  [
    'an RSA key for EdDSA',
    'EdDSA',
    pem(rsa.publicKey),
    undefined,
    'is an RSA key; EdDSA needs an Ed25519 or Ed448 key',
  ],
  [
    'an X25519 key for EdDSA',
    'EdDSA',
    jwkOf(generateKeyPairSync('x25519').publicKey),
    undefined,
    'is an X25519 key; EdDSA needs an Ed25519 or Ed448 key',
  ],
  [
    'a DSA key for RS256',
    'RS256',
    pem(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey),
    undefined,
    'is a DSA key; RS256 needs an RSA key',
  ],
  [
    'an Ed448 key for ES384',
    'ES384',
    jwkOf(ed448.publicKey),
    undefined,
    'is an Ed448 key; ES384 needs an EC key',
  ],
  [
    'a JWK for another alg',
    'RS256',
    { ...jwkOf(rsa.publicKey), alg: 'RS384' },
    undefined,
    'is a JWK with alg "RS384", not RS256',
  ],
  [
    'a JWK for HS256, as JSON text',
    'ES256',
    JSON.stringify({ ...jwkOf(p256.publicKey), alg: 'HS256' }),
    undefined,
    'is a JWK with alg "HS256", not ES256',
  ],
  [
    'a JWK for encryption',
    'ES256',
    { ...jwkOf(p256.publicKey), use: 'enc' },
    undefined,
    'is a JWK whose "use" is not "sig"',
  ],
  [
    'a JWK whose key_ops leave out verify',
    'EdDSA',
    { ...jwkOf(ed25519.publicKey), key_ops: ['encrypt', 'sign'] },
    undefined,
    'is a JWK whose "key_ops" do not include "verify"',
  ],
  [
    'a JWK whose key_ops is not a list',
    'EdDSA',
    { ...jwkOf(ed25519.publicKey), key_ops: 'verify' },
    undefined,
    'is a JWK whose "key_ops" do not include "verify"',
  ],
  [
    'a JWK whose kid differs from the given kid',
    'ES256',
    { ...jwkOf(p256.publicKey), kid: 'jwk-kid' },
    'given-kid',
    'has a kid that differs from the kid of its JWK',
  ],
  [
    'a JWK whose kid is a number',
    'ES256',
    { ...jwkOf(p256.publicKey), kid: 7 },
    undefined,
    'is a JWK whose kid is not text',
  ],
  [
    'a JWK whose kid is empty',
    'ES256',
    { ...jwkOf(p256.publicKey), kid: '' },
    undefined,
    'is a JWK whose kid is not text',
  ],
  [
    'a key with an empty kid',
    'ES256',
    p256.publicKey,
    '',
    'has a kid that is not text of 1 to 256 characters',
  ],
  [
    'a key with a kid of 257 characters',
    'ES256',
    p256.publicKey,
    'k'.repeat(257),
    'has a kid that is not text of 1 to 256 characters',
  ],
  [
    'a key with a numeric kid',
    'HS256',
    secretText,
    42,
    'has a kid that is not text of 1 to 256 characters',
  ],
  [
    'a key with a null kid',
    'HS256',
    secretText,
    null,
    'has a kid that is not text of 1 to 256 characters',
  ],
  [
    'an alg of another kind than signatures',
    'RSA-OAEP',
    pem(rsa.publicKey),
    undefined,
    `has an alg that is no algorithm name; ${ONE_OF_THE_ALGORITHMS}`,
  ],
  ['alg none', 'none', secretText, undefined, `has alg "none"; ${ONE_OF_THE_ALGORITHMS}`],
  ['a lower-case alg', 'hs256', secretText, undefined, `has alg "hs256"; ${ONE_OF_THE_ALGORITHMS}`],
  [
    'an upper-case alg',
    'EDDSA',
    pem(ed25519.publicKey),
    undefined,
    `has alg "EDDSA"; ${ONE_OF_THE_ALGORITHMS}`,
  ],
  [
    'no alg',
    undefined,
    secretText,
    undefined,
    `has an alg of type undefined; ${ONE_OF_THE_ALGORITHMS}`,
  ],
  [
    'a numeric alg',
    256,
    secretText,
    undefined,
    `has an alg of type number; ${ONE_OF_THE_ALGORITHMS}`,
  ],
  [
    'a JWK whose alg is a number',
    'ES256',
    { ...jwkOf(p256.publicKey), alg: 256 },
    undefined,
    'is a JWK with an alg of type number, not ES256',
  ],
  [
    'a JWK whose alg is in another case',
    'ES256',
    { ...jwkOf(p256.publicKey), alg: 'es256' },
    undefined,
    'is a JWK with alg "es256", not ES256',
  ],
  [
    'a public PEM for HS256',
    'HS256',
    pem(rsa.publicKey),
    undefined,
    'has a secret that is not base64 or base64url text',
  ],
  [
    'a public KeyObject for HS256',
    'HS256',
    p256.publicKey,
    undefined,
    'is a public key; HS256 needs a secret',
  ],
  [
    'a private KeyObject for HS512',
    'HS512',
    p256.privateKey,
    undefined,
    'is a private key; HS512 needs a secret',
  ],
  [
    'an oct JWK object for HS256',
    'HS256',
    { kty: 'oct', k: Buffer.from(secretText, 'base64').toString('base64url') },
    undefined,
    'needs the secret as base64 or base64url text for HS256',
  ],
  [
    'a placeholder for HS256',
    'HS256',
    'approov_base64_secret_here',
    undefined,
    'has a secret that is made of words: a placeholder, not the secret',
  ],
  [
    'an unreadable PEM',
    'RS256',
    '-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAA\n-----END PUBLIC KEY-----',
    undefined,
    'is not a readable PEM public key',
  ],
  ['broken JWK JSON', 'RS256', '{"kty":"RSA",', undefined, 'is neither PEM nor JWK JSON'],
  [
    'a JWK missing a member',
    'RS256',
    { kty: 'RSA', n: jwkOf(rsa.publicKey).n },
    undefined,
    'is not a readable public JWK',
  ],
  ['a list', 'RS256', [jwkOf(rsa.publicKey)], undefined, 'is not a JWK object'],
  [
    'no key',
    'ES256',
    undefined,
    undefined,
    'must be a public key for ES256: PEM text, a JWK or a KeyObject',
  ],
  [
    'a Buffer',
    'HS256',
    randomBytes(64),
    undefined,
    'needs the secret as base64 or base64url text for HS256',
  ],
];

describe('parseVerificationKey: refusals', () => {
  it.each(REFUSALS)(
    'refuses %s, saying why without quoting the key',
    (_, alg, key, kid, expected) => {
      const problem = parseVerificationKey({ alg, key, kid });
      expect(problem).toBe(expected);
      expectNoKeyMaterial(problem, key);
      if (key instanceof KeyObject && key.type === 'private')
        expectNoKeyMaterial(problem, jwkOf(key));
    },
  );

  it('refuses a description that is not an object', () => {
    for (const description of [null, undefined, 'HS256', 42]) {
      expect(parseVerificationKey(description as never)).toBe(
        'must be an object { kid?, alg, key }',
      );
    }
  });

  it('lists every algorithm when the alg is unknown', () => {
    expect(parseVerificationKey({ alg: 'HS1', key: secretText })).toBe(
      'has an alg that is no algorithm name; it must be one of ' +
        'HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA',
    );
  });
});

describe('parseVerificationKey: RSA-PSS keys restricted to parameters', () => {
  /** An RSA-PSS key pair restricted to `hash`, a salt of at least `saltBytes`, and MGF1 with `mgf1Hash`. */
  const restrictedPss = (hash: string, saltBytes: number, mgf1Hash = hash): KeyPair =>
    generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      hashAlgorithm: hash,
      mgf1HashAlgorithm: mgf1Hash,
      // A number, as Node takes it: @types/node declares it as a string.
      saltLength: saltBytes as unknown as string,
    });

  it.each([
    ['PS256', 'sha256', 32],
    ['PS384', 'sha384', 48],
    ['PS512', 'sha512', 64],
  ] as const)(
    "takes a key restricted to %s's hash and its salt length, or a shorter salt, and verifies its signatures only",
    (alg, hash, saltBytes) => {
      for (const pair of [restrictedPss(hash, saltBytes), restrictedPss(hash, 20)]) {
        const token = mintWith(alg, pair.privateKey);
        for (const given of [pair.publicKey, pem(pair.publicKey)]) {
          const key = parse(alg, given);
          expect(verifies(key, token)).toBe(true);
          expect(verifies(key, mintWith(alg, rsaPss.privateKey))).toBe(false);
        }
      }
    },
  );

  const restrictedToSha256 = restrictedPss('sha256', 32);
  const saltOf64 = restrictedPss('sha256', 64);

  it.each([
    [
      'to SHA-256, for PS512',
      'PS512',
      restrictedToSha256,
      "is an RSA-PSS key restricted to other parameters than PS512's (sha512, salt of 64 bytes)",
    ],
    [
      'to SHA-512, for PS256',
      'PS256',
      restrictedPss('sha512', 64),
      "is an RSA-PSS key restricted to other parameters than PS256's (sha256, salt of 32 bytes)",
    ],
    [
      'to MGF1 with SHA-512, for PS256',
      'PS256',
      restrictedPss('sha256', 32, 'sha512'),
      "is an RSA-PSS key restricted to other parameters than PS256's (sha256, salt of 32 bytes)",
    ],
    [
      'to a salt of 64 bytes, for PS256',
      'PS256',
      saltOf64,
      "is an RSA-PSS key restricted to other parameters than PS256's (sha256, salt of 32 bytes)",
    ],
    [
      'to a salt of 49 bytes, for PS384',
      'PS384',
      restrictedPss('sha384', 49),
      "is an RSA-PSS key restricted to other parameters than PS384's (sha384, salt of 48 bytes)",
    ],
  ] as const)(
    'refuses a key restricted %s, as a KeyObject or PEM, without quoting it',
    (_, alg, pair, expected) => {
      for (const given of [pair.publicKey, pem(pair.publicKey)]) {
        const problem = parseVerificationKey({ alg, key: given });
        expect(problem).toBe(expected);
        expectNoKeyMaterial(problem, given);
      }
    },
  );

  it('refuses only keys that could verify nothing: node:crypto refuses the alg with them', () => {
    const check = (pair: KeyPair, hash: string, saltLength: number) => () =>
      verify(
        hash,
        Buffer.from('input'),
        { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
        Buffer.alloc(256, 1),
      );
    expect(check(restrictedToSha256, 'sha512', 64)).toThrow('digest not allowed');
    expect(check(saltOf64, 'sha256', 32)).toThrow('pss saltlen too small');
  });
});

describe('parseVerificationKey: a public key given as the secret', () => {
  const spkiOf = (key: KeyObject) => key.export({ format: 'der', type: 'spki' });

  it.each([
    ['an RSA key in base64', 'HS256', spkiOf(rsa.publicKey).toString('base64')],
    ['an RSA key in base64url', 'HS512', spkiOf(rsa.publicKey).toString('base64url')],
    ['a P-256 key in base64', 'HS384', spkiOf(p256.publicKey).toString('base64')],
    [
      'a P-521 key in base64, in whitespace',
      'HS512',
      `\n  ${spkiOf(p521.publicKey).toString('base64')}\n`,
    ],
    [
      'an Ed25519 key in base64 without padding',
      'HS256',
      spkiOf(ed25519.publicKey).toString('base64').replace(/=+$/, ''),
    ],
  ] as const)('refuses %s as an %s secret, without quoting it', (_, alg, text) => {
    const problem = parseVerificationKey({ alg, key: text });
    expect(problem).toBe(`is a public key in DER; ${alg} needs the secret`);
    expectNoKeyMaterial(problem, text);
  });

  it('refuses an RSA public key in PKCS#1 DER as a secret, as text or as a secret KeyObject', () => {
    const der = rsa.publicKey.export({ format: 'der', type: 'pkcs1' });
    const text = der.toString('base64');
    const fromText = parseVerificationKey({ alg: 'HS256', key: text });
    expect(fromText).toBe('is a public key in DER; HS256 needs the secret');
    expectNoKeyMaterial(fromText, text);
    expect(parseVerificationKey({ alg: 'HS512', key: createSecretKey(der) })).toBe(
      'is a public key in DER; HS512 needs the secret',
    );
  });

  it('refuses a secret KeyObject made of a public key in SPKI DER', () => {
    expect(
      parseVerificationKey({ alg: 'HS384', key: createSecretKey(spkiOf(rsa.publicKey)) }),
    ).toBe('is a public key in DER; HS384 needs the secret');
  });
});

describe('parseVerificationKey: an alg that is no algorithm name', () => {
  it('is never quoted: a secret or a key put in its place stays out of the problem', () => {
    const misplaced = [
      secretText,
      Buffer.from(secretText, 'base64').toString('base64url'),
      pem(rsa.publicKey),
      JSON.stringify(jwkOf(p256.publicKey)),
      'HS256 ',
      '',
    ];
    for (const alg of misplaced) {
      expect(parseVerificationKey({ alg, key: 'HS256' })).toBe(
        `has an alg that is no algorithm name; ${ONE_OF_THE_ALGORITHMS}`,
      );
      expect(parseVerificationKey({ alg: 'ES256', key: { ...jwkOf(p256.publicKey), alg } })).toBe(
        'is a JWK with an alg that is no algorithm name, not ES256',
      );
    }
  });
});

describe('VerificationKey.verify', () => {
  it('refuses a DER-encoded ECDSA signature that node:crypto itself would accept', () => {
    for (const [alg, pair, hash] of [
      ['ES256', p256, 'sha256'],
      ['ES384', p384, 'sha384'],
      ['ES512', p521, 'sha512'],
    ] as const) {
      const token = mintWith(alg, pair.privateKey);
      const signingInput = Buffer.from(token.slice(0, token.lastIndexOf('.')));
      const der = sign(hash, signingInput, { key: pair.privateKey, dsaEncoding: 'der' });
      expect(verify(hash, signingInput, { key: pair.publicKey, dsaEncoding: 'der' }, der)).toBe(
        true,
      );
      const key = parse(alg, pair.publicKey);
      expect(verifies(key, token)).toBe(true);
      expect(verifies(key, withSignature(token, der))).toBe(false);
    }
  });

  /** The order n of each curve's group: r and s must be from 1 to n - 1 (SEC 1 section 4.1.4). */
  const CURVE_ORDERS = {
    ES256: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
    ES384:
      'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    ES512:
      '01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
  };

  it.each([
    ['ES256', p256, 32],
    ['ES384', p384, 48],
    ['ES512', p521, 66],
  ] as const)(
    'refuses malformed %s signatures: wrong length, r or s zero, r or s not below n',
    (alg, pair, size) => {
      const key = parse(alg, pair.publicKey);
      const token = mintWith(alg, pair.privateKey);
      const signature = signatureOf(token);
      expect(signature).toHaveLength(2 * size);
      const r = signature.subarray(0, size);
      const s = signature.subarray(size);
      const n = BigInt(`0x${CURVE_ORDERS[alg]}`);
      const coordinate = (value: bigint) =>
        Buffer.from(value.toString(16).padStart(2 * size, '0'), 'hex');
      const sValue = BigInt(`0x${s.toString('hex')}`);
      // (r, n - s) is the signature's valid twin: proof that n is the curve's order.
      expect(verifies(key, withSignature(token, Buffer.concat([r, coordinate(n - sValue)])))).toBe(
        true,
      );
      const zero = Buffer.alloc(size);
      for (const malformed of [
        signature.subarray(0, 2 * size - 1),
        Buffer.concat([signature, Buffer.from([0])]),
        Buffer.concat([Buffer.from([0]), signature]),
        signature.subarray(0, size),
        Buffer.concat([zero, s]),
        Buffer.concat([r, zero]),
        Buffer.alloc(2 * size),
        Buffer.concat([coordinate(n), s]),
        Buffer.concat([r, coordinate(n)]),
        Buffer.concat([r, coordinate(n + sValue)].map((part) => part.subarray(-size))),
        Buffer.alloc(2 * size, 0xff),
      ]) {
        expect(verifies(key, withSignature(token, malformed))).toBe(false);
      }
    },
  );

  it.each([
    ['RS256', rsa.publicKey, rsa.privateKey],
    ['PS512', rsa.publicKey, rsa.privateKey],
    ['EdDSA', ed25519.publicKey, ed25519.privateKey],
    ['EdDSA', ed448.publicKey, ed448.privateKey],
  ] as const)('refuses truncated and extended %s signatures', (alg, publicKey, privateKey) => {
    const key = parse(alg, publicKey);
    const token = mintWith(alg, privateKey);
    const signature = signatureOf(token);
    expect(verifies(key, token)).toBe(true);
    for (const changed of [
      signature.subarray(0, -1),
      signature.subarray(1),
      Buffer.concat([signature, Buffer.from([0])]),
      Buffer.concat([Buffer.from([0]), signature]),
      Buffer.concat([signature, signature]),
      Buffer.alloc(0),
    ]) {
      expect(verifies(key, withSignature(token, changed))).toBe(false);
    }
  });

  /** Algorithms whose signature leaves unused bits in the last base64url character. */
  const SPARE_BITS_CASES: readonly [JwsAlgorithm, KeyObject | string, KeyObject | string][] = [
    ['HS256', secretText, secretText],
    ['HS512', secretText, secretText],
    ['RS256', rsa.publicKey, rsa.privateKey],
    ['PS256', rsa.publicKey, rsa.privateKey],
    ['ES256', p256.publicKey, p256.privateKey],
    ['EdDSA', ed25519.publicKey, ed25519.privateKey],
  ];

  it.each(SPARE_BITS_CASES)(
    'refuses a non-canonical %s signature: the same bytes with unused bits set in the last character',
    (alg, verifyingKey, signingKey) => {
      const key = parse(alg, verifyingKey);
      const token = mintWith(alg, signingKey);
      const signature = token.slice(token.lastIndexOf('.') + 1);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(signature.at(-1)!);
      expect(last & 1).toBe(0);
      const tweaked = `${signature.slice(0, -1)}${alphabet[last | 1]}`;
      expect(Buffer.from(tweaked, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      expect(verifies(key, token)).toBe(true);
      expect(verifies(key, withSignature(token, tweaked))).toBe(false);
    },
  );

  it('refuses a signature by another key of the same kind, and a changed signing input', () => {
    for (const [, alg, pair, attacker] of ASYMMETRIC_CASES) {
      const key = parse(alg, pair.publicKey);
      const token = mintWith(alg, pair.privateKey);
      const forged = mintWith(alg, attacker.privateKey);
      expect(verifies(key, forged)).toBe(false);
      const otherInput = mintApproovToken({
        key: { alg, key: pair.privateKey },
        now: NOW,
        claims: { did: 'other' },
      });
      expect(verifies(key, withSignature(otherInput, signatureOf(token)))).toBe(false);
    }
    const hmac = parse('HS256', secretText);
    expect(verifies(hmac, mintWith('HS256', randomBytes(32).toString('base64')))).toBe(false);
  });

  it('never throws, whatever the segments', () => {
    const keys = [
      parse('HS256', secretText),
      parse('RS256', rsa.publicKey),
      parse('PS256', rsa.publicKey),
      parse('ES256', p256.publicKey),
      parse('EdDSA', ed448.publicKey),
    ];
    for (const key of keys) {
      for (const signature of [
        '',
        '!',
        '====',
        'A'.repeat(342),
        '\u0000'.repeat(86),
        'é'.repeat(43),
      ]) {
        expect(key.verify('a.b', signature)).toBe(false);
        expect(key.verify('', signature)).toBe(false);
      }
    }
  });

  it('verifies HMAC signatures as text: the right length, compared exactly', () => {
    const key = parse('HS256', secretText);
    const token = mintWith('HS256', secretText);
    const signature = token.slice(token.lastIndexOf('.') + 1);
    expect(signature).toHaveLength(43);
    expect(verifies(key, token)).toBe(true);
    for (const changed of [
      `${signature}=`,
      signature.slice(0, -1),
      `${signature}A`,
      Buffer.from(signature, 'base64url').toString('base64'),
    ]) {
      expect(verifies(key, withSignature(token, changed))).toBe(false);
    }
  });
});
