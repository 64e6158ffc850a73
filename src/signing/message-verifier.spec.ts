import { describe, expect, it } from '@jest/globals';
import { createHmac, createSecretKey } from 'node:crypto';
import { parseDictionary, type InnerList } from 'structured-headers';
import {
  APPROOV_SIGNING_VECTORS,
  signingVectors,
  type VectorRequest,
} from '../../test/support/signing-vectors.js';
import type { ApproovClaims } from '../token/claims.js';
import { type MessageSigningPolicy, MessageSignatureVerifier } from './message-verifier.js';
import { signatureBase } from './signature-base.js';
import { type SignedRequest, splitAbsoluteUri } from './signed-request.js';

/** A vector's request as the guard would read it. */
function signedRequestOf(
  request: VectorRequest,
  extraHeaders: [string, string][] = [],
): SignedRequest {
  return {
    method: request.method,
    ...splitAbsoluteUri(request.target_uri)!,
    rawHeaders: [...request.headers, ...extraHeaders].flat(),
    body: Buffer.from(request.body ?? '', 'utf8'),
  };
}

const claimsOf = (token: string): ApproovClaims =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as ApproovClaims;

const POLICY: MessageSigningPolicy = {
  labels: ['install'],
  components: ['@method', '@target-uri', 'approov-token'],
  requireContentDigest: true,
  maxAgeSeconds: 60,
  clockToleranceSeconds: 0,
  allowMissingIpk: false,
  replay: false,
};

const accountKey = {
  key: createSecretKey(Buffer.from(signingVectors.account_key_base64url, 'base64url')),
  keyId: signingVectors.account_key_id,
};

describe('signatureBase', () => {
  it('builds RFC 9421 B.2.5 exactly', () => {
    const vector = signingVectors.rfc9421_b25;
    const input = parseDictionary(vector['signature-input']).get('sig-b25') as InnerList;
    const base = signatureBase(signedRequestOf(vector.request), input);
    expect(base).toBe(vector.signature_base);
    const hmac = createHmac('sha256', Buffer.from(vector.key_base64, 'base64'))
      .update(base as string)
      .digest('base64');
    expect(`sig-b25=:${hmac}:`).toBe(vector.signature);
  });

  it.each(APPROOV_SIGNING_VECTORS.filter((name) => name !== 'both_labels_post'))(
    'builds the base of %s exactly',
    (name) => {
      const vector = signingVectors[name];
      const [label] = [...parseDictionary(vector['signature-input']).keys()];
      const input = parseDictionary(vector['signature-input']).get(label) as InnerList;
      expect(signatureBase(signedRequestOf(vector.request), input)).toBe(vector.signature_base);
    },
  );
});

describe('MessageSignatureVerifier', () => {
  const verifier = new MessageSignatureVerifier(accountKey, 100);

  it.each(APPROOV_SIGNING_VECTORS)('accepts %s at its frozen time', (name) => {
    const vector = signingVectors[name];
    const labels = [...parseDictionary(vector['signature-input']).keys()] as (
      'install' | 'account'
    )[];
    const request = signedRequestOf(vector.request, [
      ['Signature-Input', vector['signature-input']],
      ['Signature', vector.signature],
    ]);
    const token = vector.request.headers.find(([field]) => field === 'Approov-Token')![1];
    expect(
      verifier.verify(request, claimsOf(token), { ...POLICY, labels }, vector.now_seconds),
    ).toBeUndefined();
  });
});
