import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { resolveApproovConfig } from './approov.options.js';
import { mintApproovToken, type MintApproovTokenOptions } from './approov.testing.js';
import { ApproovTokenVerifier, checkTimeClaims } from './approov.verifier.js';

const NOW = 1_800_000_000;

describe('checkTimeClaims', () => {
  it('passes an exp in the future', () => {
    expect(checkTimeClaims({ exp: NOW + 1, did: 'd' }, NOW, 0)).toBeUndefined();
  });

  it('wants an own, finite, numeric exp', () => {
    expect(checkTimeClaims({}, NOW, 0)).toBe('missing_exp');
    expect(
      checkTimeClaims(Object.create({ exp: NOW + 1 }) as Record<string, unknown>, NOW, 0),
    ).toBe('missing_exp');
    for (const exp of ['', String(NOW + 1), null, Infinity, -Infinity, NaN, [NOW + 1]]) {
      expect(checkTimeClaims({ exp }, NOW, 0)).toBe('invalid_exp');
    }
  });

  it('refuses exp at or before now, and accepts a fraction after it', () => {
    expect(checkTimeClaims({ exp: NOW }, NOW, 0)).toBe('expired');
    expect(checkTimeClaims({ exp: NOW - 0.5 }, NOW, 0)).toBe('expired');
    expect(checkTimeClaims({ exp: 0 }, NOW, 0)).toBe('expired');
    expect(checkTimeClaims({ exp: -1 }, NOW, 0)).toBe('expired');
    expect(checkTimeClaims({ exp: NOW + 0.001 }, NOW, 0)).toBeUndefined();
    expect(checkTimeClaims({ exp: NOW + 0.25 }, NOW + 0.3, 0)).toBe('expired');
  });

  it('honours nbf when present', () => {
    expect(checkTimeClaims({ exp: NOW + 60, nbf: NOW }, NOW, 0)).toBeUndefined();
    expect(checkTimeClaims({ exp: NOW + 60, nbf: NOW + 0.5 }, NOW, 0)).toBe('not_yet_valid');
    for (const nbf of ['0', null, Infinity, {}]) {
      expect(checkTimeClaims({ exp: NOW + 60, nbf }, NOW, 0)).toBe('invalid_nbf');
    }
  });

  it('applies the tolerance to both, on the exact clock', () => {
    expect(checkTimeClaims({ exp: NOW - 4.9 }, NOW, 5)).toBeUndefined();
    expect(checkTimeClaims({ exp: NOW - 5 }, NOW, 5)).toBe('expired');
    expect(checkTimeClaims({ exp: NOW + 60, nbf: NOW + 5 }, NOW, 5)).toBeUndefined();
    expect(checkTimeClaims({ exp: NOW + 60, nbf: NOW + 5.1 }, NOW, 5)).toBe('not_yet_valid');
  });
});

describe('ApproovTokenVerifier', () => {
  const secret = Buffer.alloc(64, 3).toString('base64');
  const verifier = new ApproovTokenVerifier(
    resolveApproovConfig({ secret, clockToleranceSeconds: 2 }),
  );
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

  it('checks the time claims with the configured tolerance', () => {
    expect(verifier.checkTime({ exp: NOW - 1 }, NOW)).toBeUndefined();
    expect(verifier.checkTime({ exp: NOW - 2 }, NOW)).toBe('expired');
  });

  it('wants a JSON object payload', () => {
    for (const payload of ['null', '"text"', '42', '[1]', 'true', 'not json']) {
      expect(verifier.verifySignature(signRaw(payload))).toBe('malformed_token');
    }
  });

  it('names the failures of the JWS itself', () => {
    const otherSecret = Buffer.alloc(64, 4).toString('base64');
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
