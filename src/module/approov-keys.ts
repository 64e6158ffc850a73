import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { RemoteKeySet } from '../jwks/remote-key-set.js';
import type { JwsAlgorithm } from '../token/algorithms.js';
import { MAX_KEYS_WITHOUT_KID, TokenKeySet } from '../token/key-set.js';
import { ApproovTokenVerifier } from '../token/token-verifier.js';
import { describeKid, type VerificationKey } from '../token/verification-key.js';
import { ApproovConfigError } from './config-error.js';
import { type ApproovKeyOptions, resolveKeys } from './key-options.js';
import { APPROOV_CONFIG, type ApproovConfig } from './options.js';

/** A key in use, described without its material. */
export interface ApproovKeyInfo {
  readonly kid: string | undefined;
  readonly alg: JwsAlgorithm;
  /** `configured`: from `secret`, `keys` or `replace()`; `jwks`: from the key set at `jwksUrl`. */
  readonly source: 'configured' | 'jwks';
}

/** The token verifier of `config`, with the configured keys. */
export function createTokenVerifier(config: ApproovConfig): ApproovTokenVerifier {
  // `resolveKeys` checked that the configured keys form a set.
  const keys = TokenKeySet.of(config.keys) as TokenKeySet;
  return new ApproovTokenVerifier({ ...config, keys });
}

/**
 * The keys tokens are verified with, in a running app: the configured ones (`secret`, `keys`),
 * which `replace()` swaps without a restart, and those of the key set at `jwksUrl`, fetched at
 * startup and refreshed. Inject it where keys change: an admin endpoint, a secrets watcher.
 */
@Injectable()
export class ApproovKeys implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Approov');
  private configured: readonly VerificationKey[];
  private fetched: readonly VerificationKey[] = [];
  private remote: RemoteKeySet | undefined;
  /** The last warning about left-out keys: a clash that persists is reported once. */
  private lastClashes = '';

  constructor(
    @Inject(APPROOV_CONFIG) private readonly config: ApproovConfig,
    private readonly verifier: ApproovTokenVerifier,
  ) {
    this.configured = config.keys;
  }

  /**
   * Replaces the configured keys (those of `secret` or `keys`) with `keys`, checked as at
   * startup. A bad set throws an `ApproovConfigError` and the keys in use stay. Tokens verified
   * with a key that is no longer in use are refused from now on, even those seen before.
   */
  replace(keys: readonly ApproovKeyOptions[]): void {
    const parsed = resolveKeys(keys);
    if (parsed.length === 0 && this.config.jwks === undefined) {
      throw new ApproovConfigError(
        'keys',
        'is empty',
        'Every token would be refused: give at least one key.',
      );
    }
    this.configured = parsed;
    this.install();
  }

  /** The keys in use, without their material. */
  list(): ApproovKeyInfo[] {
    const describe = (source: ApproovKeyInfo['source']) => (key: VerificationKey) => ({
      kid: key.kid,
      alg: key.alg,
      source,
    });
    return [
      ...this.configured.map(describe('configured')),
      ...this.fetched
        .filter((key) => this.verifier.keySet.keys.includes(key))
        .map(describe('jwks')),
    ];
  }

  /**
   * A refresh of the key set for a token that names an unknown kid, or `undefined` when there is
   * no key set or it is cooling down. Resolves when done; never rejects.
   */
  refreshForUnknownKey(): Promise<unknown> | undefined {
    return this.remote?.refreshForUnknownKey();
  }

  /** Fetches the key set at startup: without it, and without configured keys, the app stops. */
  async onModuleInit(): Promise<void> {
    const { jwks } = this.config;
    if (jwks === undefined || this.remote !== undefined) return;
    this.remote = await RemoteKeySet.open(jwks, {
      keys: (keys) => {
        this.fetched = keys;
        this.install();
      },
      problem: (message) => this.logger.warn(message),
    });
    const failure = await this.remote.refresh();
    // A document without a usable key counts as a failed fetch.
    if (failure !== undefined && this.configured.length === 0) {
      throw new ApproovConfigError(
        'jwksUrl',
        `gave no key at startup: ${failure}`,
        'Check that the URL serves the key set, or give keys as a fallback.',
      );
    }
    this.remote.startRefreshing();
  }

  onApplicationShutdown(): void {
    this.remote?.stop();
  }

  /**
   * Verifies tokens with the configured and the fetched keys from now on. The configured keys
   * form a set of their own (checked by `resolveKeys`), so a clash is a fetched key's: one with
   * the alg and kid of another, or beyond the keys allowed without a kid. It is left out.
   */
  private install(): void {
    const keys = [...this.configured, ...this.fetched];
    const clashes: string[] = [];
    for (;;) {
      const set = TokenKeySet.of(keys);
      if (set instanceof TokenKeySet) {
        this.verifier.useKeys(set);
        break;
      }
      const left = keys.splice(set.index, 1)[0];
      const kid =
        left.kid === undefined ? 'without a kid' : (describeKid(left.kid) ?? 'with a kid');
      clashes.push(`${left.alg} ${kid}`);
    }
    const report = clashes.join(', ');
    if (report !== '' && report !== this.lastClashes) {
      this.logger.warn(
        `Approov: keys of the JWKS left out, as another key has their alg and kid or their alg has ${MAX_KEYS_WITHOUT_KID} keys without a kid: ${report}`,
      );
    }
    this.lastClashes = report;
  }
}
