import { describe, expect, it, jest } from '@jest/globals';
import { createHmac, createSecretKey } from 'node:crypto';
import {
  generateApproovSecret,
  mintApproovToken,
  type MintApproovTokenOptions,
} from '../testing/index.js';
import {
  ApproovTokenVerifier,
  type ClaimsSink,
  type TokenVerifierSettings,
} from './token-verifier.js';
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
  const secret = generateApproovSecret();
  const setup = (cacheSize?: number) => {
    const verifier = new ApproovTokenVerifier(settingsOf(secret, { cacheSize }));
    return { verifier, verifications: jest.spyOn(verifier, 'verifySignature') };
  };
  const mint = (options: Partial<MintApproovTokenOptions> = {}) =>
    mintApproovToken({ secret, now: NOW * 1000, ttlSeconds: 60, ...options });

  it('serves a token seen before without verifying it again, with the same frozen claims', () => {
    const { verifier, verifications } = setup();
    const token = mint();
    const first: ClaimsSink = {};
    const second: ClaimsSink = {};
    expect(verifier.check(token, first, NOW)).toBeUndefined();
    expect(verifier.check(token, second, NOW + 1)).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(1);
    expect(second.claims).toBe(first.claims);
    expect(Object.isFrozen(second.claims)).toBe(true);
  });

  it('refuses an expired token on a cache hit, and forgets it', () => {
    const { verifier, verifications } = setup();
    const token = mint();
    expect(verifier.check(token, {}, NOW)).toBeUndefined();
    expect(verifier.check(token, {}, NOW + 60)).toBe('expired');
    expect(verifications).toHaveBeenCalledTimes(1);
    expect(verifier.check(token, {}, NOW + 61)).toBe('expired');
    expect(verifications).toHaveBeenCalledTimes(2);
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
    for (const token of tokens) verifier.check(token, {}, NOW);
    verifier.check(tokens[2], {}, NOW);
    verifier.check(tokens[1], {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(3);
    verifier.check(tokens[0], {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(4);
  });

  it('verifies every time with cacheSize 0', () => {
    const { verifier, verifications } = setup(0);
    const token = mint();
    verifier.check(token, {}, NOW);
    verifier.check(token, {}, NOW);
    expect(verifications).toHaveBeenCalledTimes(2);
  });
});
