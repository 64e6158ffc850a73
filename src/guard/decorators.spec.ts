import { describe, expect, it } from '@jest/globals';
import {
  APPROOV_MODE,
  APPROOV_SKIP,
  APPROOV_TOKEN_BINDING,
  ApproovMode,
  ApproovTokenBinding,
  SkipApproov,
} from './decorators.js';

const metadataOf = (decorator: ClassDecorator, key: string): unknown => {
  class Target {}
  decorator(Target);
  return Reflect.getMetadata(key, Target);
};

describe('SkipApproov', () => {
  it('marks skip, or its reversal', () => {
    expect(metadataOf(SkipApproov(), APPROOV_SKIP)).toBe(true);
    expect(metadataOf(SkipApproov(false), APPROOV_SKIP)).toBe(false);
  });
});

describe('ApproovTokenBinding', () => {
  it('stores the header names in lower case and in order, or none for false', () => {
    const binding = ApproovTokenBinding('X-Device-Id', 'Authorization');
    expect(metadataOf(binding, APPROOV_TOKEN_BINDING)).toEqual(['x-device-id', 'authorization']);
    expect(metadataOf(ApproovTokenBinding(false), APPROOV_TOKEN_BINDING)).toEqual([]);
  });

  it('fails where it is written when the arguments are wrong', () => {
    const call = ApproovTokenBinding as (...headers: unknown[]) => unknown;
    expect(() => call()).toThrow('"@ApproovTokenBinding()" needs header names');
    expect(() => call('Authorization', 'Authorization')).toThrow('names "authorization" twice');
    expect(() => call('Bad Header')).toThrow(
      '"@ApproovTokenBinding()[0]" is not a valid HTTP header',
    );
    expect(() => call(true)).toThrow('is not a valid HTTP header name');
    expect(() => call(false, 'Authorization')).toThrow('is not a valid HTTP header name');
  });
});

describe('ApproovMode', () => {
  it('stores the mode, and refuses any other word where it is written', () => {
    expect(metadataOf(ApproovMode('monitor'), APPROOV_MODE)).toBe('monitor');
    expect(metadataOf(ApproovMode('enforce'), APPROOV_MODE)).toBe('enforce');
    expect(() => ApproovMode('report' as ApproovMode)).toThrow(
      '"@ApproovMode()" takes "enforce" or "monitor"',
    );
  });
});
