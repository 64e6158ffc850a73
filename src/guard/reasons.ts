import { BINDING_FAILURES, type BindingFailure } from '../binding/token-binding.js';
import { REPLAY_FAILURES, type ReplayFailure } from '../replay/replay-failure.js';
import { SIGNING_FAILURES, type SigningFailure } from '../signing/signing-failure.js';
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
 * - `unsupported_algorithm`: the header's `alg` is absent, not text, or not the algorithm of any
 *   configured key (`HS256` for the account secret).
 * - `unknown_key`: the header names a `kid` that no configured key has, and no key without a kid
 *   verifies the token; or no key without a kid exists for a token that names none.
 * - `bad_signature`: the signature does not match the key (the account secret, or the keys
 *   selected by `alg` and `kid`).
 * - `critical_header`: the header has a `crit` parameter, whose extensions are not supported.
 * - `missing_exp`, `invalid_exp`, `expired`: the `exp` claim is absent, not a finite number, or
 *   not in the future.
 * - `invalid_nbf`, `not_yet_valid`: the `nbf` claim is not a finite number, or in the future.
 * - `missing_pay`, `invalid_pay`: the route binds the token but the `pay` claim is absent or not
 *   a string.
 * - `missing_binding_header`, `duplicate_binding_header`: a binding header is absent or empty, or
 *   was sent more than once.
 * - `binding_mismatch`: `pay` is not the hash of the binding header values.
 * - `missing_signature`: a required message signature (`install`, `account`) is not in both
 *   `Signature-Input` and `Signature`, or either field is absent.
 * - `malformed_signature`: the signature fields are not RFC 9651 dictionaries, a label's member
 *   has the wrong type, a covered component is repeated, unknown or has unknown parameters, or
 *   an install signature is not the 64 bytes of raw `r||s` (a DER signature, for example).
 * - `signature_params_invalid`: `alg` absent or not the label's, `created` absent or not an
 *   integer, `expires` before `created`, or a parameter other than `alg`, `created`, `expires`,
 *   `keyid`, `nonce`, `tag`.
 * - `signature_expired`, `signature_not_yet_valid`: `created` older than `maxAgeSeconds` or
 *   `expires` past; `created` in the future (each give or take `clockToleranceSeconds`).
 * - `signature_component_missing`: a component the route requires is not covered, or a covered
 *   component is absent from the request.
 * - `signature_mismatch`: the signature does not verify.
 * - `missing_ipk`, `invalid_ipk`: the token has no `ipk` for an install signature, or not an EC
 *   P-256 public key.
 * - `mskid_mismatch`: the token's `mskid` is not the configured `accountKeyId`.
 * - `content_digest_missing`: the request has a body but its signature does not cover
 *   `content-digest`.
 * - `content_digest_invalid`, `content_digest_mismatch`: `Content-Digest` is not a dictionary of
 *   digests with at least one known algorithm (`sha-256`, `sha-512`); a known one does not match
 *   the body.
 * - `body_unavailable`: the body must be checked but the app keeps no raw body: create the app
 *   with `rawBody: true`.
 * - `replayed_signature`: on a route that accepts each signature once, a signature of the request
 *   was accepted before (by this instance, or by any instance sharing the replay store).
 * - `replay_store_unavailable`: the replay store did not answer in time, answered an error, or
 *   (in memory) is full, and its `onStoreError` is `'refuse'`.
 * - `unsupported_context`: the guard ran where there is no token to read: a microservice
 *   message, or a WebSocket whose handshake request is not known.
 * - `internal_error`: an unexpected error; the request is refused all the same.
 */
export type ApproovFailureReason =
  RequestFailure | TokenFailure | BindingFailure | SigningFailure | ReplayFailure;

/** Failures found before the token is checked, or outside every check. */
type RequestFailure =
  | 'missing_token'
  | 'no_token_with_status'
  | 'status_instead_of_token'
  | 'duplicate_token'
  | 'unsupported_context'
  | 'internal_error';

/**
 * Failures of a sound token's binding, message signatures or replay check: monitor mode still
 * exposes the token's claims.
 */
export const SOUND_TOKEN_FAILURES: ReadonlySet<ApproovFailureReason> =
  new Set<ApproovFailureReason>([...BINDING_FAILURES, ...SIGNING_FAILURES, ...REPLAY_FAILURES]);

/** Failures that mean the app sent no token. */
export const MISSING_TOKEN_FAILURES: ReadonlySet<ApproovFailureReason> =
  new Set<ApproovFailureReason>([
    'missing_token',
    'no_token_with_status',
    'status_instead_of_token',
  ]);
