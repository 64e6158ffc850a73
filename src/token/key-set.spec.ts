import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { keyOf, setOf } from '../../test/support/keys.js';
import { generateApproovKeyPair } from '../testing/index.js';
import { type KeySelection, MAX_KEYS_WITHOUT_KID, TokenKeySet } from './key-set.js';
import type { VerificationKey } from './verification-key.js';

const emptySet = TokenKeySet.of([]) as TokenKeySet;

const secret = () => randomBytes(64).toString('base64');
const es256 = generateApproovKeyPair('ES256');
const rs256 = generateApproovKeyPair('RS256');

describe('TokenKeySet.of', () => {
  it('keeps a frozen copy of the keys, in their order', () => {
    const keys = [keyOf('HS256', secret()), keyOf('ES256', es256.publicKey, 'e')];
    const set = setOf(...keys);
    keys.pop();
    expect(set.keys).toHaveLength(2);
    expect(Object.isFrozen(set.keys)).toBe(true);
    expect(set.keys[1].kid).toBe('e');
  });

  it('refuses two keys with the same alg and kid, naming the second', () => {
    const keys = [
      keyOf('HS256', secret(), 'a'),
      keyOf('ES256', es256.publicKey, 'a'),
      keyOf('HS256', secret(), 'b'),
      keyOf('HS256', secret(), 'a'),
    ];
    expect(TokenKeySet.of(keys)).toEqual({
      index: 3,
      problem: 'has the same alg and kid as key 0',
    });
  });

  it('refuses the same key given twice with one kid, and takes it once with two kids', () => {
    const key = keyOf('ES256', es256.publicKey, 'a');
    expect(TokenKeySet.of([key, key])).toEqual({
      index: 1,
      problem: 'has the same alg and kid as key 0',
    });
    expect(TokenKeySet.of([key, keyOf('ES256', es256.publicKey, 'b')]) instanceof TokenKeySet).toBe(
      true,
    );
  });

  it(`takes ${MAX_KEYS_WITHOUT_KID} keys of one alg without a kid, and refuses one more`, () => {
    const withoutKid = Array.from({ length: MAX_KEYS_WITHOUT_KID }, () => keyOf('HS256', secret()));
    expect(MAX_KEYS_WITHOUT_KID).toBe(3);
    expect(setOf(...withoutKid).keys).toHaveLength(3);
    const keys = [
      keyOf('ES256', es256.publicKey),
      ...withoutKid,
      keyOf('HS256', secret(), 'with-kid'),
      keyOf('HS256', secret()),
    ];
    expect(TokenKeySet.of(keys)).toEqual({
      index: 5,
      problem: 'is HS256 key number 4 without a kid; at most 3 are allowed',
    });
  });

  it('counts the keys without a kid per alg, and any number with a kid', () => {
    const keys = [
      ...Array.from({ length: 3 }, () => keyOf('HS256', secret())),
      ...Array.from({ length: 3 }, () => keyOf('HS512', secret())),
      ...Array.from({ length: 20 }, (_, i) => keyOf('HS256', secret(), `k${i}`)),
    ];
    expect(setOf(...keys).keys).toHaveLength(26);
  });

  it('takes no keys at all', () => {
    const set = setOf();
    expect(set.keys).toEqual([]);
    expect(set.select('HS256', undefined)).toBe('unsupported_algorithm');
    expect(emptySet.select('HS256', 'k')).toBe('unsupported_algorithm');
  });
});

