import { createSecretKey } from 'node:crypto';
import { isHeaderName } from '../headers/raw-headers.js';
import {
  type AccountSigningKey,
  type ApproovSignatureLabel,
  LABEL_ALGORITHMS,
  type MessageSigningPolicy,
} from '../signing/message-verifier.js';
import { isDerivedComponent } from '../signing/signed-request.js';
import { type ApproovReplayStore, isReplayStore } from '../replay/replay-store.js';
import { decodeBase64 } from '../token/base64.js';
import { ApproovConfigError } from './config-error.js';

/**
 * What a route can set with `@ApproovMessageSigning({ ... })`, over the module's
 * `messageSigning`: the same fields, without the keys.
 */
export interface ApproovMessageSigningRouteOptions {
  /**
   * The signatures that must be present and valid: `'install'` (ECDSA P-256 with the key in the
   * token's `ipk`), `'account'` (HMAC-SHA256 with the account message-signing key), or both.
   * Other labels a request carries are ignored.
   * @default ['install']
   */
  labels?: readonly ApproovSignatureLabel[];
  /**
   * Components every required signature must cover: derived components (`@method`,
   * `@target-uri`, `@authority`, `@scheme`, `@path`, `@query`, `@request-target`) or header
   * names. The signature may cover more; all it covers is checked.
   * @default ['@method', '@target-uri', 'approov-token']
   */
  components?: readonly string[];
  /**
   * A request with a body must cover `content-digest`, and the digest must match the body's
   * bytes (needs `rawBody: true`, see the docs). A covered digest is always checked.
   * @default true
   */
  requireContentDigest?: boolean;
  /**
   * How old a signature's `created` may be, in seconds. Approov SDKs also send `expires`,
   * `created` + 15, which is checked when present.
   * @default 60
   */
  maxAgeSeconds?: number;
  /**
   * Seconds of leeway on `created` and `expires`, for device clocks that drift.
   * @default 15
   */
  clockToleranceSeconds?: number;
  /**
   * Let a token without `ipk` pass on routes that require the `install` signature: Approov's
   * fail-over service issues such tokens. Trades the install signature for availability; other
   * labels are still required.
   * @default false
   */
  allowMissingIpk?: boolean;
  /**
   * Accept each signature once: the signatures of an accepted request are remembered in the
   * replay store until they could no longer pass the time checks, and a request that brings one
   * again is refused (`replayed_signature`). For routes where a second copy of a request does
   * harm: payments, orders, account changes. A client that retries a request with the same
   * signature after its first attempt reached the server is refused too. The store is the
   * module's `replayStore` (an in-memory store when none is given). See docs/replay.md.
   * @default false
   */
  replay?: boolean;
}

/** The module's `messageSigning` option: the route settings' defaults, and the keys. */
export interface ApproovMessageSigningOptions extends Omit<
  ApproovMessageSigningRouteOptions,
  'replay'
> {
  /**
   * Accept each signature once on every route that requires signatures (routes override it with
   * `@ApproovMessageSigning({ replay })`): `true` with the module's `replayStore` (an in-memory
   * store when none is given), or a store, which is then the module's. See docs/replay.md.
   * @default false
   */
  replay?: boolean | ApproovReplayStore;
  /**
   * The account message-signing key, base64url as `approov secret -messageSigningKey
   * get-base64url` prints it (base64 also accepted). Required when any route requires the
   * `account` label. Read it from the environment.
   */
  accountKey?: string;
  /** When set, the token's `mskid` claim must equal it on `account` routes. */
  accountKeyId?: string;
  /**
   * The URL the client used, `scheme://host[:port]/path?query`, for setups the adapter cannot
   * describe (a proxy that rewrites paths). By default the scheme and host come from the
   * adapter's request, which applies the app's own trust-proxy setting, and the path and query
   * are the request's, as received.
   */
  targetUri?: (request: never) => string;
}

/** The module's message-signing settings, checked and decoded once, at startup. */
export interface ResolvedMessageSigning {
  /** The module-wide policy; `undefined` when `messageSigning` is not set. */
  readonly policy?: MessageSigningPolicy;
  readonly accountKey?: AccountSigningKey;
  readonly targetUri?: (request: unknown) => string;
  /** The store that `messageSigning.replay` gave, if it gave one. */
  readonly replayStore?: ApproovReplayStore;
}

