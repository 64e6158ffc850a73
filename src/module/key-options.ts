import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { JwksSettings } from '../jwks/remote-key-set.js';
import type { JwsAlgorithm } from '../token/algorithms.js';
import { TokenKeySet } from '../token/key-set.js';
import { decodeApproovSecret } from '../token/secret.js';
import {
  describeKid,
  parseVerificationKey,
  type VerificationKey,
} from '../token/verification-key.js';
import { ApproovConfigError } from './config-error.js';

/** One key tokens may be signed with: an entry of the `keys` option. */
export interface ApproovKeyOptions {
  /**
   * The key id, as Approov puts it in the token header's `kid`. A token naming a kid is verified
   * only with the key of that kid and alg. Leave it out for a key that serves tokens of its alg
   * whatever their kid (at most 3 such keys per alg): the account secret has none.
   */
  kid?: string;
  /**
   * The algorithm this key verifies, pinned: a token whose `alg` differs never reaches it.
   * `HS256` for the account secret; Approov key sets can use the others.
   */
  alg: JwsAlgorithm;
  /**
   * For HS256, HS384, HS512: the secret as base64 or base64url text, as `approov secret -get
   * base64` prints it (or a secret `KeyObject`); at least as many bytes as the hash (32, 48, 64).
   * For the others: the public key, as PEM text, a JWK (object or JSON text) or a public
   * `KeyObject`. RSA keys need at least 2048 bits; EC keys the algorithm's curve (P-256 for
   * ES256, P-384 for ES384, P-521 for ES512); EdDSA an Ed25519 or Ed448 key. Private keys are
   * refused: the server only verifies.
   */
  key: string | JsonWebKey | KeyObject;
}

const HOW_TO_GIVE_KEYS =
  'Give each key as { kid?, alg, key }: the secret as printed by `approov secret -get base64` for HS256, a public key (PEM, JWK or KeyObject) for the others.';

/** The name of `keys[index]` in an error: its position, and its kid when it has a readable one. */
function keyName(option: string, index: number, entry: unknown): string {
  const given = (entry as { kid?: unknown } | null)?.kid;
  // A kid cut short could name another key: a long one is left out.
  const kid = typeof given === 'string' && given.length <= 64 ? describeKid(given) : undefined;
  return kid === undefined ? `${option}[${index}]` : `${option}[${index}] (${kid})`;
}

/**
 * Checks and parses a list of keys, as given to the `keys` option or to `ApproovKeys.replace()`:
 * an `ApproovConfigError` names the first bad key by position and kid, never its material.
 */
export function resolveKeys(keys: unknown, option = 'keys'): readonly VerificationKey[] {
  if (!Array.isArray(keys)) {
    throw new ApproovConfigError(option, 'must be an array of keys', HOW_TO_GIVE_KEYS);
  }
  const parsed = keys.map((entry: unknown, index) => {
    const key = parseVerificationKey(entry as ApproovKeyOptions);
    if (typeof key === 'string') {
      throw new ApproovConfigError(keyName(option, index, entry), key, HOW_TO_GIVE_KEYS);
    }
    return key;
  });
  const set = TokenKeySet.of(parsed);
  if (!(set instanceof TokenKeySet)) {
    throw new ApproovConfigError(
      keyName(option, set.index, keys[set.index]),
      set.problem,
      'Give each key its own kid, as Approov puts it in the token header.',
    );
  }
  return parsed;
}

/** How the key set at `jwksUrl` is fetched. */
export interface ApproovJwksOptions {
  /**
   * Milliseconds a fetch may take, response body included. A request whose token names an
   * unknown kid may wait for one refresh: keep it short.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * The largest key set document accepted, in bytes; a larger one is refused as a failed fetch.
   * @default 65536
   */
  maxBytes?: number;
  /**
   * Seconds between background refreshes. A failed refresh keeps the last good keys.
   * @default 300
   */
  refreshIntervalSeconds?: number;
  /**
   * Seconds after a refresh (of either kind, failed or not) before a token with an unknown kid
   * may cause another: 1,000 tokens with made-up kids cost one fetch, not 1,000.
   * @default 30
   */
  cooldownSeconds?: number;
}

/** Where the keys come from, as `ApproovConfig` holds them. */
export interface KeySources {
  readonly keys: readonly VerificationKey[];
  readonly jwks?: JwksSettings;
}

