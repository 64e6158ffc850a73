import type { TokenFailure } from './token-failure.js';

/**
 * Checks the time claims of a token whose signature is valid: a finite numeric `exp` after
 * `nowSeconds`, and an `nbf`, when present, not after it (both give or take `toleranceSeconds`).
 * Returns the reason they fail, or `undefined`.
 */
export function checkTimeClaims(
  claims: Readonly<Record<string, unknown>>,
  nowSeconds: number,
  toleranceSeconds: number,
): TokenFailure | undefined {
  if (!Object.hasOwn(claims, 'exp')) return 'missing_exp';
  const { exp } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'invalid_exp';
  if (nowSeconds >= exp + toleranceSeconds) return 'expired';
  if (Object.hasOwn(claims, 'nbf')) {
    const { nbf } = claims;
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return 'invalid_nbf';
    if (nbf > nowSeconds + toleranceSeconds) return 'not_yet_valid';
  }
  return undefined;
}
