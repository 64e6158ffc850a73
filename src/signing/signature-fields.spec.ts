import { describe, expect, it } from '@jest/globals';
import { labelledSignature, SignatureFieldReader } from './signature-fields.js';

const INPUT = 'install=("@method" "@target-uri");alg="ecdsa-p256-sha256";created=1;expires=16';

describe('SignatureFieldReader', () => {
  it('parses both fields, combining repeated lines, and finds a label in both', () => {
    const reader = new SignatureFieldReader();
    const fields = reader.read([
      'Signature-Input',
      'other=("@method")',
      'signature-input',
      INPUT,
      'Signature',
      'install=:AAEC:',
    ]);
    expect('failure' in fields).toBe(false);
    const signature = labelledSignature(fields as never, 'install');
    expect(signature).toMatchObject({ signature: Buffer.from([0, 1, 2]) });
    expect(labelledSignature(fields as never, 'other')).toEqual({ failure: 'missing_signature' });
  });

  it('reuses the parse of an input seen before, but never a long one', () => {
    const reader = new SignatureFieldReader();
    const read = (input: string) =>
      (reader.read(['Signature-Input', input, 'Signature', 'install=:AAEC:']) as { inputs: object })
        .inputs;
    expect(read(INPUT)).toBe(read(INPUT));
    const long = `${INPUT};tag="${'x'.repeat(1100)}"`;
    expect(read(long)).not.toBe(read(long));
  });

  it('refuses absent or unparsable fields', () => {
    const reader = new SignatureFieldReader();
    expect(reader.read(['Signature', 'install=:AAEC:'])).toEqual({ failure: 'missing_signature' });
    expect(reader.read(['Signature-Input', INPUT])).toEqual({ failure: 'missing_signature' });
    expect(reader.read(['Signature-Input', 'install=(', 'Signature', 'install=:AAEC:'])).toEqual({
      failure: 'malformed_signature',
    });
  });
});
