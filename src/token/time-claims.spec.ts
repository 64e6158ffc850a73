import { describe, expect, it } from '@jest/globals';
import { checkTimeClaims } from './time-claims.js';

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
