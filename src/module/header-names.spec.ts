import { describe, expect, it } from '@jest/globals';
import { normalizeHeaderNames } from './header-names.js';

describe('normalizeHeaderNames', () => {
  it('names the place the list came from', () => {
    expect(() => normalizeHeaderNames(['ok', ''], '@ApproovTokenBinding()')).toThrow(
      '"@ApproovTokenBinding()[1]" is not a valid HTTP header name',
    );
  });
});
