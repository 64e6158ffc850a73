import { describe, expect, it, jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { InstallKeys } from './install-keys.js';

const spki = (namedCurve: string, encoding: 'base64' | 'base64url' = 'base64') =>
  generateKeyPairSync('ec', { namedCurve })
    .publicKey.export({ format: 'der', type: 'spki' })
    .toString(encoding);

describe('InstallKeys', () => {
  it('parses base64 and base64url DER SPKI keys of P-256 only', () => {
    const keys = new InstallKeys(10);
    expect(keys.keyOf(spki('P-256'))?.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(keys.keyOf(spki('P-256', 'base64url'))).toBeDefined();
    for (const ipk of [spki('P-384'), spki('secp256k1'), '', 'AAAA', 'not base64']) {
      expect(keys.keyOf(ipk)).toBeUndefined();
    }
  });

  it('parses each key once, and keeps at most its size', () => {
    const keys = new InstallKeys(2);
    const cache = (keys as unknown as { keys: Map<string, unknown> }).keys;
    const parsed = jest.spyOn(cache, 'set');
    const [a, b, c] = [spki('P-256'), spki('P-256'), spki('P-256')];
    const first = keys.keyOf(a);
    expect(keys.keyOf(a)).toBe(first);
    expect(parsed).toHaveBeenCalledTimes(1);
    keys.keyOf(b);
    keys.keyOf(c);
    expect(cache.size).toBe(2);
    // The oldest went first: a is parsed anew.
    expect(keys.keyOf(a)).not.toBe(first);
    expect(parsed).toHaveBeenCalledTimes(4);
  });
});
