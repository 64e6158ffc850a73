import type { AcceptedSignature } from '../signing/message-verifier.js';
import type { ReplayFailure } from './replay-failure.js';
import { type ApproovReplayStore, describeStoreError } from './replay-store.js';

/**
 * What the replay check says of a request: `undefined` when each of its signatures was used for
 * the first time, the failure otherwise, or `'unchecked'` when the store failed and lets such
 * requests through.
 */
export type ReplayVerdict = ReplayFailure | 'unchecked' | undefined;

/** How often, at most, a failing store is logged. */
export const STORE_ERROR_LOG_INTERVAL_MS = 10_000;
/** Kept past a signature's last valid moment, for instances whose clocks differ a little. */
const CLOCK_MARGIN_MS = 1000;
/** The bytes of an ECDSA P-256 signature's `r`, the first half of raw `r||s`. */
const ECDSA_R_BYTES = 32;

/**
 * The key a signature is remembered by: its label and its bytes, or for an `install` signature
 * the bytes of `r`. An ECDSA signature `(r, s)` has a twin `(r, n - s)` that verifies as well,
 * which anyone can compute from it; both share `r`, and two honest signatures never do (the
 * signing key would leak). Nothing else of the request, the token or the device goes into it.
 */
export function replayKeyOf({ label, signature }: AcceptedSignature): string {
  const bytes = label === 'install' ? signature.subarray(0, ECDSA_R_BYTES) : signature;
  return `${label}:${bytes.toString('base64url')}`;
}

/** How long to remember a signature: until it could no longer pass the time checks. */
export function replayTtlMs({ validUntilSeconds }: AcceptedSignature, nowSeconds: number): number {
  return Math.max(1, Math.ceil((validUntilSeconds - nowSeconds) * 1000)) + CLOCK_MARGIN_MS;
}

/**
 * Claims a request's accepted signatures in a replay store, and logs the store's failures at most
 * once per `STORE_ERROR_LOG_INTERVAL_MS`, with the count of those it did not log.
 */
export class ReplayCheck {
  private lastLoggedAt = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly store: ApproovReplayStore,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims every signature in `accepted` (each label's): a replay if any was claimed before.
   * Synchronous when the store answers synchronously. `claimed`, for a connection's handshake,
   * holds the claims this connection made: a key in it is not claimed again (every message route
   * of the connection checks the same handshake), and its first answer stands.
   */
  check(
    accepted: readonly AcceptedSignature[],
    nowSeconds: number,
    claimed?: Map<string, boolean | Promise<boolean>>,
  ): ReplayVerdict | Promise<ReplayVerdict> {
    const claims: unknown[] = [];
    try {
      for (const signature of accepted) {
        const key = replayKeyOf(signature);
        let claim = claimed?.get(key);
        if (claim === undefined) {
          claim = this.store.claim(key, replayTtlMs(signature, nowSeconds));
          claimed?.set(key, claim);
        }
        claims.push(claim);
      }
    } catch (error) {
      return this.failed(error);
    }
    // Only `true` is a first use: anything else a store returns counts as a replay.
    if (claims.every((claim) => typeof claim === 'boolean')) {
      return claims.every((first) => first === true) ? undefined : 'replayed_signature';
    }
    return Promise.all(claims).then(
      (firsts) => (firsts.every((first) => first === true) ? undefined : 'replayed_signature'),
      (error: unknown) => this.failed(error),
    );
  }

  private failed(error: unknown): ReplayVerdict {
    const allow = this.store.onStoreError === 'allow';
    const now = this.now();
    if (now - this.lastLoggedAt < STORE_ERROR_LOG_INTERVAL_MS) {
      this.unlogged += 1;
    } else {
      const unlogged =
        this.unlogged > 0 ? `; ${this.unlogged} more failures since the last report` : '';
      // An error's words are quoted (the client wrote them); a bare type needs no quotes.
      const said = describeStoreError(error);
      this.log(
        `Approov replay store failed (${error instanceof Error ? JSON.stringify(said) : said}): ` +
          'requests that need it are ' +
          `${allow ? 'let through unchecked' : 'refused'} until it answers${unlogged}`,
      );
      this.lastLoggedAt = now;
      this.unlogged = 0;
    }
    return allow ? 'unchecked' : 'replay_store_unavailable';
  }
}