describe('TokenKeySet.select', () => {
  const plainSecret = keyOf('HS256', secret());
  const rotatedSecret = keyOf('HS256', secret());
  const hsA = keyOf('HS256', secret(), 'a');
  const hsB = keyOf('HS256', secret(), 'b');
  const esA = keyOf('ES256', es256.publicKey, 'a');
  const rsOnly = keyOf('RS256', rs256.publicKey, 'r');
  const set = setOf(plainSecret, hsA, rotatedSecret, hsB, esA, rsOnly);

  it('refuses an alg that no key has, whatever the kid', () => {
    for (const alg of ['HS384', 'ES512', 'none', 'hs256', '', '__proto__', 'constructor']) {
      expect(set.select(alg, undefined)).toBe('unsupported_algorithm');
      expect(set.select(alg, 'a')).toBe('unsupported_algorithm');
    }
  });

  it('gives only the key with the token kid and alg, failing as bad_signature', () => {
    expect(set.select('HS256', 'a')).toEqual({ keys: [hsA], failure: 'bad_signature' });
    expect(set.select('HS256', 'b')).toEqual({ keys: [hsB], failure: 'bad_signature' });
    expect(set.select('ES256', 'a')).toEqual({ keys: [esA], failure: 'bad_signature' });
    expect(set.select('RS256', 'r')).toEqual({ keys: [rsOnly], failure: 'bad_signature' });
  });

  it('gives a token without a kid the keys of its alg without one, failing as bad_signature', () => {
    expect(set.select('HS256', undefined)).toEqual({
      keys: [plainSecret, rotatedSecret],
      failure: 'bad_signature',
    });
  });

  it('gives a token naming an unknown kid the keys without one, failing as unknown_key', () => {
    for (const kid of ['c', 'r', 'A', '', '__proto__', 'constructor', 'toString']) {
      expect(set.select('HS256', kid)).toEqual({
        keys: [plainSecret, rotatedSecret],
        failure: 'unknown_key',
      });
    }
  });

  it('never gives a key of another alg, even with its kid', () => {
    expect(set.select('ES256', 'r')).toEqual({ keys: [], failure: 'unknown_key' });
    expect(set.select('RS256', 'a')).toEqual({ keys: [], failure: 'unknown_key' });
  });

  it('gives no key, as unknown_key, when the alg has keys but none without a kid', () => {
    expect(set.select('ES256', undefined)).toEqual({ keys: [], failure: 'unknown_key' });
    expect(set.select('ES256', 'unknown')).toEqual({ keys: [], failure: 'unknown_key' });
  });

  it('returns the same object for the same alg and kid: choosing allocates nothing', () => {
    for (const [alg, kid] of [
      ['HS256', 'a'],
      ['HS256', undefined],
      ['HS256', 'unknown'],
      ['ES256', 'a'],
      ['ES256', undefined],
    ] as const) {
      expect(set.select(alg, kid)).toBe(set.select(alg, kid));
    }
    expect(set.select('HS256', 'one unknown kid')).toBe(set.select('HS256', 'another'));
  });

  it('gives frozen selections: whoever gets one cannot change the keys the next token gets', () => {
    const selections = [
      set.select('HS256', 'a'),
      set.select('HS256', undefined),
      set.select('HS256', 'unknown'),
      set.select('ES256', undefined),
    ].map((selection) => selection as KeySelection);
    for (const selection of selections) {
      expect(Object.isFrozen(selection)).toBe(true);
      expect(Object.isFrozen(selection.keys)).toBe(true);
      expect(() => (selection.keys as VerificationKey[]).push(hsB)).toThrow(TypeError);
      expect(() => {
        (selection as { failure: string }).failure = 'bad_signature';
      }).toThrow(TypeError);
    }
    expect(set.select('HS256', 'a')).toEqual({ keys: [hsA], failure: 'bad_signature' });
    expect(set.select('HS256', 'unknown')).toEqual({
      keys: [plainSecret, rotatedSecret],
      failure: 'unknown_key',
    });
    expect(set.select('ES256', undefined)).toEqual({ keys: [], failure: 'unknown_key' });
  });
});

describe('TokenKeySet.includesAll', () => {
  const text = secret();
  const hs = keyOf('HS256', text);
  const es = keyOf('ES256', es256.publicKey, 'e');
  const set = setOf(hs, es);

  it('is true for the same keys, a subset, or the same material parsed again', () => {
    expect(set.includesAll(set)).toBe(true);
    expect(set.includesAll(setOf(es))).toBe(true);
    expect(set.includesAll(emptySet)).toBe(true);
    expect(set.includesAll(setOf(keyOf('HS256', text), keyOf('ES256', es256.publicKey, 'e')))).toBe(
      true,
    );
    expect(setOf(hs, es, keyOf('RS256', rs256.publicKey)).includesAll(set)).toBe(true);
  });

  it('is false when a key of the other set is missing or differs in kid, alg or material', () => {
    expect(setOf(hs).includesAll(set)).toBe(false);
    expect(emptySet.includesAll(set)).toBe(false);
    expect(setOf(hs, keyOf('ES256', es256.publicKey, 'other')).includesAll(set)).toBe(false);
    expect(setOf(hs, keyOf('ES256', es256.publicKey)).includesAll(set)).toBe(false);
    expect(
      setOf(hs, keyOf('ES256', generateApproovKeyPair('ES256').publicKey, 'e')).includesAll(set),
    ).toBe(false);
    expect(setOf(keyOf('HS512', text), es).includesAll(set)).toBe(false);
  });
});
