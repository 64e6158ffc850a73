import type { ApproovMode } from './decorators.js';
import type { ApproovFailureReason } from './reasons.js';

/** Where a request came from. */
export type ApproovTransport = 'http' | 'graphql' | 'ws' | 'rpc';

/**
 * One decision of `ApproovGuard`, as the `onResult` option receives it. It never holds the
 * token, the secret or binding values.
 */
export interface ApproovResultEvent {
  /**
   * `accepted`: every check passed. `rejected`: refused. `monitored`: failed, but let through by
   * monitor mode.
   */
  readonly outcome: 'accepted' | 'rejected' | 'monitored';
  /** Why the request failed; absent when accepted. */
  readonly reason?: ApproovFailureReason;
  /** The mode in force on the route. */
  readonly mode: ApproovMode;
  readonly transport: ApproovTransport;
  /** The HTTP method; `WS` for a WebSocket message, `RPC` for a microservice message. */
  readonly method: string;
  /**
   * The route as declared, not the URL: `/orders/:id`, `Query.orders` for GraphQL, the message
   * pattern for WebSockets.
   */
  readonly route: string;
  /**
   * How long the check took, in milliseconds (fractional): from the guard's call to its decision,
   * including any wait for the replay store or a key set refresh.
   */
  readonly durationMs: number;
  /** The token's device id, when its signature was valid. */
  readonly did?: string;
  /** The token's attestation response code, when its signature was valid. */
  readonly arc?: string;
  /** The client's `Approov-Status` header, as sent (the client controls it). */
  readonly approovStatus?: string;
  /** The client's `Approov-TraceID` header, as sent (the client controls it). */
  readonly traceId?: string;
  /**
   * `true` on a request accepted without its replay check: the replay store failed and its
   * `onStoreError` is `'allow'`.
   */
  readonly replayUnchecked?: true;
}