/** The policy a route gets when it turns message signing on without the module doing so. */
export const DEFAULT_SIGNING_POLICY: MessageSigningPolicy = Object.freeze({
  labels: Object.freeze(['install'] as const),
  components: Object.freeze(['@method', '@target-uri', 'approov-token']),
  requireContentDigest: true,
  maxAgeSeconds: 60,
  clockToleranceSeconds: 15,
  allowMissingIpk: false,
  replay: false,
});

const ROUTE_OPTION_NAMES: readonly (keyof ApproovMessageSigningRouteOptions)[] = [
  'labels',
  'components',
  'requireContentDigest',
  'maxAgeSeconds',
  'clockToleranceSeconds',
  'allowMissingIpk',
  'replay',
];
const KEY_OPTION_NAMES: readonly (keyof ApproovMessageSigningOptions)[] = [
  'accountKey',
  'accountKeyId',
  'targetUri',
];

const MAX_AGE_SECONDS = 3600;
const MAX_CLOCK_TOLERANCE_SECONDS = 300;
/** HMAC-SHA256 wants a key of at least its output size; Approov's has 32 bytes. */
const MIN_ACCOUNT_KEY_BYTES = 32;

/**
 * Checks route settings, from the module or a decorator; `where` names them in errors
 * (`messageSigning`, `@ApproovMessageSigning()`). Returns them with header names in lower case.
 */
export function checkRouteSigningOptions(
  options: unknown,
  where: string,
  allowed: readonly string[] = ROUTE_OPTION_NAMES,
): ApproovMessageSigningRouteOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ApproovConfigError(
      where,
      'must be an object',
      'For example { labels: ["install"] }.',
    );
  }
  for (const name of Object.keys(options)) {
    if (!allowed.includes(name)) {
      throw new ApproovConfigError(
        `${where}.${name}`,
        'is not an option here',
        `Known options: ${allowed.join(', ')}.`,
      );
    }
  }
  const settings = options as ApproovMessageSigningRouteOptions;
  const checked: ApproovMessageSigningRouteOptions = { ...settings };
  if (settings.labels !== undefined)
    checked.labels = checkLabels(settings.labels, `${where}.labels`);
  if (settings.components !== undefined) {
    checked.components = checkComponents(settings.components, `${where}.components`);
  }
  for (const name of ['requireContentDigest', 'allowMissingIpk', 'replay'] as const) {
    if (settings[name] !== undefined && typeof settings[name] !== 'boolean') {
      throw new ApproovConfigError(
        `${where}.${name}`,
        'must be true or false',
        name === 'replay' && where === 'messageSigning'
          ? 'Or a replay store: an object with a claim() method, such as ApproovRedisReplayStore.'
          : 'Leave it out for the default.',
      );
    }
  }
  checkSeconds(settings.maxAgeSeconds, `${where}.maxAgeSeconds`, 1, MAX_AGE_SECONDS);
  checkSeconds(
    settings.clockToleranceSeconds,
    `${where}.clockToleranceSeconds`,
    0,
    MAX_CLOCK_TOLERANCE_SECONDS,
  );
  return checked;
}

/** Validates the module's `messageSigning` option and resolves it. */
export function resolveMessageSigning(options: unknown): ResolvedMessageSigning {
  if (options === undefined) return {};
  const where = 'messageSigning';
  // A store turns replay checks on and is the module's store; the rest are route settings.
  const givesReplay = typeof options === 'object' && options !== null && 'replay' in options;
  const replayStore = givesReplay && isReplayStore(options.replay) ? options.replay : undefined;
  const route = checkRouteSigningOptions(
    replayStore === undefined ? options : { ...options, replay: true },
    where,
    [...ROUTE_OPTION_NAMES, ...KEY_OPTION_NAMES],
  );
  const { accountKey, accountKeyId, targetUri } = options as ApproovMessageSigningOptions;
  if (accountKeyId !== undefined && (typeof accountKeyId !== 'string' || accountKeyId === '')) {
    throw new ApproovConfigError(
      `${where}.accountKeyId`,
      'must be a non-empty string',
      'Give the key id Approov puts in the token as `mskid`, or leave it out.',
    );
  }
  if (targetUri !== undefined && typeof targetUri !== 'function') {
    throw new ApproovConfigError(
      `${where}.targetUri`,
      'must be a function',
      'It receives the request and returns the URL the client used.',
    );
  }
  const policy: MessageSigningPolicy = Object.freeze(
    mergeSigningPolicy(DEFAULT_SIGNING_POLICY, route),
  );
  return {
    policy,
    accountKey:
      accountKey === undefined
        ? undefined
        : { key: decodeAccountKey(accountKey, `${where}.accountKey`), keyId: accountKeyId },
    targetUri: targetUri as ((request: unknown) => string) | undefined,
    replayStore,
  };
}

