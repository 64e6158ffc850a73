/** How often the failures that were not written are summed up in a line. */
export const SUMMARY_INTERVAL_MS = 10_000;

/**
 * Writes failure lines at most `rate` a second, so that a flood of refused requests cannot drown
 * the logs: beyond that, failures are counted by reason, and one summary line per interval says
 * how many were left out. One timer per interval that left lines out (never one per request),
 * unref'd so that it never keeps the process alive.
 */
export class FailureLog {
  private windowStartedAt = -Infinity;
  private writtenInWindow = 0;
  /** Failures left out since the last summary, by reason, in the order first met. */
  private readonly leftOut = new Map<string, number>();
  private leftOutTotal = 0;
  private leftOutSince = 0;
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly rate: number,
    private readonly write: (line: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Writes the line `lineOf()` makes, or counts the failure under `reason` when over the rate. */
  failure(reason: string, lineOf: () => string): void {
    if (this.rate !== Infinity) {
      const now = this.now();
      if (now - this.windowStartedAt >= 1000) {
        this.windowStartedAt = now;
        this.writtenInWindow = 0;
      }
      if (this.writtenInWindow >= this.rate) {
        this.leaveOut(reason, now);
        return;
      }
      this.writtenInWindow += 1;
    }
    this.write(lineOf());
  }

  /** Writes the summary of the failures left out since the last one, if any. */
  flush(): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    if (this.leftOutTotal === 0) return;
    const seconds = Math.max(1, Math.round((this.now() - this.leftOutSince) / 1000));
    const counts = [...this.leftOut]
      .sort(([, a], [, b]) => b - a)
      .map(([reason, count]) => `${reason} ${count.toLocaleString('en-US')}`)
      .join(', ');
    this.write(
      `Approov: ${this.leftOutTotal.toLocaleString('en-US')} more failures in the last ` +
        `${seconds} s: ${counts}`,
    );
    this.leftOut.clear();
    this.leftOutTotal = 0;
  }

  private leaveOut(reason: string, now: number): void {
    this.leftOut.set(reason, (this.leftOut.get(reason) ?? 0) + 1);
    this.leftOutTotal += 1;
    if (this.summaryTimer === undefined) {
      this.leftOutSince = now;
      this.summaryTimer = setTimeout(() => this.flush(), SUMMARY_INTERVAL_MS);
      this.summaryTimer.unref();
    }
  }
}
