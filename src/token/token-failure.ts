/**
 * Why a token fails its own checks: structure, header, signature, time claims. Each code is
 * described with the others in `ApproovFailureReason`.
 */
export type TokenFailure =
  | 'malformed_token'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'critical_header'
  | 'missing_exp'
  | 'invalid_exp'
  | 'expired'
  | 'invalid_nbf'
  | 'not_yet_valid';
