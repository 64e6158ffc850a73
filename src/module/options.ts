import type { ApproovMode } from '../guard/decorators.js';
import type { ApproovResultEvent, ApproovTransport } from '../guard/events.js';
import type { ApproovFailureReason } from '../guard/reasons.js';
import { isHeaderName } from '../headers/raw-headers.js';
import { ApproovMemoryReplayStore } from '../replay/memory-replay-store.js';
import { type ApproovReplayStore, isReplayStore } from '../replay/replay-store.js';
import type { VerificationKey } from '../token/verification-key.js';
import { ApproovConfigError } from './config-error.js';
import { normalizeHeaderNames } from './header-names.js';
import {
  type ApproovJwksOptions,
  type ApproovKeyOptions,
  resolveKeySources,
} from './key-options.js';
import type { JwksSettings } from '../jwks/remote-key-set.js';
import {
  type ApproovMessageSigningOptions,
  checkAccountKeyFor,
  resolveMessageSigning,
  type ResolvedMessageSigning,
} from './message-signing-options.js';

/** Log levels of Nest's `Logger` that the failure line can use. */
export type ApproovLogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

/** Options of `ApproovModule.forRoot()`, or what the factory of `forRootAsync()` returns. */
export interface ApproovModuleOptions {
  /**
   * The Approov account secret, exactly as `approov secret -get base64` (or `-get base64url`)
   * prints it: standard or URL-safe base64, padding optional. Decoded once at startup; it must
   * decode to at least 32 bytes. Keep it out of source control: read it from the environment.
   * The short form of `keys: [{ alg: 'HS256', key: secret }]`; give one or the other.
   */
  secret?: string;
  /**
   * The keys tokens may be signed with, in place of `secret`: several account secrets during a
   * rotation, keys with a `kid`, the public keys of Approov key sets (RS*, PS*, ES*, EdDSA).
   * Checked at startup; replace them in a running app with `ApproovKeys.replace()`. See
   * docs/keys.md.
   * @default none
   */
  keys?: readonly ApproovKeyOptions[];
  /**
   * The URL of a JSON Web Key Set (RFC 7517) with the public keys tokens may be signed with:
   * fetched at startup (a failure stops the app unless `keys` or `secret` are given too), then
   * refreshed in the background, and at once, rate-limited, when a token names an unknown kid.
   * Its keys are used beside `keys`. HMAC secrets never come from a URL. See docs/keys.md.
   * @default none
   */
  jwksUrl?: string;
  /** How the key set at `jwksUrl` is fetched: timeout, size cap, refresh interval, cooldown. */
  jwks?: ApproovJwksOptions;
  /**
   * The request header that carries the Approov token.
   * @default 'Approov-Token'
   */
  tokenHeader?: string;
  /**
   * Header names whose values bind the token, in order: the token's `pay` claim must be the
   * SHA-256 of their trimmed values concatenated, in base64. Routes override it with
   * `@ApproovTokenBinding()`.
   * @default [] (no binding)
   */
  tokenBinding?: readonly string[];
  /**
   * Let a token without a `pay` claim pass on routes that bind the token. Approov's fail-over
   * service issues such tokens; accepting them trades binding for availability.
   * @default false
   */
  allowMissingPay?: boolean;
  /**
   * Seconds of leeway when checking `exp` and `nbf`, for servers whose clock drifts. Approov
   * tokens live a few minutes: keep the clock NTP-synced and this at 0.
   * @default 0
   */
  clockToleranceSeconds?: number;
  /**
   * `enforce` refuses every request that fails. `monitor` runs every check and reports every
   * failure (log line and `onResult`) but lets the request through: roll Approov out this way
   * until the reports show that only bad requests fail. Routes override it with `@ApproovMode()`.
   * @default 'enforce'
   */
  mode?: ApproovMode;
  /**
   * Called synchronously with every decision, accepted, rejected or let through by monitor mode:
   * for metrics and dashboards. An error it throws is logged and changes nothing. The event never
   * holds the token, the secret or binding values.
   */
  onResult?: (event: ApproovResultEvent) => void;
  /**
   * The level of the line logged through Nest's `Logger` for each failure (nothing is logged on
   * success), or `false` for none.
   * @default 'warn'
   */
  logLevel?: ApproovLogLevel | false;
  /**
   * The most failure lines written per second: beyond it, failures are counted by reason and
   * summed up in one line every 10 s (`Approov: 48,210 more failures in the last 10 s:
   * bad_signature 48,000, expired 210`), so that a flood of forged tokens cannot drown the logs or
   * fill the disk. `onResult` still receives every decision. `Infinity` writes every line; `0`
   * only the summaries.
   * @default 10
   */
  logRate?: number;
  /**
   * The HTTP status for a request without a token (absent, empty, or an SDK status word in its
   * place): 401, or 400 as some Approov quickstarts answer.
   * @default 401
   */
  missingTokenStatus?: 400 | 401;
  /**
   * The HTTP status for a request without a binding header the route needs: 401 or 400.
   * @default 401
   */
  missingBindingStatus?: 400 | 401;
  /**
   * Builds the exception thrown for a failure, for APIs with their own error shape: return an
   * `HttpException` (a `WsException` or `RpcException` on those transports). It gets the reason:
   * sending it to the client tells attackers which check they failed, so don't. Replaces
   * `missingTokenStatus` and `missingBindingStatus`. If it throws or returns no `Error`, the
   * default refusal is sent.
   */
  exceptionFactory?: (reason: ApproovFailureReason, transport: ApproovTransport) => unknown;
  /**
   * A prefix the token header value must start with, exactly once, such as `'Bearer '` for an
   * app whose SDK sends `Authorization: Bearer <approov token>`.
   * @default none
   */
  tokenPrefix?: string;
  /**
   * On WebSocket gateways, the name of a query parameter of the handshake URL that may carry the
   * token when the header is absent: browsers cannot set headers on a WebSocket. HTTP routes
   * never read the query string. A URL is more likely to be logged than a header: use it only
   * where headers are impossible.
   * @default none
   */
  allowQueryToken?: string;
  /**
   * How many verified tokens to remember, by their exact text, so that the next requests with
   * the same token skip the signature check (never the expiry check). A token is remembered
   * from its second request: one sent once would cost more in the cache than it saves. Failures
   * are never remembered. 0 turns the cache off.
   * @default 10000
   */
  cacheSize?: number;
  /**
   * Requires Approov's RFC 9421 message signatures on every protected route (routes override it
   * with `@ApproovMessageSigning()`): the signature ties the token to one method, URL, set of
   * headers, body and moment. Needs `rawBody: true` for requests with a body. See
   * docs/message-signing.md.
   * @default none: no signature is checked
   */
  messageSigning?: ApproovMessageSigningOptions;
  /**
   * Where the signatures of routes that accept each signature once are remembered
   * (`@ApproovMessageSigning({ replay: true })`, `messageSigning.replay`): an
   * `ApproovRedisReplayStore` from `nestjs-approov/redis` for apps that run several instances,
   * or any `ApproovReplayStore`. Giving it turns nothing on. See docs/replay.md.
   * @default an `ApproovMemoryReplayStore`, which protects one instance only
   */
  replayStore?: ApproovReplayStore;
}

