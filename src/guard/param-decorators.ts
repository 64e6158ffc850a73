import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ApproovClaims as TokenClaims } from '../token/claims.js';
import { APPROOV_CLAIMS_PROPERTY, carrierOf } from './request.js';

/** The claims of a verified Approov token (see the parameter decorator of the same name). */
export type ApproovClaims = TokenClaims;

/**
 * Injects the Approov claims into a handler parameter: `@ApproovClaims() claims` for all of
 * them, `@ApproovClaims('did') did` for one. `undefined` when the guard found none or did not
 * run. In monitor mode they can come from a token that failed its binding: see
 * `@ApproovVerified()`.
 */
export const ApproovClaims = createParamDecorator(
  (claim: keyof ApproovClaims | undefined, context: ExecutionContext): unknown => {
    const claims = carrierOf(context)?.[APPROOV_CLAIMS_PROPERTY];
    return claim === undefined ? claims : claims?.[claim];
  },
);

/**
 * Injects whether the request passed every Approov check: `false` when monitor mode let a
 * failed request through, and when the guard did not run.
 */
export const ApproovVerified = createParamDecorator(
  (_: unknown, context: ExecutionContext): boolean => carrierOf(context)?.approovVerified === true,
);
