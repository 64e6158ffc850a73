import { types } from 'node:util';
import type { JSONWebKeySet, RemoteJWKSet } from 'jose';
import { isJwsAlgorithm, type JwsAlgorithm } from '../token/algorithms.js';
import {
  describeKid,
  parseVerificationKey,
  type VerificationKey,
} from '../token/verification-key.js';

/** Where a key set is fetched from and how: checked at startup by the module. */
export interface JwksSettings {
  /** https, or http on loopback only. */
  readonly url: URL;
  /** For the whole fetch, body included. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly refreshIntervalMs: number;
  /** The least time between two refreshes caused by unknown kids. */
  readonly cooldownMs: number;
}

/** What a remote key set tells its owner. */
export interface RemoteKeySetListener {
  /** The keys of a document just fetched, each parsed and checked like a configured key. */
  keys(keys: readonly VerificationKey[]): void;
  /** Something the operator should know: a failed fetch, a key left out. Never key material. */
  problem(message: string): void;
}

/** Keys read from one document at most: a key set holds a few. */
const MAX_KEYS = 100;

/** The algorithm of a JWK without `alg` whose curve leaves only one. */
const CURVE_ALGORITHMS: Readonly<Record<string, JwsAlgorithm>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  Ed25519: 'EdDSA',
  Ed448: 'EdDSA',
};

/**
 * A JSON Web Key Set at a URL, fetched with `jose`'s remote key set (timeout, status and shape
 * checks, one fetch in flight at a time) through a fetch that caps the size of the document.
 * `jose` is an ES module only: it is loaded when a key set is configured, never otherwise, so the
 * CommonJS build loads without it.
 *
 * The keys of each good document go to the listener; a failed fetch keeps the last good keys.
 * Refreshes run in the background on an unref'd timer, and at once when a token names an unknown
 * kid, at most once per cooldown whatever the outcome.
 */
export class RemoteKeySet {
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private pending: Promise<string | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastProblems = '';

  private constructor(
    private readonly settings: JwksSettings,
    private readonly remote: RemoteJWKSet,
    private readonly listener: RemoteKeySetListener,
    private readonly now: () => number,
  ) {}

  /** Loads `jose` and prepares the key set; nothing is fetched yet. */
  static async open(
    settings: JwksSettings,
    listener: RemoteKeySetListener,
    now: () => number = () => Date.now(),
  ): Promise<RemoteKeySet> {
    const jose = await import('jose');
    const remote = jose.createRemoteJWKSet(settings.url, {
      timeoutDuration: settings.timeoutMs,
      // The cooldown and the cache age are this class's: jose's resolver is only used to fetch.
      cooldownDuration: 0,
      cacheMaxAge: Number.POSITIVE_INFINITY,
      headers: { accept: 'application/jwk-set+json, application/json' },
      [jose.customFetch]: cappedFetch(settings.maxBytes),
    });
    return new RemoteKeySet(settings, remote, listener, now);
  }

  /**
   * Fetches the document now (or joins the fetch in flight). Resolves to `undefined` when its
   * keys were delivered, or to why the fetch failed; never rejects.
   */
  refresh(): Promise<string | undefined> {
    this.lastRefresh = this.now();
    this.pending ??= this.fetchKeys().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /**
   * A refresh for a token whose kid is unknown: the one in flight, a new one when the last began
   * at least a cooldown ago, or `undefined` (cooling down: the token is refused as is).
   */
  refreshForUnknownKey(): Promise<string | undefined> | undefined {
    if (this.pending !== undefined) return this.pending;
    if (this.now() - this.lastRefresh < this.settings.cooldownMs) return undefined;
    return this.refresh();
  }

  /** Refreshes every `refreshIntervalMs`, on a timer that does not keep the process alive. */
  startRefreshing(): void {
    this.timer ??= setInterval(() => void this.refresh(), this.settings.refreshIntervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async fetchKeys(): Promise<string | undefined> {
    try {
      await this.remote.reload();
    } catch (error) {
      const reason = reasonOf(error);
      this.listener.problem(
        `Approov: fetching the JWKS failed (${reason}); the last good keys stay in use`,
      );
      return reason;
    }
    const problems: string[] = [];
    const keys = keysOf(this.remote.jwks()!, problems);
    const report = problems.join('; ');
    if (report !== this.lastProblems && report !== '') {
      this.listener.problem(`Approov: keys of the JWKS left out: ${report}`);
    }
    this.lastProblems = report;
    if (keys.length === 0) {
      // An empty or unusable document is a failed fetch: it must not wipe out the good keys.
      const reason = 'no usable key in the document';
      this.listener.problem(
        `Approov: fetching the JWKS failed (${reason}); the last good keys stay in use`,
      );
      return reason;
    }
    this.listener.keys(keys);
    return undefined;
  }
}

/**
 * The verification keys of a key set document. Each JWK needs an algorithm: its `alg`, or the
 * only one its curve allows. Secrets (`kty: "oct"`) are never taken from a URL. A key that is
 * not fit (private, too short, for encryption) is left out, and `problems` says why.
 */
export function keysOf(jwks: JSONWebKeySet, problems: string[]): VerificationKey[] {
  const keys: VerificationKey[] = [];
  for (const [index, jwk] of jwks.keys.slice(0, MAX_KEYS).entries()) {
    const kid = describeKid(jwk.kid);
    const name = kid === undefined ? `key ${index}` : `key ${index} (${kid})`;
    if (jwk.kty === 'oct') {
      problems.push(`${name} is a secret, which is never taken from a URL`);
      continue;
    }
    const alg = jwk.alg ?? CURVE_ALGORITHMS[jwk.crv ?? ''];
    if (!isJwsAlgorithm(alg) || alg.startsWith('HS')) {
      problems.push(`${name} has no "alg" of a signature algorithm this library verifies`);
      continue;
    }
    const key = parseVerificationKey({ alg, key: jwk });
    if (typeof key === 'string') problems.push(`${name} ${key}`);
    else keys.push(key);
  }
  if (jwks.keys.length > MAX_KEYS) problems.push(`keys after the first ${MAX_KEYS}`);
  return keys;
}

/** A fetch that refuses a body larger than `maxBytes`, declared or streamed. */
function cappedFetch(maxBytes: number) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    if (response.status !== 200) {
      // jose refuses it before reading a body: an error page is not read at all.
      await response.body?.cancel();
      return response;
    }
    const tooLarge = new RangeError(`the document is larger than ${maxBytes} bytes`);
    if (Number(response.headers.get('content-length')) > maxBytes) {
      await response.body?.cancel();
      throw tooLarge;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    // Node's web streams are async iterable; the DOM typings do not say so.
    const body = (response.body ?? []) as unknown as AsyncIterable<Uint8Array>;
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge;
      chunks.push(chunk);
    }
    return new Response(Buffer.concat(chunks), {
      status: response.status,
      headers: response.headers,
    });
  };
}

/** A failed fetch, in words that quote nothing the server sent. */
function reasonOf(thrown: unknown): string {
  // fetch's errors may come from another realm (under jest, for one): not `instanceof Error`.
  if (!(thrown instanceof Error) && !types.isNativeError(thrown)) return 'unknown error';
  const error = thrown;
  switch (error.name) {
    case 'JWKSTimeout':
    case 'TimeoutError':
    case 'AbortError':
      return 'timed out';
    case 'JWKSInvalid':
      return 'not a JSON Web Key Set';
    case 'RangeError':
      return error.message;
    case 'JOSEError':
      return error.message.startsWith('Expected 200') ? 'the response was not 200 OK' : 'not JSON';
    default:
      return 'could not connect';
  }
}
