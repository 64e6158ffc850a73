import { describe, expect, it } from '@jest/globals';
import { createSecretKey } from 'node:crypto';
import { mintApproovToken, type MintApproovTokenOptions } from './approov.testing.js';
import { ApproovTokenVerifier, checkClaims } from './approov.verifier.js';

const NOW = 1_800_000_000;

describe('checkClaims', () => {
  it('returns the claims, frozen', () => {
    const claims = checkClaims({ exp: NOW + 1, did: 'd' }, NOW, 0);
    expect(claims).toEqual({ exp: NOW + 1, did: 'd' });
    expect(Object.isFrozen(claims)).toBe(true);
  });

  it('wants a JSON object', () => {
    for (const payload of [null, 'text', 42, [NOW + 1], true]) {
      expect(checkClaims(payload, NOW, 0)).toBe('malformed_token');
    }
  });

  it('wants an own, finite, numeric exp', () => {
    expect(checkClaims({}, NOW, 0)).toBe('missing_exp');
    expect(checkClaims(Object.create({ exp: NOW + 1 }), NOW, 0)).toBe('missing_exp');
    for (const exp of ['', String(NOW + 1), null, Infinity, -Infinity, NaN, [NOW + 1]]) {
      expect(checkClaims({ exp }, NOW, 0)).toBe('invalid_exp');
    }
  });

  it('refuses exp at or before now, and accepts a fraction after it', () => {
    expect(checkClaims({ exp: NOW }, NOW, 0)).toBe('expired');
    expect(checkClaims({ exp: NOW - 0.5 }, NOW, 0)).toBe('expired');
    expect(checkClaims({ exp: 0 }, NOW, 0)).toBe('expired');
    expect(checkClaims({ exp: -1 }, NOW, 0)).toBe('expired');
    expect(checkClaims({ exp: NOW + 0.001 }, NOW, 0)).toEqual({ exp: NOW + 0.001 });
    expect(checkClaims({ exp: NOW + 0.25 }, NOW + 0.3, 0)).toBe('expired');
  });

  it('honours nbf when present', () => {
    expect(checkClaims({ exp: NOW + 60, nbf: NOW }, NOW, 0)).toEqual({ exp: NOW + 60, nbf: NOW });
    expect(checkClaims({ exp: NOW + 60, nbf: NOW + 0.5 }, NOW, 0)).toBe('not_yet_valid');
    for (const nbf of ['0', null, Infinity, {}]) {
      expect(checkClaims({ exp: NOW + 60, nbf }, NOW, 0)).toBe('invalid_nbf');
    }
  });

  it('applies the tolerance to both, on the exact clock', () => {
    expect(checkClaims({ exp: NOW - 4.9 }, NOW, 5)).toEqual({ exp: NOW - 4.9 });
    expect(checkClaims({ exp: NOW - 5 }, NOW, 5)).toBe('expired');
    expect(checkClaims({ exp: NOW + 60, nbf: NOW + 5 }, NOW, 5)).toEqual({
      exp: NOW + 60,
      nbf: NOW + 5,
    });
    expect(checkClaims({ exp: NOW + 60, nbf: NOW + 5.1 }, NOW, 5)).toBe('not_yet_valid');
  });
});

describe('ApproovTokenVerifier', () => {
  const secret = Buffer.alloc(64, 3).toString('base64');
  const verifier = new ApproovTokenVerifier({
    key: createSecretKey(Buffer.from(secret, 'base64')),
    tokenHeader: 'approov-token',
    tokenBinding: [],
    allowMissingPay: false,
    clockToleranceSeconds: 0,
  });
  const mint = (options: Partial<MintApproovTokenOptions> = {}) =>
    mintApproovToken({ secret, now: NOW * 1000, ...options });

  it('verifies the signature, then the claims on the clock it is given', () => {
    const token = mint({ ttlSeconds: 60 });
    expect(verifier.verify(token, NOW)).toEqual({ exp: NOW + 60 });
    expect(verifier.verify(token, NOW + 60)).toBe('expired');
  });

  it('names the failures of the JWS itself', () => {
    expect(verifier.verify(mint({ secret: Buffer.alloc(64, 4).toString('base64') }), NOW)).toBe(
      'bad_signature',
    );
    expect(verifier.verify(mint({ header: { alg: 'HS512' } }), NOW)).toBe('unsupported_algorithm');
    expect(
      verifier.verify(mint({ header: { alg: 'HS256', crit: ['b64'], b64: false } }), NOW),
    ).toBe('critical_header');
    for (const garbage of ['', 'a.b', 'a.b.c', '...', 'eyJ.eyJ.eyJ', `${mint()}.`]) {
      expect(verifier.verify(garbage, NOW)).toBe('malformed_token');
    }
    expect(verifier.verify(`${mint()}x`, NOW)).toBe('bad_signature');
  });
});