/** `policy` with the fields `route` sets. */
export function mergeSigningPolicy(
  policy: MessageSigningPolicy,
  route: ApproovMessageSigningRouteOptions,
): MessageSigningPolicy {
  const merged = { ...policy };
  for (const name of ROUTE_OPTION_NAMES) {
    if (route[name] !== undefined) Object.assign(merged, { [name]: route[name] });
  }
  return merged;
}

/** Fails at startup when a policy requires the account label without an account key. */
export function checkAccountKeyFor(
  policy: MessageSigningPolicy | undefined,
  signing: ResolvedMessageSigning,
  where: string,
): void {
  if (policy?.labels.includes('account') && signing.accountKey === undefined) {
    throw new ApproovConfigError(
      where,
      'requires the "account" signature but messageSigning.accountKey is not set',
      'Set messageSigning.accountKey to the output of `approov secret -messageSigningKey get-base64url`.',
    );
  }
}

function checkLabels(labels: unknown, option: string): ApproovSignatureLabel[] {
  const known = Object.keys(LABEL_ALGORITHMS);
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    !labels.every((label) => known.includes(label as string)) ||
    new Set(labels).size !== labels.length
  ) {
    throw new ApproovConfigError(
      option,
      'must list "install", "account" or both, once each',
      'For example ["install"].',
    );
  }
  return [...(labels as ApproovSignatureLabel[])];
}

function checkComponents(components: unknown, option: string): string[] {
  if (!Array.isArray(components) || components.length === 0) {
    throw new ApproovConfigError(
      option,
      'must list at least one component',
      'For example ["@method", "@target-uri", "approov-token"].',
    );
  }
  const names = components.map((component: unknown, index) => {
    const known =
      typeof component === 'string' &&
      ((isDerivedComponent(component) && component !== '@query-param') || isHeaderName(component));
    if (!known) {
      throw new ApproovConfigError(
        `${option}[${index}]`,
        'is neither a derived component nor a header name',
        'Use @method, @target-uri, @authority, @scheme, @path, @query, @request-target, or a header name such as "content-type".',
      );
    }
    return component.startsWith('@') ? component : component.toLowerCase();
  });
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new ApproovConfigError(option, `names "${repeated}" twice`, 'List each component once.');
  }
  return names;
}

function checkSeconds(value: unknown, option: string, min: number, max: number): void {
  if (value !== undefined && !(typeof value === 'number' && value >= min && value <= max)) {
    throw new ApproovConfigError(
      option,
      `must be a number of seconds from ${min} to ${max}`,
      'Leave it out for the default.',
    );
  }
}

function decodeAccountKey(text: unknown, option: string) {
  const fix =
    'Get it with `approov secret -messageSigningKey get-base64url` and pass it exactly as printed.';
  if (typeof text !== 'string' || text.trim() === '') {
    throw new ApproovConfigError(option, 'must be the base64url key', fix);
  }
  const bytes = decodeBase64(text.trim());
  if (typeof bytes === 'string') throw new ApproovConfigError(option, bytes, fix);
  if (bytes.length < MIN_ACCOUNT_KEY_BYTES) {
    throw new ApproovConfigError(
      option,
      `decodes to ${bytes.length} bytes; an HMAC-SHA256 key needs at least ${MIN_ACCOUNT_KEY_BYTES}`,
      fix,
    );
  }
  return createSecretKey(bytes);
}
