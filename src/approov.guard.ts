import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { checkBinding } from './approov.binding.js';
import { APPROOV_CLAIMS_PROPERTY, type ApproovRequest } from './approov.claims.js';
import { APPROOV_SKIP, APPROOV_TOKEN_BINDING } from './approov.decorators.js';
import { readSingleHeader, REPEATED_HEADER } from './approov.headers.js';
import { APPROOV_CONFIG, type ApproovConfig } from './approov.options.js';
import type { ApproovFailureReason } from './approov.reasons.js';
import { ApproovTokenVerifier } from './approov.verifier.js';

/** What the decorators say of one handler, read once. */
interface RoutePolicy {
  readonly skip: boolean;
  /** Lower-case binding header names, in order; empty when the route does not bind. */
  readonly binding: readonly string[];
  /** `Controller.handler`, for logs. */
  readonly name: string;
}

/** Express requests are Node's `IncomingMessage`; Fastify's wrap it as `raw`. */
interface HttpRequest extends ApproovRequest {
  readonly raw?: { readonly rawHeaders: readonly string[] };
  readonly rawHeaders?: readonly string[];
}

/**
 * Lets a request through only with a valid Approov token (and, where the route binds it, a
 * matching `pay` claim). Every failure is the same 401 with an empty JSON body; the reason is
 * logged, never sent. Use it as the first `APP_GUARD`, or with `@UseGuards(ApproovGuard)`.
 */
@Injectable()
export class ApproovGuard implements CanActivate {
  private readonly logger = new Logger(ApproovGuard.name);
  private readonly policies = new WeakMap<object, RoutePolicy>();
  // One exception for every failure: the response is the same, and no stack is built per attack.
  private readonly refusal = new HttpException(Object.freeze({}), HttpStatus.UNAUTHORIZED);

  constructor(
    private readonly reflector: Reflector,
    @Inject(APPROOV_CONFIG) private readonly config: ApproovConfig,
    private readonly verifier: ApproovTokenVerifier,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const policy = this.policyOf(context);
    if (policy.skip) return true;
    const reason =
      context.getType() === 'http'
        ? this.check(context.switchToHttp().getRequest<HttpRequest>(), policy)
        : 'unsupported_context';
    if (reason === undefined) return true;
    this.logger.warn(`Approov token rejected: ${reason} (${policy.name})`);
    throw this.refusal;
  }

  /** Verifies the request, puts the claims on it, and returns why it fails, if it does. */
  private check(request: HttpRequest, policy: RoutePolicy): ApproovFailureReason | undefined {
    try {
      const rawHeaders = (request.raw ?? request).rawHeaders;
      if (rawHeaders === undefined) return 'unsupported_context';
      const token = readSingleHeader(rawHeaders, this.config.tokenHeader);
      if (token === undefined || token === '') return 'missing_token';
      if (token === REPEATED_HEADER) return 'duplicate_token';
      const claims = this.verifier.verify(token);
      if (typeof claims === 'string') return claims;
      if (policy.binding.length > 0) {
        const reason = checkBinding(
          claims,
          rawHeaders,
          policy.binding,
          this.config.allowMissingPay,
        );
        if (reason !== undefined) return reason;
      }
      request[APPROOV_CLAIMS_PROPERTY] = claims;
      return undefined;
    } catch {
      return 'internal_error';
    }
  }

  private policyOf(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    let policy = this.policies.get(handler);
    if (policy === undefined) {
      const targets = [handler, context.getClass()];
      policy = {
        skip: this.reflector.getAllAndOverride<boolean | undefined>(APPROOV_SKIP, targets) === true,
        binding:
          this.reflector.getAllAndOverride<readonly string[] | undefined>(
            APPROOV_TOKEN_BINDING,
            targets,
          ) ?? this.config.tokenBinding,
        name: `${context.getClass().name}.${handler.name}`,
      };
      this.policies.set(handler, policy);
    }
    return policy;
  }
}