/** The options as the guard uses them: checked, decoded and normalised once, at startup. */
export interface ApproovConfig {
  /** The configured keys (`secret` or `keys`), checked and parsed. */
  readonly keys: readonly VerificationKey[];
  /** The key set URL and how it is fetched, when `jwksUrl` is given. */
  readonly jwks?: JwksSettings;
  /** Lower case. */
  readonly tokenHeader: string;
  /** Lower case, in order. */
  readonly tokenBinding: readonly string[];
  readonly allowMissingPay: boolean;
  readonly clockToleranceSeconds: number;
  readonly mode: ApproovMode;
  readonly onResult?: (event: ApproovResultEvent) => void;
  readonly logLevel: ApproovLogLevel | false;
  /** A whole number, or `Infinity`. */
  readonly logRate: number;
  readonly missingTokenStatus: 400 | 401;
  readonly missingBindingStatus: 400 | 401;
  readonly exceptionFactory?: (
    reason: ApproovFailureReason,
    transport: ApproovTransport,
  ) => unknown;
  /** Empty when there is none. */
  readonly tokenPrefix: string;
  readonly allowQueryToken?: string;
  /** Also bounds the cache of parsed installation keys. */
  readonly cacheSize: number;
  readonly messageSigning: ResolvedMessageSigning;
  /** The store of replay checks: the one given, or an in-memory store. */
  readonly replayStore: ApproovReplayStore;
}

