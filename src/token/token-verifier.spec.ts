import { describe, expect, it, jest } from '@jest/globals';
import {
  createHash,
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import {
  generateApproovKeyPair,
  generateApproovSecret,
  mintApproovToken,
  type MintApproovTokenOptions,
} from '../testing/index.js';
import { keyOf, setOf } from '../../test/support/keys.js';
import {
  ApproovTokenVerifier,
  type ClaimsSink,
  type TokenVerifierSettings,
} from './token-verifier.js';
import { JWS_ALGORITHMS, type JwsAlgorithm } from './algorithms.js';
import { TokenKeySet } from './key-set.js';
import { parseVerificationKey, type VerificationKey } from './verification-key.js';

const NOW = 1_800_000_000;

/** The verifier's settings for `secret`, as the module resolves them. */
const settingsOf = (
  secret: string,
  { clockToleranceSeconds = 0, cacheSize = 10_000 }: Partial<TokenVerifierSettings> = {},
): TokenVerifierSettings => ({
  keys: TokenKeySet.of([
    parseVerificationKey({ alg: 'HS256', key: createSecretKey(Buffer.from(secret, 'base64')) }),
  ] as VerificationKey[]) as TokenKeySet,
  clockToleranceSeconds,
  cacheSize,
});

describe('ApproovTokenVerifier', () => {
  const secret = generateApproovSecret();
  const verifier = new ApproovTokenVerifier(settingsOf(secret, { clockToleranceSeconds: 2 }));
  const mint = (options: Partial<MintApproovTokenOptions> = {}) =>
    mintApproovToken({ secret, now: NOW * 1000, ...options });
  const signRaw = (payload: string) => {
    const input = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
    const signature = createHmac('sha256', Buffer.from(secret, 'base64')).update(input);
    return `${input}.${signature.digest('base64url')}`;
  };

  it('returns the payload of a sound token, frozen, whatever its time claims', () => {
    const claims = verifier.verifySignature(mint({ ttlSeconds: -60, claims: { did: 'd' } }));
    expect(claims).toEqual({ exp: NOW - 60, did: 'd' });
    expect(Object.isFrozen(claims)).toBe(true);
  });

  it('checks the time claims with the configured tolerance, and hands over the claims', () => {
    const sink: ClaimsSink = {};
    expect(verifier.check(mint({ ttlSeconds: -1 }), sink, NOW)).toBeUndefined();
    expect(sink.claims).toEqual({ exp: NOW - 1 });
    const expired: ClaimsSink = {};
    expect(verifier.check(mint({ ttlSeconds: -2, claims: { did: 'd' } }), expired, NOW)).toBe(
      'expired',
    );
    expect(expired.claims).toEqual({ exp: NOW - 2, did: 'd' });
    const forged: ClaimsSink = {};
    expect(verifier.check(mint({ secret: generateApproovSecret() }), forged, NOW)).toBe(
      'bad_signature',
    );
    expect(forged.claims).toBeUndefined();
  });

  it('wants a JSON object payload', () => {
    for (const payload of ['null', '"text"', '42', '[1]', 'true', 'not json']) {
      expect(verifier.verifySignature(signRaw(payload))).toBe('malformed_token');
    }
  });

  it('names the failures of the JWS itself', () => {
    const otherSecret = generateApproovSecret();
    expect(verifier.verifySignature(mint({ secret: otherSecret }))).toBe('bad_signature');
    expect(verifier.verifySignature(mint({ header: { alg: 'HS512' } }))).toBe(
      'unsupported_algorithm',
    );
    const crit = mint({ header: { alg: 'HS256', crit: ['b64'], b64: false } });
    expect(verifier.verifySignature(crit)).toBe('critical_header');
    for (const garbage of ['', 'a.b', 'a.b.c', '...', 'eyJ.eyJ.eyJ', `${mint()}.`]) {
      expect(verifier.verifySignature(garbage)).toBe('malformed_token');
    }
    expect(verifier.verifySignature(`${mint()}x`)).toBe('bad_signature');
  });
});

describe('the verified-token cache', () => {
  // A fixed secret: the tokens, and so the fingerprints that admit them, are the same each run.
  const secret = createHash('sha512').update('the verified-token cache').digest('base64');
  const setup = (cacheSize?: number) => {
    const verifier = new ApproovTokenVerifier(settingsOf(secret, { cacheSize }));
    return { verifier, verifications: jest.spyOn(verifier, 'verifySignature') };
  };
  const mint = (options: Partial<MintApproovTokenOptions> = {}) =>
    mintApproovToken({ secret, now: NOW * 1000, ttlSeconds: 60, ...options });

  it('remembers a token the second time it is verified, then serves it with the same frozen claims', () => {
    const { verifier, verifications } = setup();
    const token = mint();
    const [first, second, third, fourth]: ClaimsSink[] = [{}, {}, {}, {}];
    expect(verifier.check(token, first, NOW)).toBeUndefined();
    expect(verifier.check(token, second, NOW + 1)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(2);
    expect(second.claims).not.toBe(first.claims);
    expect(verifier.check(token, third, NOW + 2)).toBeUndefined();
    expect(verifier.check(token, fourth, NOW + 3)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(2);
    expect(third.claims).toBe(second.claims);
    expect(fourth.claims).toBe(second.claims);
    expect(Object.isFrozen(fourth.claims)).toBe(true);
  });

  it('keeps no token seen once: a stream of new tokens never enters the cache', () => {
    const { verifier, verifications } = setup(10);
    const tokens = Array.from({ length: 50 }, (_, index) => mint({ claims: { did: `d${index}` } }));
    for (const token of tokens) expect(verifier.check(token, {}, NOW)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(50);
    // Each is now seen a second time: verified again, then remembered (the last 10 stay).
    for (const token of tokens) verifier.check(token, {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(100);
    for (const token of tokens.slice(40)) verifier.check(token, {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(100);
  });

  it('refuses an expired token on a cache hit, and forgets it', () => {
    const { verifier, verifications } = setup();
    const token = mint();
    expect(verifier.check(token, {}, NOW)).toBeUndefined();
    expect(verifier.check(token, {}, NOW)).toBeUndefined();
    expect(verifier.check(token, {}, NOW + 60)).toBe('expired');
    expect(verifications).toHaveBeenCalledTimes(2);
    expect(verifier.check(token, {}, NOW + 61)).toBe('expired');
    expect(verifications).toHaveBeenCalledTimes(3);
  });

  it('misses on a one-character change anywhere in the token', () => {
    const { verifier } = setup();
    const token = mint();
    expect(verifier.check(token, {}, NOW)).toBeUndefined();
    for (const index of [0, token.indexOf('.') + 3, token.length - 1]) {
      const changed = token[index] === 'A' ? 'B' : 'A';
      const mutated = `${token.slice(0, index)}${changed}${token.slice(index + 1)}`;
      expect(verifier.check(mutated, {}, NOW)).toMatch(/bad_signature|malformed_token/);
    }
  });

  it('never remembers a failure', () => {
    const { verifier, verifications } = setup();
    const forged = mint({ secret: generateApproovSecret() });
    const expired = mint({ ttlSeconds: -1 });
    for (let i = 0; i < 2; i++) {
      expect(verifier.check(forged, {}, NOW)).toBe('bad_signature');
      expect(verifier.check(expired, {}, NOW)).toBe('expired');
    }
    expect(verifications).toHaveBeenCalledTimes(4);
  });

  it('keeps at most cacheSize tokens, forgetting the oldest', () => {
    const { verifier, verifications } = setup(2);
    const tokens = ['a', 'b', 'c'].map((did) => mint({ claims: { did } }));
    for (const token of [...tokens, ...tokens]) verifier.check(token, {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(6);
    verifier.check(tokens[2], {}, NOW);
    verifier.check(tokens[1], {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(6);
    verifier.check(tokens[0], {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(7);
  });

  it('verifies every time with cacheSize 0', () => {
    const { verifier, verifications } = setup(0);
    const token = mint();
    verifier.check(token, {}, NOW);
    verifier.check(token, {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(2);
  });
});

const verifierOf = (keys: TokenKeySet) => {
  const verifier = new ApproovTokenVerifier({ keys, clockToleranceSeconds: 0, cacheSize: 100 });
  return { verifier, verifications: jest.spyOn(verifier, 'verifySignature') };
};

describe('useKeys', () => {
  const oldSecret = generateApproovSecret();
  const newSecret = generateApproovSecret();
  const ec = generateApproovKeyPair('ES256');
  const mint = (alg: JwsAlgorithm, key: KeyObject | string, kid?: string) =>
    mintApproovToken({ key: { alg, key, kid }, now: NOW * 1000, ttlSeconds: 60 });

  it('forgets the verified tokens when a key is removed: a token it verified is refused then', () => {
    const { verifier, verifications } = verifierOf(
      setOf(keyOf('HS256', oldSecret), keyOf('ES256', ec.publicKey, 'ec-1')),
    );
    const accountToken = mint('HS256', oldSecret);
    const ecToken = mint('ES256', ec.privateKey, 'ec-1');
    // Twice each: the second verification puts a token in the cache; the third is a hit.
    for (const token of [ecToken, accountToken, ecToken, accountToken, ecToken]) {
      expect(verifier.check(token, {}, NOW)).toBeUndefined();
    }
    expect(verifications).toHaveBeenCalledTimes(4);

    const withoutEc = setOf(keyOf('HS256', oldSecret));
    verifier.useKeys(withoutEc);
    expect(verifier.keySet).toBe(withoutEc);
    expect(verifier.check(ecToken, {}, NOW)).toBe('unsupported_algorithm');
    expect(verifier.check(accountToken, {}, NOW)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(6);
  });

  it('walks through a secret rotation: both secrets during the overlap, the old one refused after', () => {
    const { verifier, verifications } = verifierOf(setOf(keyOf('HS256', oldSecret)));
    const oldToken = mint('HS256', oldSecret);
    const newToken = mint('HS256', newSecret);
    expect(verifier.check(oldToken, {}, NOW)).toBeUndefined();
    expect(verifier.check(newToken, {}, NOW)).toBe('bad_signature');

    verifier.useKeys(setOf(keyOf('HS256', oldSecret), keyOf('HS256', newSecret)));
    // The old token's second verification puts it in the cache.
    expect(verifier.check(oldToken, {}, NOW)).toBeUndefined();
    expect(verifier.check(oldToken, {}, NOW)).toBeUndefined();
    expect(verifier.check(newToken, {}, NOW)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(4);

    verifier.useKeys(setOf(keyOf('HS256', newSecret)));
    expect(verifier.check(oldToken, {}, NOW)).toBe('bad_signature');
    expect(verifier.check(newToken, {}, NOW)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(6);
  });

  it('keeps the verified tokens when keys are only added, or the same keys given again', () => {
    const { verifier, verifications } = verifierOf(
      setOf(keyOf('HS256', oldSecret), keyOf('ES256', ec.publicKey, 'ec-1')),
    );
    const tokens = [mint('HS256', oldSecret), mint('ES256', ec.privateKey, 'ec-1')];
    for (const token of [...tokens, ...tokens]) {
      expect(verifier.check(token, {}, NOW)).toBeUndefined();
    }

    const ed = generateApproovKeyPair('EdDSA');
    verifier.useKeys(
      setOf(
        keyOf('HS256', oldSecret),
        keyOf('ES256', ec.publicKey, 'ec-1'),
        keyOf('HS256', newSecret),
        keyOf('EdDSA', ed.publicKey, 'ed-1'),
      ),
    );
    // The same keys parsed again, in another order, one of them from another format.
    verifier.useKeys(
      setOf(
        keyOf('EdDSA', ed.publicKey, 'ed-1'),
        keyOf('HS256', newSecret),
        keyOf('ES256', ec.publicKey.export({ format: 'jwk' }), 'ec-1'),
        keyOf('HS256', oldSecret),
      ),
    );
    for (const token of tokens) expect(verifier.check(token, {}, NOW)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(4);
  });

  it('forgets the verified tokens when a key keeps its material but changes its kid', () => {
    const { verifier, verifications } = verifierOf(setOf(keyOf('ES256', ec.publicKey, 'ec-1')));
    const token = mint('ES256', ec.privateKey, 'ec-1');
    expect(verifier.check(token, {}, NOW)).toBeUndefined();
    expect(verifier.check(token, {}, NOW)).toBeUndefined();
    verifier.useKeys(setOf(keyOf('ES256', ec.publicKey, 'ec-2')));
    expect(verifier.check(token, {}, NOW)).toBe('unknown_key');
    expect(verifications).toHaveBeenCalledTimes(3);
  });
});

describe('every algorithm through check()', () => {
  type Case = [
    name: string,
    alg: JwsAlgorithm,
    verifyingKey: KeyObject | string,
    signingKey: KeyObject | string,
    attackerKey: KeyObject | string,
  ];
  interface KeyPair {
    publicKey: KeyObject;
    privateKey: KeyObject;
  }
  const hmacCase = (alg: JwsAlgorithm): Case => {
    const secret = generateApproovSecret();
    return [alg, alg, secret, secret, generateApproovSecret()];
  };
  const pairCase = (name: string, alg: JwsAlgorithm, pair: KeyPair, attacker: KeyPair): Case => [
    name,
    alg,
    pair.publicKey,
    pair.privateKey,
    attacker.privateKey,
  ];
  const rsa = generateApproovKeyPair('RS256');
  const rsaAttacker = generateApproovKeyPair('RS256');
  const CASES: Case[] = [
    hmacCase('HS256'),
    hmacCase('HS384'),
    hmacCase('HS512'),
    ...(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const).map((alg) =>
      pairCase(alg, alg, rsa, rsaAttacker),
    ),
    ...(['ES256', 'ES384', 'ES512'] as const).map((alg) =>
      pairCase(alg, alg, generateApproovKeyPair(alg), generateApproovKeyPair(alg)),
    ),
    pairCase(
      'EdDSA with Ed25519',
      'EdDSA',
      generateApproovKeyPair('EdDSA'),
      generateApproovKeyPair('EdDSA'),
    ),
    pairCase(
      'EdDSA with Ed448',
      'EdDSA',
      generateKeyPairSync('ed448'),
      generateKeyPairSync('ed448'),
    ),
  ];

  it('covers every algorithm', () => {
    expect(new Set(CASES.map(([, alg]) => alg))).toEqual(new Set(JWS_ALGORITHMS));
  });

  it.each(CASES)(
    'verifies %s tokens twice, then serves them from the cache; refuses forged and expired ones',
    (_, alg, verifyingKey, signingKey, attackerKey) => {
      const { verifier, verifications } = verifierOf(setOf(keyOf(alg, verifyingKey, 'k')));
      const mint = (key: KeyObject | string, ttlSeconds = 60) =>
        mintApproovToken({
          key: { alg, key, kid: 'k' },
          now: NOW * 1000,
          ttlSeconds,
          claims: { did: 'device' },
        });
      const token = mint(signingKey);
      const first: ClaimsSink = {};
      const second: ClaimsSink = {};
      expect(verifier.check(token, first, NOW)).toBeUndefined();
      expect(first.claims).toEqual({ exp: NOW + 60, did: 'device' });
      // Verified again the second time, which puts it in the cache.
      expect(verifier.check(token, {}, NOW)).toBeUndefined();
      expect(verifier.check(token, second, NOW + 59)).toBeUndefined();
      expect(second.claims).toEqual(first.claims);
      expect(Object.isFrozen(second.claims)).toBe(true);
      expect(verifications).toHaveBeenCalledTimes(2);
      expect(verifier.check(token, {}, NOW + 60)).toBe('expired');

      const forged: ClaimsSink = {};
      expect(verifier.check(mint(attackerKey), forged, NOW)).toBe('bad_signature');
      expect(forged.claims).toBeUndefined();
      expect(verifier.check(mint(signingKey, -1), {}, NOW)).toBe('expired');
    },
  );
});
