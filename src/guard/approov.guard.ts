import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { checkBinding } from '../binding/token-binding.js';
import { readSingleHeader, REPEATED_HEADER } from '../headers/raw-headers.js';
import { ApproovKeys } from '../module/approov-keys.js';
import { APPROOV_CONFIG, type ApproovConfig } from '../module/options.js';
import { ReplayCheck, type ReplayVerdict } from '../replay/replay-check.js';
import {
  type AcceptedSignature,
  type MessageSigningPolicy,
  MessageSignatureVerifier,
} from '../signing/message-verifier.js';
import { ApproovTokenVerifier } from '../token/token-verifier.js';
import type { ApproovResultEvent } from './events.js';
import { type ApproovFailureReason, SOUND_TOKEN_FAILURES } from './reasons.js';
import { FailureLog } from './failure-log.js';
import { ApproovRefusals } from './refusals.js';
import { readRoutePolicy, type RoutePolicy } from './route-policy.js';
import { ApproovExchange, transportOf } from './request.js';

/** `undefined` lets the request through; otherwise the exception to throw. */
type Verdict = Error | undefined | Promise<Error | undefined>;
/** Why a request fails, `undefined` when it passes; a promise when a replay store must answer. */
type Finding = ApproovFailureReason | undefined | Promise<ApproovFailureReason | undefined>;

function admit(refusal: Error | undefined): boolean {
  if (refusal === undefined) return true;
  throw refusal;
}

const APPROOV_STATUS = 'approov-status';
const APPROOV_TRACE_ID = 'approov-traceid';
/** An SDK status word (`NO_NETWORK`, `MITM_DETECTED`, ...): a JWT never looks like one. */
const SDK_STATUS_WORD = /^[A-Z][A-Z_]{1,63}$/;

/**
 * Lets a request through only with a valid Approov token (and, where the route binds it, a
 * matching `pay` claim; where it requires message signatures, valid RFC 9421 signatures). Every
 * failure is the same refusal, 401 with an empty JSON body by
 * default; the reason is logged, never sent. In monitor mode failures are reported and let
 * through. Use it as the first `APP_GUARD`, or with `@UseGuards(ApproovGuard)`, on HTTP routes,
 * GraphQL resolvers and WebSocket gateways.
 */