/** Injection token of the resolved `ApproovConfig`. */
// Symbol.for: the same token in the ES module and CommonJS builds, if an app loads both.
export const APPROOV_CONFIG = Symbol.for('nestjs-approov:config');

const OPTION_NAMES: ReadonlySet<string> = new Set<keyof ApproovModuleOptions>([
  'secret',
  'keys',
  'jwksUrl',
  'jwks',
  'tokenHeader',
  'tokenBinding',
  'allowMissingPay',
  'clockToleranceSeconds',
  'mode',
  'onResult',
  'logLevel',
  'logRate',
  'missingTokenStatus',
  'missingBindingStatus',
  'exceptionFactory',
  'tokenPrefix',
  'allowQueryToken',
  'cacheSize',
  'messageSigning',
  'replayStore',
]);

const MODES: readonly ApproovMode[] = ['enforce', 'monitor'];
const LOG_LEVELS: readonly (ApproovLogLevel | false)[] = [
  'error',
  'warn',
  'log',
  'debug',
  'verbose',
  false,
];
const STATUSES: readonly number[] = [400, 401];
const MAX_CACHE_SIZE = 1_000_000;
/** Query parameter names: unreserved URL characters, so the name needs no escaping. */
const QUERY_PARAMETER = /^[A-Za-z0-9._~-]+$/;

