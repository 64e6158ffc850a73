import { ApproovConfigError } from '../module/config-error.js';
import type { ApproovReplayStore } from './replay-store.js';

/**
 * What the store needs of an `ioredis` client: a `Redis` or a `Cluster` (Valkey speaks the same
 * commands). The app creates, configures and closes it; the store only sends commands on it.
 */
export interface ApproovRedisClient {
  set(key: string, value: string, ttlUnit: 'PX', ttlMs: number, mode: 'NX'): Promise<unknown>;
  ping(): Promise<unknown>;
  /** ioredis's connection state: commands are sent only while it is `ready` (or `wait`). */
  readonly status?: string;
}

/** Options of `ApproovRedisReplayStore`. */
export interface ApproovRedisReplayStoreOptions {
  /**
   * Put before every key, to keep Approov's keys apart from the app's own in a shared Redis.
   * @default 'approov:replay:'
   */
  keyPrefix?: string;
  /**
   * How long a claim (and a `ping()`) may take, in milliseconds, before it counts as failed:
   * requests on replay-checked routes never wait longer than this for Redis.
   * @default 50
   */
  timeoutMs?: number;
  /**
   * What a failed claim (Redis down, slow or answering an error) does to the request: `'refuse'`
   * it (`replay_store_unavailable`), or `'allow'` it without the replay check. Either way the
   * failure is logged at most once per 10 s and reported to `onResult`.
   * @default 'refuse'
   */
  onStoreError?: 'refuse' | 'allow';
}

/** The states of an ioredis client in which a command is sent at once (or connects it). */
const SENDING_STATES = new Set(['ready', 'wait']);
const MAX_TIMEOUT_MS = 10_000;

/** Thrown by a claim that Redis did not answer in time, or that the client could not send. */
export class ApproovRedisUnavailableError extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'ApproovRedisUnavailableError';
  }
}

/**
 * A replay store in Redis, shared by every instance of the API that uses the same Redis: each
 * claim is one atomic `SET key 1 NX PX ttl`, so of two instances claiming one signature at once,
 * one wins. Takes the app's own ioredis client and never opens a connection of its own; a client
 * that reconnects after Redis comes back is used again without a restart.
 *
 * A claim that times out may still reach Redis later: that signature is then used up, although
 * its request was refused (or let through, with `onStoreError: 'allow'`).
 */
export class ApproovRedisReplayStore implements ApproovReplayStore {
  readonly onStoreError: 'refuse' | 'allow';
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly client: ApproovRedisClient,
    {
      keyPrefix = 'approov:replay:',
      timeoutMs = 50,
      onStoreError = 'refuse',
    }: ApproovRedisReplayStoreOptions = {},
  ) {
    const where = 'ApproovRedisReplayStore';
    if (
      typeof client !== 'object' ||
      client === null ||
      typeof client.set !== 'function' ||
      typeof client.ping !== 'function'
    ) {
      throw new ApproovConfigError(
        where,
        'needs an ioredis client',
        "Pass the app's own Redis or Cluster instance: new ApproovRedisReplayStore(redis).",
      );
    }
    if (typeof keyPrefix !== 'string') {
      throw new ApproovConfigError(
        `${where}.keyPrefix`,
        'must be text',
        'For example "myapi:approov:".',
      );
    }
    if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new ApproovConfigError(
        `${where}.timeoutMs`,
        `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`,
        'Leave it out for 50 ms: a request on a replay-checked route waits at most this long.',
      );
    }
    if (onStoreError !== 'refuse' && onStoreError !== 'allow') {
      throw new ApproovConfigError(
        `${where}.onStoreError`,
        'must be "refuse" or "allow"',
        'Leave it out to refuse requests while Redis cannot be reached.',
      );
    }
    this.keyPrefix = keyPrefix;
    this.timeoutMs = timeoutMs;
    this.onStoreError = onStoreError;
  }

  claim(key: string, ttlMs: number): Promise<boolean> {
    return this.send(() => this.client.set(`${this.keyPrefix}${key}`, '1', 'PX', ttlMs, 'NX')).then(
      (reply) => reply === 'OK',
    );
  }

  /** Resolves when Redis answers a PING within the timeout. */
  ping(): Promise<void> {
    return this.send(() => this.client.ping()).then(() => undefined);
  }

  /** Sends a command unless the client is not connected, and waits for it up to the timeout. */
  private send(command: () => Promise<unknown>): Promise<unknown> {
    const { status } = this.client;
    if (status !== undefined && !SENDING_STATES.has(status)) {
      // A command would wait in the client's offline queue: the request should not.
      return Promise.reject(new ApproovRedisUnavailableError(`the Redis client is ${status}`));
    }
    return new Promise((resolve, reject) => {
      // The reply may be read but not yet handled when the event loop is busy: the timeout takes
      // effect after the loop's next I/O phase, so that only Redis's silence counts. (A promise
      // settles once: whichever comes first decides.)
      const timer = setTimeout(
        () =>
          setImmediate(() =>
            reject(
              new ApproovRedisUnavailableError(`Redis did not answer in ${this.timeoutMs} ms`),
            ),
          ),
        this.timeoutMs,
      );
      command().then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}
