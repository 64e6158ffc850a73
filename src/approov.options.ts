import type { KeyObject } from 'node:crypto';
import { ApproovConfigError } from './approov.errors.js';
import { isHeaderName } from './approov.headers.js';
import { decodeApproovSecret } from './approov.secret.js';

/** Options of `ApproovModule.forRoot()`, or what the factory of `forRootAsync()` returns. */
export interface ApproovModuleOptions {
  /**
   * The Approov account secret, exactly as `approov secret -get base64` (or `-get base64url`)
   * prints it: standard or URL-safe base64, padding optional. Decoded once at startup; it must
   * decode to at least 32 bytes. Keep it out of source control: read it from the environment.
   */
  secret: string;
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
}

/** The options as the guard uses them: checked, decoded and normalised once, at startup. */
export interface ApproovConfig {
  /** The decoded account secret. */
  readonly key: KeyObject;
  /** Lower case. */
  readonly tokenHeader: string;
  /** Lower case, in order. */
  readonly tokenBinding: readonly string[];
  readonly allowMissingPay: boolean;
  readonly clockToleranceSeconds: number;
}

/** Injection token of the resolved `ApproovConfig`. */
export const APPROOV_CONFIG = Symbol('APPROOV_CONFIG');

const OPTION_NAMES: ReadonlySet<string> = new Set<keyof ApproovModuleOptions>([
  'secret',
  'tokenHeader',
  'tokenBinding',
  'allowMissingPay',
  'clockToleranceSeconds',
]);

/** Longest leeway accepted: an Approov token's whole lifetime. */
const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/**
 * Checks a list of binding header names and returns them in lower case. `option` names the
 * place they came from, for the error.
 */
export function normalizeHeaderNames(names: unknown, option: string): string[] {
  if (!Array.isArray(names)) {
    throw new ApproovConfigError(
      option,
      'must be a list of header names',
      'Example: ["Authorization"].',
    );
  }
  const lowerNames = names.map((name: unknown, index) => {
    if (!isHeaderName(name)) {
      throw new ApproovConfigError(
        `${option}[${index}]`,
        'is not a valid HTTP header name',
        'Use the header name only, such as "Authorization" or "X-Device-Id".',
      );
    }
    return name.toLowerCase();
  });
  const repeated = lowerNames.find((name, index) => lowerNames.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new ApproovConfigError(option, `names "${repeated}" twice`, 'List each header once.');
  }
  return lowerNames;
}

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
  return {
    key: decodeApproovSecret(options.secret),
    tokenHeader: lowerTokenHeader,
    tokenBinding: binding,
    allowMissingPay,
    clockToleranceSeconds,
  };
}
