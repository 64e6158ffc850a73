/** Failures of the replay check, on routes that accept each signature once. */
export const REPLAY_FAILURES = ['replayed_signature', 'replay_store_unavailable'] as const;

/** Why the replay check refused a request; described in `ApproovFailureReason`. */
export type ReplayFailure = (typeof REPLAY_FAILURES)[number];