@Injectable()
export class ApproovGuard implements CanActivate, OnModuleDestroy {
  private readonly logger = new Logger(ApproovGuard.name);
  private readonly policies = new WeakMap<object, RoutePolicy>();
  /**
   * The signature verdicts of each long-lived connection's handshake, one per route policy: the
   * handshake is signed once, not each message or subscription.
   */
  private readonly handshakes = new WeakMap<object, Map<MessageSigningPolicy, Finding>>();
  /** The replay claims of each connection's handshake, made once for all its message routes. */
  private readonly handshakeClaims = new WeakMap<object, Map<string, boolean | Promise<boolean>>>();
  private rawBodyMissingLogged = false;
  private readonly replay: ReplayCheck;
  private readonly failures: FailureLog;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APPROOV_CONFIG) private readonly config: ApproovConfig,
    private readonly verifier: ApproovTokenVerifier,
    private readonly keys: ApproovKeys,
    private readonly refusals: ApproovRefusals,
    private readonly signatures: MessageSignatureVerifier,
  ) {
    this.replay = new ReplayCheck(config.replayStore, (line) => this.logger.error(line));
    const { logLevel } = config;
    this.failures = new FailureLog(config.logRate, (line) => {
      if (logLevel !== false) this.logger[logLevel](line);
    });
  }

  /** Writes the summary of the failure lines left out, so that a stopping app loses no count. */
  onModuleDestroy(): void {
    this.failures.flush();
  }

  /**
   * Synchronous, except on a route that checks replays against a store that answers
   * asynchronously (Redis), and for a token naming a kid or an algorithm that no key has while a
   * key set URL is configured: that request waits for one rate-limited refresh of the key set,
   * then is checked again.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Timed only for `onResult`, which reports how long the check took.
    const startedAt = this.config.onResult === undefined ? 0 : performance.now();
    let verdict: Verdict;
    try {
      verdict = this.judge(context, true, startedAt);
    } catch (error) {
      verdict = this.unexpected(error, context);
    }
    if (verdict instanceof Promise) {
      return verdict.catch((error: unknown) => this.unexpected(error, context)).then(admit);
    }
    return admit(verdict);
  }

  /** The refusal after an error: only a bug or a hostile object gets here. */
  private unexpected(error: unknown, context: ExecutionContext): Error {
    // By the error's name only: a message can quote what was being parsed.
    const name = error instanceof Error ? error.name : typeof error;
    this.logger.error(`Approov check failed unexpectedly (${name}); the request was refused`);
    return this.refusals.for('internal_error', transportOf(context));
  }

  /** Decides on a request: `undefined` lets it through, otherwise the exception to throw. */
  private judge(context: ExecutionContext, mayRefreshKeys: boolean, startedAt: number): Verdict {
    const policy = this.policyOf(context);
    if (policy.skip) return undefined;
    const exchange = ApproovExchange.of(context);
    let finding: Finding;
    try {
      finding = this.failureOf(exchange, policy);
    } catch {
      finding = 'internal_error';
    }
    if (finding instanceof Promise) {
      return finding.then(
        (reason) => this.conclude(context, exchange, policy, reason, mayRefreshKeys, startedAt),
        () => this.conclude(context, exchange, policy, 'internal_error', mayRefreshKeys, startedAt),
      );
    }
    return this.conclude(context, exchange, policy, finding, mayRefreshKeys, startedAt);
  }

  /** Exposes the claims, reports, logs, and turns the finding into the verdict. */
  private conclude(
    context: ExecutionContext,
    exchange: ApproovExchange,
    policy: RoutePolicy,
    reason: ApproovFailureReason | undefined,
    mayRefreshKeys: boolean,
    startedAt: number,
  ): Verdict {
    exchange.reason = reason;
    // A key set may have gained the kid, or the algorithm, since it was last fetched.
    if ((reason === 'unknown_key' || reason === 'unsupported_algorithm') && mayRefreshKeys) {
      const refresh = this.keys.refreshForUnknownKey();
      if (refresh !== undefined) return refresh.then(() => this.judge(context, false, startedAt));
    }
    const { carrier } = exchange;
    const monitored = reason !== undefined && policy.mode === 'monitor';
    if (carrier !== undefined) {
      // Assigned on every check: a WebSocket client carries them from one message to the next.
      const exposed = reason === undefined || (monitored && SOUND_TOKEN_FAILURES.has(reason));
      carrier.approovClaims = exposed ? exchange.claims : undefined;
      carrier.approovVerified = reason === undefined;
    }
    const outcome = reason === undefined ? 'accepted' : monitored ? 'monitored' : 'rejected';
    if (this.config.onResult !== undefined) this.report(exchange, policy, outcome, startedAt);
    if (reason === undefined) return undefined;
    this.log(exchange, outcome);
    return monitored ? undefined : this.refusals.for(reason, exchange.transport);
  }

  /** Checks the request and returns why it fails, if it does. */
  private failureOf(exchange: ApproovExchange, policy: RoutePolicy): Finding {
    const { rawHeaders } = exchange;
    if (rawHeaders === undefined) return 'unsupported_context';
    const value = this.readToken(exchange, rawHeaders);
    if (value === REPEATED_HEADER) return 'duplicate_token';
    const token = value === undefined ? '' : this.withoutPrefix(value);
    if (token === undefined) return 'malformed_token';
    if (token === '') {
      const status = readSingleHeader(rawHeaders, APPROOV_STATUS);
      return status === undefined ? 'missing_token' : 'no_token_with_status';
    }
    if (SDK_STATUS_WORD.test(token)) return 'status_instead_of_token';
    return (
      this.verifier.check(token, exchange) ??
      (policy.binding.length > 0
        ? checkBinding(exchange.claims!, rawHeaders, policy.binding, this.config.allowMissingPay)
        : undefined) ??
      (policy.signing !== undefined
        ? this.checkSignatures(exchange, policy.signing, value!)
        : undefined)
    );
  }

  /**
   * Checks the message signatures of a request whose token and binding passed, then, on a route
   * that accepts each signature once, claims them in the replay store. A connection's handshake
   * (WebSocket, GraphQL subscription) is what the client signed: its finding for a route's policy
   * holds for every later message, and its signatures are claimed once.
   */
  private checkSignatures(
    exchange: ApproovExchange,
    policy: MessageSigningPolicy,
    tokenValue: string,
  ): Finding {
    const { handshake } = exchange;
    let findings = handshake && this.handshakes.get(handshake);
    if (findings?.has(policy)) return findings.get(policy);
    const accepted: AcceptedSignature[] | undefined = policy.replay ? [] : undefined;
    const nowSeconds = Date.now() / 1000;
    const failure = this.verifySignatures(exchange, policy, tokenValue, nowSeconds, accepted);
    const finding =
      failure === undefined && accepted !== undefined
        ? this.checkReplay(exchange, accepted, nowSeconds, this.claimsOf(handshake))
        : failure;
    if (handshake !== undefined) {
      if (findings === undefined)
        this.handshakes.set(handshake, (findings = new Map<MessageSigningPolicy, Finding>()));
      findings.set(policy, finding);
    }
    return finding;
  }

  /** The replay claims of a connection's handshake; `undefined` for a request of its own. */
  private claimsOf(handshake: object | undefined) {
    if (handshake === undefined) return undefined;
    let claims = this.handshakeClaims.get(handshake);
    if (claims === undefined)
      this.handshakeClaims.set(handshake, (claims = new Map<string, boolean | Promise<boolean>>()));
    return claims;
  }

  /** Claims the accepted signatures; a store's failure may let the request through unchecked. */
  private checkReplay(
    exchange: ApproovExchange,
    accepted: readonly AcceptedSignature[],
    nowSeconds: number,
    claimed: Map<string, boolean | Promise<boolean>> | undefined,
  ): Finding {
    const reasonOf = (verdict: ReplayVerdict): ApproovFailureReason | undefined => {
      if (verdict !== 'unchecked') return verdict;
      exchange.replayUnchecked = true;
      return undefined;
    };
    const verdict = this.replay.check(accepted, nowSeconds, claimed);
    return verdict instanceof Promise ? verdict.then(reasonOf) : reasonOf(verdict);
  }

  private verifySignatures(
    exchange: ApproovExchange,
    policy: MessageSigningPolicy,
    tokenValue: string,
    nowSeconds: number,
    accepted: AcceptedSignature[] | undefined,
  ): ApproovFailureReason | undefined {
    const request = exchange.signedRequest(this.config.messageSigning.targetUri);
    if (request === undefined) return 'unsupported_context';
    // A subscription's token may come from its connection parameters: the signed handshake must
    // carry that same token, or the signature would vouch for another one.
    if (
      request.rawHeaders !== exchange.rawHeaders &&
      readSingleHeader(request.rawHeaders, this.config.tokenHeader) !== tokenValue
    ) {
      return 'signature_component_missing';
    }
    const failure = this.signatures.verify(request, exchange.claims!, policy, nowSeconds, accepted);
    if (failure === 'body_unavailable' && !this.rawBodyMissingLogged) {
      this.rawBodyMissingLogged = true;
      this.logger.error(
        'Approov message signing needs the raw body of requests: create the app with ' +
          '{ rawBody: true }, and register a parser with app.useBodyParser() for content types ' +
          'other than JSON and urlencoded; such requests are refused until then',
      );
    }
    return failure;
  }

  /** The token header's value or, on a WebSocket that allows it, the query parameter's. */
  private readToken(
    exchange: ApproovExchange,
    rawHeaders: readonly string[],
  ): string | undefined | typeof REPEATED_HEADER {
    const header = readSingleHeader(rawHeaders, this.config.tokenHeader);
    const { allowQueryToken } = this.config;
    if (allowQueryToken === undefined || exchange.handshakeUrl === undefined) return header;
    const inQuery = new URL(exchange.handshakeUrl, 'ws://handshake').searchParams.getAll(
      allowQueryToken,
    );
    if (inQuery.length === 0) return header;
    // Two tokens, whatever their places, leave it unclear which one the app meant.
    return inQuery.length > 1 || header !== undefined ? REPEATED_HEADER : inQuery[0];
  }

  /** The token after the configured prefix (`''` when none follows), or `undefined` if malformed. */
  private withoutPrefix(value: string): string | undefined {
    const { tokenPrefix } = this.config;
    if (tokenPrefix === '') return value;
    // Node trims header values, so a prefix alone has lost its trailing space.
    if (value === '' || value === tokenPrefix.trimEnd()) return '';
    if (!value.startsWith(tokenPrefix)) return undefined;
    const token = value.slice(tokenPrefix.length);
    return token.startsWith(tokenPrefix) ? undefined : token;
  }

  /** Hands the decision to `onResult`, which must not change it. */
  private report(
    exchange: ApproovExchange,
    policy: RoutePolicy,
    outcome: ApproovResultEvent['outcome'],
    startedAt: number,
  ): void {
    const event: ApproovResultEvent = {
      outcome,
      reason: exchange.reason,
      mode: policy.mode,
      transport: exchange.transport,
      method: exchange.method,
      route: exchange.route,
      durationMs: performance.now() - startedAt,
      ...detailsOf(exchange),
      ...(exchange.replayUnchecked && { replayUnchecked: true }),
    };
    try {
      this.config.onResult!(event);
    } catch (error) {
      this.logger.error(`onResult threw; the decision stands: ${String(error)}`);
    }
  }

  /**
   * One line per failure, at the configured level, with what helps to investigate it; at most
   * `logRate` a second, the others summed up (`FailureLog`).
   */
  private log(exchange: ApproovExchange, outcome: ApproovResultEvent['outcome']): void {
    if (this.config.logLevel === false) return;
    this.failures.failure(exchange.reason!, () => {
      const verdict = outcome === 'monitored' ? 'failed, let through by monitor mode' : 'rejected';
      let line = `Approov token ${verdict}: ${exchange.reason} (${exchange.method} ${exchange.route})`;
      for (const [name, value] of Object.entries(detailsOf(exchange))) {
        // Quoted and cut short: some of these come from the client as it pleases.
        if (value !== undefined) line += ` ${name}=${JSON.stringify(value.slice(0, 64))}`;
      }
      return line;
    });
  }

  /** The policy of the context's handler, read once. */
  private policyOf(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    let policy = this.policies.get(handler);
    if (policy === undefined) {
      policy = readRoutePolicy(this.reflector, this.config, handler, context.getClass());
      this.policies.set(handler, policy);
    }
    return policy;
  }
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** What a report says of the token and the client, besides the decision. */
function detailsOf(
  exchange: ApproovExchange,
): Pick<ApproovResultEvent, 'did' | 'arc' | 'approovStatus' | 'traceId'> {
  const { rawHeaders, claims } = exchange;
  return {
    did: textOrUndefined(claims?.did),
    arc: textOrUndefined(claims?.arc),
    approovStatus: rawHeaders && textOrUndefined(readSingleHeader(rawHeaders, APPROOV_STATUS)),
    traceId: rawHeaders && textOrUndefined(readSingleHeader(rawHeaders, APPROOV_TRACE_ID)),
  };
}
