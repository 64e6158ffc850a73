/** Failures of a request's message signatures, whose token is sound. */
export const SIGNING_FAILURES = [
  'missing_signature',
  'malformed_signature',
  'signature_params_invalid',
  'signature_expired',
  'signature_not_yet_valid',
  'signature_component_missing',
  'signature_mismatch',
  'missing_ipk',
  'invalid_ipk',
  'mskid_mismatch',
  'content_digest_missing',
  'content_digest_invalid',
  'content_digest_mismatch',
  'body_unavailable',
] as const;

/** Why a request's message signatures fail; described in `ApproovFailureReason`. */
export type SigningFailure = (typeof SIGNING_FAILURES)[number];

/** A failure, boxed where a plain string could be a result too. */
export interface Failed {
  readonly failure: SigningFailure;
}

export const failed = (failure: SigningFailure): Failed => ({ failure });

export const isFailed = (value: unknown): value is Failed =>
  typeof value === 'object' && value !== null && 'failure' in value;
