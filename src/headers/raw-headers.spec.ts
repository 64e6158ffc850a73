import { describe, expect, it } from '@jest/globals';
import {
  isHeaderName,
  readCombinedHeader,
  readSingleHeader,
  REPEATED_HEADER,
} from './raw-headers.js';

describe('readSingleHeader', () => {
  const raw = ['Host', 'localhost', 'APPROOV-TOKEN', 'abc', 'X-Device-Id', 'd1'];

  it('finds a header whatever the case of its name', () => {
    expect(readSingleHeader(raw, 'approov-token')).toBe('abc');
    expect(readSingleHeader(raw, 'x-device-id')).toBe('d1');
  });

  it('tells an absent header from a repeated one', () => {
    expect(readSingleHeader(raw, 'authorization')).toBeUndefined();
    expect(readSingleHeader([...raw, 'approov-token', 'abc'], 'approov-token')).toBe(
      REPEATED_HEADER,
    );
    expect(readSingleHeader(['approov-token', '', 'Approov-Token', ''], 'approov-token')).toBe(
      REPEATED_HEADER,
    );
  });

  it('does not match a longer or shorter name', () => {
    expect(
      readSingleHeader(['approov-tokens', 'a', 'approov-toke', 'b'], 'approov-token'),
    ).toBeUndefined();
  });
});

describe('isHeaderName', () => {
  it('accepts RFC 9110 tokens only', () => {
    expect(['Approov-Token', 'x_device.id', "a!#$%&'*+-.^_`|~1"].every(isHeaderName)).toBe(true);
    expect(['', 'Approov Token', 'a:b', 'é', 'a\n', 42, undefined].some(isHeaderName)).toBe(false);
  });
});

describe('readCombinedHeader', () => {
  it('joins repeated fields in order with a comma and a space, each trimmed', () => {
    const raw = ['Accept', ' a ', 'Host', 'h', 'ACCEPT', 'b', 'accept', ''];
    expect(readCombinedHeader(raw, 'accept')).toBe('a, b, ');
    expect(readCombinedHeader(raw, 'host')).toBe('h');
  });

  it('strips spaces and tabs only, as RFC 9110 defines optional whitespace', () => {
    expect(readCombinedHeader(['A', '\t x \t', 'B', 'y\u00a0', 'C', '\u00a0z'], 'a')).toBe('x');
    expect(readCombinedHeader(['B', 'y\u00a0'], 'b')).toBe('y\u00a0');
    expect(readCombinedHeader(['C', '\u00a0z'], 'c')).toBe('\u00a0z');
  });

  it('tells an absent field from an empty one', () => {
    expect(readCombinedHeader(['X-Empty', ''], 'x-empty')).toBe('');
    expect(readCombinedHeader(['X-Empty', ''], 'x-other')).toBeUndefined();
  });
});