const HOW_TO_GET_SECRET =
  'Get the account secret with `approov secret -get base64` (or `-get base64url`) and pass it exactly as printed.';

/**
 * The account secret as a key, or an `ApproovConfigError` that names `option` and says how to
 * get the secret.
 */
export function approovSecretKey(secret: unknown, option = 'secret'): KeyObject {
  const key = decodeApproovSecret(secret);
  if (typeof key === 'string') throw new ApproovConfigError(option, key, HOW_TO_GET_SECRET);
  return key;
}

const JWKS_LIMITS = {
  timeoutMs: [2000, 100, 60_000],
  maxBytes: [65_536, 1024, 10_485_760],
  refreshIntervalSeconds: [300, 10, 86_400],
  cooldownSeconds: [30, 1, 3600],
} as const;

/** Hosts a key set may be fetched from over plain HTTP: this machine only. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checks `secret`, `keys`, `jwksUrl` and `jwks`, of which at least one of the first three. */
export function resolveKeySources(options: {
  secret?: unknown;
  keys?: unknown;
  jwksUrl?: unknown;
  jwks?: unknown;
}): KeySources {
  const { secret, keys, jwksUrl, jwks } = options;
  if (secret !== undefined && keys !== undefined) {
    throw new ApproovConfigError(
      'secret',
      'is given with "keys"',
      "Give one: put the secret in keys as { alg: 'HS256', key: secret } beside the others.",
    );
  }
  let configured: readonly VerificationKey[] = [];
  if (keys !== undefined) {
    configured = resolveKeys(keys);
    if (configured.length === 0 && jwksUrl === undefined) {
      throw new ApproovConfigError('keys', 'is empty', HOW_TO_GIVE_KEYS);
    }
  } else if (secret !== undefined) {
    const key = parseVerificationKey({ alg: 'HS256', key: approovSecretKey(secret) });
    if (typeof key === 'string') throw new ApproovConfigError('secret', key, HOW_TO_GET_SECRET);
    configured = [key];
  } else if (jwksUrl === undefined) {
    throw new ApproovConfigError(
      'secret',
      'is missing',
      `${HOW_TO_GET_SECRET} Or give keys, or jwksUrl: see docs/keys.md.`,
    );
  }
  if (jwksUrl === undefined) {
    if (jwks !== undefined) {
      throw new ApproovConfigError('jwks', 'is given without "jwksUrl"', 'Give jwksUrl too.');
    }
    return { keys: configured };
  }
  return { keys: configured, jwks: resolveJwks(jwksUrl, jwks) };
}

function resolveJwks(jwksUrl: unknown, jwks: unknown = {}): JwksSettings {
  let url: URL | undefined;
  try {
    url = typeof jwksUrl === 'string' ? new URL(jwksUrl) : undefined;
  } catch {
    url = undefined;
  }
  const secure =
    url?.protocol === 'https:' || (url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  if (url === undefined || !secure) {
    throw new ApproovConfigError(
      'jwksUrl',
      'must be an absolute https URL (http only on localhost)',
      'Keys fetched over plain HTTP could be replaced on the way: give the https URL of the key set.',
    );
  }
  if (typeof jwks !== 'object' || jwks === null) {
    throw new ApproovConfigError('jwks', 'must be an object', 'Leave it out for the defaults.');
  }
  const settings: Record<string, number> = {};
  for (const name of Object.keys(jwks)) {
    if (!Object.hasOwn(JWKS_LIMITS, name)) {
      throw new ApproovConfigError(
        `jwks.${name}`,
        'is not an option',
        `Known options: ${Object.keys(JWKS_LIMITS).join(', ')}.`,
      );
    }
  }
  for (const [name, [fallback, min, max]] of Object.entries(JWKS_LIMITS)) {
    const given = (jwks as Record<string, unknown>)[name];
    const value = given === undefined ? fallback : given;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      throw new ApproovConfigError(
        `jwks.${name}`,
        `must be a whole number from ${min} to ${max}`,
        `It defaults to ${fallback}.`,
      );
    }
    settings[name] = value as number;
  }
  return {
    url,
    timeoutMs: settings.timeoutMs,
    maxBytes: settings.maxBytes,
    refreshIntervalMs: settings.refreshIntervalSeconds * 1000,
    cooldownMs: settings.cooldownSeconds * 1000,
  };
}