/** Longest leeway accepted: an Approov token's whole lifetime. */
const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** Validates the module options and resolves them; bad options fail here, at startup. */
export function resolveApproovConfig(options: ApproovModuleOptions): ApproovConfig {
  if (typeof options !== 'object' || options === null) {
    throw new ApproovConfigError(
      'options',
      'must be an object',
      'Pass ApproovModule.forRoot({ secret }) or return { secret } from the forRootAsync factory.',
    );
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw new ApproovConfigError(
        name,
        'is not an option',
        `Known options: ${[...OPTION_NAMES].join(', ')}.`,
      );
    }
  }
  const {
    tokenHeader = 'Approov-Token',
    tokenBinding = [],
    allowMissingPay = false,
    clockToleranceSeconds = 0,
    mode = 'enforce',
    onResult,
    logLevel = 'warn',
    logRate = 10,
    missingTokenStatus = 401,
    missingBindingStatus = 401,
    exceptionFactory,
    tokenPrefix = '',
    allowQueryToken,
    cacheSize = 10_000,
    messageSigning,
    replayStore,
  } = options;
  if (!isHeaderName(tokenHeader)) {
    throw new ApproovConfigError(
      'tokenHeader',
      'is not a valid HTTP header name',
      'Leave it out for "Approov-Token", or give the header name your app sends the token in.',
    );
  }
  const lowerTokenHeader = tokenHeader.toLowerCase();
  const binding = normalizeHeaderNames(tokenBinding, 'tokenBinding');
  if (binding.includes(lowerTokenHeader)) {
    throw new ApproovConfigError(
      'tokenBinding',
      'includes the token header itself',
      'Bind the token to the headers it protects, such as "Authorization".',
    );
  }
  if (typeof allowMissingPay !== 'boolean') {
    throw new ApproovConfigError(
      'allowMissingPay',
      'must be true or false',
      'It defaults to false.',
    );
  }
  if (
    typeof clockToleranceSeconds !== 'number' ||
    !(clockToleranceSeconds >= 0 && clockToleranceSeconds <= MAX_CLOCK_TOLERANCE_SECONDS)
  ) {
    throw new ApproovConfigError(
      'clockToleranceSeconds',
      `must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`,
      'Keep the server clock NTP-synced and leave it at 0.',
    );
  }
  if (!MODES.includes(mode)) {
    throw new ApproovConfigError(
      'mode',
      'must be "enforce" or "monitor"',
      'It defaults to "enforce".',
    );
  }
  if (onResult !== undefined && typeof onResult !== 'function') {
    throw new ApproovConfigError('onResult', 'must be a function', 'It receives each decision.');
  }
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ApproovConfigError(
      'logLevel',
      'must be "error", "warn", "log", "debug", "verbose" or false',
      'It defaults to "warn".',
    );
  }
  if (!(logRate === Infinity || (Number.isSafeInteger(logRate) && logRate >= 0))) {
    throw new ApproovConfigError(
      'logRate',
      'must be a whole number of lines per second from 0, or Infinity',
      'It defaults to 10; Infinity writes a line for every failure.',
    );
  }
  for (const [option, status] of [
    ['missingTokenStatus', missingTokenStatus],
    ['missingBindingStatus', missingBindingStatus],
  ] as const) {
    if (!STATUSES.includes(status)) {
      throw new ApproovConfigError(option, 'must be 401 or 400', 'It defaults to 401.');
    }
    if (status !== 401 && exceptionFactory !== undefined) {
      throw new ApproovConfigError(
        option,
        'conflicts with "exceptionFactory"',
        'The factory decides every response: return the status you want from it.',
      );
    }
  }
  if (exceptionFactory !== undefined && typeof exceptionFactory !== 'function') {
    throw new ApproovConfigError(
      'exceptionFactory',
      'must be a function',
      'It receives the reason and returns the exception to throw.',
    );
  }
  if (typeof tokenPrefix !== 'string' || tokenPrefix.trim() !== tokenPrefix.trimEnd()) {
    throw new ApproovConfigError(
      'tokenPrefix',
      'must be text that does not start with white space',
      'For example "Bearer ".',
    );
  }
  if (
    allowQueryToken !== undefined &&
    (typeof allowQueryToken !== 'string' || !QUERY_PARAMETER.test(allowQueryToken))
  ) {
    throw new ApproovConfigError(
      'allowQueryToken',
      'must be a query parameter name of letters, digits, ".", "_", "~" or "-"',
      'For example "approov_token"; leave it out to read headers only.',
    );
  }
  if (!Number.isInteger(cacheSize) || cacheSize < 0 || cacheSize > MAX_CACHE_SIZE) {
    throw new ApproovConfigError(
      'cacheSize',
      `must be a whole number from 0 to ${MAX_CACHE_SIZE}`,
      'It defaults to 10000; 0 turns the cache off.',
    );
  }
  const signing = resolveMessageSigning(messageSigning);
  checkAccountKeyFor(signing.policy, signing, 'messageSigning.labels');
  if (replayStore !== undefined && !isReplayStore(replayStore)) {
    throw new ApproovConfigError(
      'replayStore',
      'must be a replay store: an object with a claim() method',
      'Give an ApproovRedisReplayStore from nestjs-approov/redis, or leave it out for the in-memory store.',
    );
  }
  if (replayStore !== undefined && signing.replayStore !== undefined) {
    throw new ApproovConfigError(
      'replayStore',
      'is given twice: here and as messageSigning.replay',
      'Give the store once: as replayStore, with messageSigning.replay: true.',
    );
  }
  return {
    ...resolveKeySources(options),
    tokenHeader: lowerTokenHeader,
    tokenBinding: binding,
    allowMissingPay,
    clockToleranceSeconds,
    mode,
    onResult,
    logLevel,
    logRate,
    missingTokenStatus,
    missingBindingStatus,
    exceptionFactory,
    tokenPrefix,
    allowQueryToken,
    cacheSize,
    messageSigning: signing,
    replayStore: replayStore ?? signing.replayStore ?? new ApproovMemoryReplayStore(),
  };
}
