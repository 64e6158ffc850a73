import { createHash, timingSafeEqual } from 'node:crypto';
import { readSingleHeader, REPEATED_HEADER } from '../headers/raw-headers.js';
import type { ApproovClaims } from '../token/claims.js';

/** Failures of the token binding alone: the token itself is sound. */
export const BINDING_FAILURES = [
  'missing_pay',
  'invalid_pay',
  'missing_binding_header',
  'duplicate_binding_header',
  'binding_mismatch',
] as const;

/** Why a sound token does not bind to the request; described in `ApproovFailureReason`. */
export type BindingFailure = (typeof BINDING_FAILURES)[number];

/**
 * The `pay` claim that binds a token to `values`: base64 (standard, padded) of the SHA-256 of the
 * values, each trimmed, concatenated in order without a separator.
 *
 * `encoding` says how each string becomes bytes: `utf8` for values as an app holds them, `latin1`
 * for header values as Node received them (one character per byte on the wire), so that a
 * non-ASCII value hashes to the bytes the client sent.
 */
export function approovBindingHash(
  values: readonly string[],
  encoding: 'utf8' | 'latin1' = 'utf8',
): string {
  const hash = createHash('sha256');
  for (const value of values) hash.update(value.trim(), encoding);
  return hash.digest('base64');
}

/**
 * Compares `pay` with the expected hash in constant time. Lengths are compared first, on bytes,
 * because `timingSafeEqual` throws on unequal lengths; the expected length is public.
 */
export function payMatches(pay: string, expected: string): boolean {
  const payBytes = Buffer.from(pay, 'utf8');
  const expectedBytes = Buffer.from(expected, 'latin1');
  return payBytes.length === expectedBytes.length && timingSafeEqual(payBytes, expectedBytes);
}

/**
 * Checks the token binding of verified `claims` against the headers `names` (lower case, in
 * order) of a request. Returns the reason of the failure, or `undefined` when the binding holds.
 * With `allowMissingPay`, a token without `pay` (from Approov's fail-over service) passes.
 */
export function checkBinding(
  claims: ApproovClaims,
  rawHeaders: readonly string[],
  names: readonly string[],
  allowMissingPay: boolean,
): BindingFailure | undefined {
  if (!Object.hasOwn(claims, 'pay')) return allowMissingPay ? undefined : 'missing_pay';
  const pay = claims.pay;
  if (typeof pay !== 'string') return 'invalid_pay';
  const values: string[] = [];
  for (const name of names) {
    const value = readSingleHeader(rawHeaders, name);
    if (value === REPEATED_HEADER) return 'duplicate_binding_header';
    if (value === undefined || value.trim() === '') return 'missing_binding_header';
    values.push(value);
  }
  return payMatches(pay, approovBindingHash(values, 'latin1')) ? undefined : 'binding_mismatch';
}
