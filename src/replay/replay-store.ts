/**
 * Where the guard remembers the message signatures it accepted on routes that refuse replays.
 * `ApproovMemoryReplayStore` serves one instance; `ApproovRedisReplayStore`
 * (`nestjs-approov/redis`) serves every instance that shares a Redis. Any object with this
 * shape can take their place.
 */
export interface ApproovReplayStore {
  /**
   * Records `key` for `ttlMs` milliseconds unless it is recorded already: `true` when this call
   * recorded it (the signature's first use), `false` when it was there (a replay). It must be
   * atomic across every instance sharing the store: of two concurrent claims of one key, one
   * gets `true`. Throws, or rejects, when it cannot tell: see `onStoreError`. A store that answers
   * synchronously keeps the guard synchronous.
   */
  claim(key: string, ttlMs: number): boolean | Promise<boolean>;
  /**
   * What the guard does with a request whose claim failed: `'refuse'` it
   * (`replay_store_unavailable`), or `'allow'` it unchecked, reported to `onResult` with
   * `replayUnchecked: true`. Either way the failure is logged at most once per 10 seconds.
   * @default 'refuse'
   */
  readonly onStoreError?: 'refuse' | 'allow';
  /**
   * Resolves when the store can take claims, rejects with the reason when it cannot: for
   * readiness probes (`ApproovHealthIndicator`). A store without it is taken as up.
   */
  ping?(): Promise<void>;
}

/**
 * What a store's failure says, for a log line or a health report: the error's name and message,
 * cut short (a store's message is its client's to write), or only the type of a thrown non-error.
 */
export function describeStoreError(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  return `${error.name}: ${error.message}`.slice(0, 160);
}

/** Whether `value` has the shape of a replay store. */
export function isReplayStore(value: unknown): value is ApproovReplayStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<ApproovReplayStore>).claim === 'function'
  );
}
