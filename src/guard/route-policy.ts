import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import {
  type ApproovMessageSigningRouteOptions,
  checkAccountKeyFor,
  DEFAULT_SIGNING_POLICY,
  mergeSigningPolicy,
} from '../module/message-signing-options.js';
import type { ApproovConfig } from '../module/options.js';
import type { MessageSigningPolicy } from '../signing/message-verifier.js';
import {
  APPROOV_MESSAGE_SIGNING,
  APPROOV_MODE,
  APPROOV_SKIP,
  APPROOV_TOKEN_BINDING,
  type ApproovMode,
} from './decorators.js';

/** What the module and the decorators say of one handler. */
export interface RoutePolicy {
  readonly skip: boolean;
  /** Lower-case binding header names, in order; empty when the route does not bind. */
  readonly binding: readonly string[];
  readonly mode: ApproovMode;
  /** The signatures the route requires; `undefined` when it requires none. */
  readonly signing?: MessageSigningPolicy;
}

/**
 * Reads the policy of `handler` in `controller`: each decorator on the handler wins over the one
 * on the controller, which wins over the module's option. Message-signing settings merge field
 * by field; `false` turns signing off at that level, and a lower level can turn it on again
 * from the module's settings. Fails when the route requires the account
 * signature but no account key is configured (`ApproovModule` checks every route at startup).
 */
export function readRoutePolicy(
  reflector: Reflector,
  config: ApproovConfig,
  handler: ReturnType<ExecutionContext['getHandler']>,
  controller: ReturnType<ExecutionContext['getClass']>,
): RoutePolicy {
  const targets = [handler, controller];
  const read = <T>(key: string): T | undefined =>
    reflector.getAllAndOverride<T | undefined>(key, targets);
  let signing = config.messageSigning.policy;
  for (const target of [controller, handler]) {
    const settings = reflector.get<false | ApproovMessageSigningRouteOptions | undefined>(
      APPROOV_MESSAGE_SIGNING,
      target,
    );
    if (settings === false) signing = undefined;
    else if (settings !== undefined) {
      // A level that turns signing back on starts from the module's settings, if any.
      signing = mergeSigningPolicy(
        signing ?? config.messageSigning.policy ?? DEFAULT_SIGNING_POLICY,
        settings,
      );
    }
  }
  checkAccountKeyFor(
    signing,
    config.messageSigning,
    `@ApproovMessageSigning() on ${controller.name}.${handler.name}`,
  );
  return {
    skip: read<boolean>(APPROOV_SKIP) === true,
    binding: read<readonly string[]>(APPROOV_TOKEN_BINDING) ?? config.tokenBinding,
    mode: read<ApproovMode>(APPROOV_MODE) ?? config.mode,
    signing,
  };
}
