import { readFileSync } from 'node:fs';

/** A request of `message-signing.json`: headers in order, as sent. */
export interface VectorRequest {
  method: string;
  target_uri: string;
  headers: [string, string][];
  body: string | null;
}

export interface SigningVector {
  request: VectorRequest;
  now_seconds: number;
  signature_base?: string;
  'signature-input': string;
  signature: string;
  signature_as_string?: string;
}

export interface SigningVectors {
  rfc9421_b25: {
    request: VectorRequest;
    key_base64: string;
    'signature-input': string;
    signature: string;
    signature_base: string;
  };
  account_key_base64url: string;
  account_key_id: string;
  install_get: SigningVector;
  install_post_sdk_components: SigningVector;
  account_post_sdk_components: SigningVector;
  both_labels_post: SigningVector;
}

/** Approov's message-signing vectors (a copy of `shared/vectors/message-signing.json`). */
export const signingVectors: SigningVectors = JSON.parse(
  readFileSync(new URL('../vectors/message-signing.json', import.meta.url), 'utf8'),
);

/** The Approov-shaped vectors, by name. */
export const APPROOV_SIGNING_VECTORS = [
  'install_get',
  'install_post_sdk_components',
  'account_post_sdk_components',
  'both_labels_post',
] as const;
