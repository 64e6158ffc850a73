import { SetMetadata } from '@nestjs/common';
import { ApproovConfigError } from '../module/config-error.js';
import { normalizeHeaderNames } from '../module/header-names.js';
import {
  type ApproovMessageSigningRouteOptions,
  checkRouteSigningOptions,
} from '../module/message-signing-options.js';

export const APPROOV_SKIP = 'approov:skip';
export const APPROOV_TOKEN_BINDING = 'approov:token-binding';
export const APPROOV_MODE = 'approov:mode';
export const APPROOV_MESSAGE_SIGNING = 'approov:message-signing';

/** `enforce` refuses failed requests; `monitor` reports them and lets them through. */
export type ApproovMode = 'enforce' | 'monitor';

/**
 * Marks a controller or handler as public: `ApproovGuard` lets its requests through unchecked.
 * `@SkipApproov(false)` on a handler checks it again inside a skipped controller; the handler's
 * decorator wins over the controller's.
 */
export const SkipApproov = (skip = true): ClassDecorator & MethodDecorator =>
  SetMetadata(APPROOV_SKIP, skip);

/**
 * Sets the headers that bind the token on a controller or handler, in order, overriding the
 * module's `tokenBinding`: `@ApproovTokenBinding('Authorization', 'X-Device-Id')`.
 * `@ApproovTokenBinding(false)` turns binding off there, as on a login route that has no
 * `Authorization` yet. The handler's decorator wins over the controller's.
 */
export function ApproovTokenBinding(
  ...headers: [false] | [string, ...string[]]
): ClassDecorator & MethodDecorator {
  if (headers.length === 1 && headers[0] === false) return SetMetadata(APPROOV_TOKEN_BINDING, []);
  if (headers.length === 0) {
    throw new ApproovConfigError(
      '@ApproovTokenBinding()',
      'needs header names',
      'Name the headers, as in @ApproovTokenBinding("Authorization"), or pass false to turn binding off.',
    );
  }
  return SetMetadata(
    APPROOV_TOKEN_BINDING,
    normalizeHeaderNames(headers, '@ApproovTokenBinding()'),
  );
}

/**
 * Sets the mode of a controller or handler, overriding the module's `mode`: `@ApproovMode('monitor')`
 * reports failures there but lets the requests through; `@ApproovMode('enforce')` refuses them
 * even when the module monitors. The handler's decorator wins over the controller's.
 */
export function ApproovMode(mode: ApproovMode): ClassDecorator & MethodDecorator {
  if (mode !== 'enforce' && mode !== 'monitor') {
    throw new ApproovConfigError(
      '@ApproovMode()',
      'takes "enforce" or "monitor"',
      'Check the spelling.',
    );
  }
  return SetMetadata(APPROOV_MODE, mode);
}

/**
 * Sets message signing on a controller or handler: `@ApproovMessageSigning(false)` turns it off
 * there; `@ApproovMessageSigning({ labels: ['account'] })` turns it on, or changes the settings
 * it names, over the controller's and then the module's `messageSigning` (the handler's wins).
 * Keys and `targetUri` are the module's only.
 */
export function ApproovMessageSigning(
  settings: false | ApproovMessageSigningRouteOptions,
): ClassDecorator & MethodDecorator {
  return SetMetadata(
    APPROOV_MESSAGE_SIGNING,
    settings === false ? false : checkRouteSigningOptions(settings, '@ApproovMessageSigning()'),
  );
}
