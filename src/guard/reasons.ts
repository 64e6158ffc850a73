import { BINDING_FAILURES, type BindingFailure } from '../binding/token-binding.js';
import type { TokenFailure } from '../token/token-failure.js';

/**
 * Why a request was refused. Logged once per failure, never sent to the client.
 *
 * - `missing_token`: no token header, or an empty one.
 * - `no_token_with_status`: no token, or an empty one, but an `Approov-Status` header: the app
 *   could not get a token and says why (no network, for example).
 * - `status_instead_of_token`: the token header holds an SDK status word such as `NO_NETWORK` or
 *   `MITM_DETECTED` instead of a token (an older SDK option).
 * - `duplicate_token`: the token header was sent more than once.
 * - `malformed_token`: not a compact JWS of three base64url segments with a JSON object header
 *   and payload.
 * - `unsupported_algorithm`: the header's `alg` is not the configured `HS256`.
 * - `bad_signature`: the signature does not match the account secret.
 * - `critical_header`: the header has a `crit` parameter, whose extensions are not supported.
 * - `missing_exp`, `invalid_exp`, `expired`: the `exp` claim is absent, not a finite number, or
 *   not in the future.
 * - `invalid_nbf`, `not_yet_valid`: the `nbf` claim is not a finite number, or in the future.
 * - `missing_pay`, `invalid_pay`: the route binds the token but the `pay` claim is absent or not
 *   a string.
 * - `missing_binding_header`, `duplicate_binding_header`: a binding header is absent or empty, or
 *   was sent more than once.
 * - `binding_mismatch`: `pay` is not the hash of the binding header values.
 * - `unsupported_context`: the guard ran where there is no token to read: a microservice
 *   message, or a WebSocket whose handshake request is not known.
 * - `internal_error`: an unexpected error; the request is refused all the same.
 */
export type ApproovFailureReason = RequestFailure | TokenFailure | BindingFailure;

/** Failures found before the token is checked, or outside every check. */
type RequestFailure =
  | 'missing_token'
  | 'no_token_with_status'
  | 'status_instead_of_token'
  | 'duplicate_token'
  | 'unsupported_context'
  | 'internal_error';

/** Failures of the token binding alone: the token itself is sound. */
export const BINDING_FAILURE_REASONS: ReadonlySet<ApproovFailureReason> =
  new Set<ApproovFailureReason>(BINDING_FAILURES);

/** Failures that mean the app sent no token. */
export const MISSING_TOKEN_FAILURES: ReadonlySet<ApproovFailureReason> =
  new Set<ApproovFailureReason>([
    'missing_token',
    'no_token_with_status',
    'status_instead_of_token',
  ]);
