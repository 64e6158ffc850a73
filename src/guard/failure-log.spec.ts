import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { FailureLog, SUMMARY_INTERVAL_MS } from './failure-log.js';

/** A log on a clock the test moves, keeping what it writes. */
function logOf(rate: number) {
  const clock = { ms: 5_000 };
  const lines: string[] = [];
  const log = new FailureLog(
    rate,
    (line) => lines.push(line),
    () => clock.ms,
  );
  const fail = (reason: string, times = 1) => {
    for (let i = 0; i < times; i++) log.failure(reason, () => `rejected: ${reason}`);
  };
  return { log, lines, clock, fail };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('FailureLog', () => {
  it('writes at most rate lines a second, and counts the others by reason', () => {
    const { log, lines, clock, fail } = logOf(3);
    fail('bad_signature', 5);
    fail('expired', 2);
    expect(lines).toEqual(Array(3).fill('rejected: bad_signature'));
    clock.ms += 999;
    fail('expired');
    expect(lines).toHaveLength(3);
    clock.ms += 1;
    fail('expired', 4);
    expect(lines.slice(3)).toEqual(Array(3).fill('rejected: expired'));
    clock.ms += 9_000;
    log.flush();
    expect(lines.slice(6)).toEqual([
      'Approov: 6 more failures in the last 10 s: expired 4, bad_signature 2',
    ]);
    log.flush();
    expect(lines).toHaveLength(7);
  });

  it('makes no line it does not write', () => {
    const log = new FailureLog(
      1,
      () => {},
      () => 0,
    );
    const lineOf = jest.fn(() => 'line');
    log.failure('expired', lineOf);
    log.failure('expired', lineOf);
    log.failure('expired', lineOf);
    expect(lineOf).toHaveBeenCalledTimes(1);
    log.flush();
  });

  it('writes counts with thousands separators, the largest first', () => {
    const { log, lines, fail } = logOf(0);
    fail('expired', 210);
    fail('bad_signature', 48_000);
    log.flush();
    expect(lines).toEqual([
      'Approov: 48,210 more failures in the last 1 s: bad_signature 48,000, expired 210',
    ]);
  });

  it('writes every line with Infinity, and nothing to sum up', () => {
    const { log, lines, fail } = logOf(Infinity);
    fail('bad_signature', 10_000);
    log.flush();
    expect(lines).toHaveLength(10_000);
  });

  it('sums up after an interval by one unref’d timer, never one per failure', () => {
    jest.useFakeTimers();
    const { lines, fail } = logOf(1);
    const timers = jest.spyOn(globalThis, 'setTimeout');
    fail('bad_signature', 1_000);
    expect(timers).toHaveBeenCalledTimes(1);
    const timer = timers.mock.results[0].value as ReturnType<typeof setTimeout>;
    expect(timer.hasRef()).toBe(false);
    jest.advanceTimersByTime(SUMMARY_INTERVAL_MS - 1);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines).toEqual([
      'rejected: bad_signature',
      expect.stringMatching(/^Approov: 999 more failures in the last \d+ s: bad_signature 999$/),
    ]);
    // A quiet spell arms nothing.
    jest.advanceTimersByTime(10 * SUMMARY_INTERVAL_MS);
    expect(timers).toHaveBeenCalledTimes(1);
  });
});
