import { describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import type { AcceptedSignature } from '../signing/message-verifier.js';
import { ApproovMemoryReplayStore } from './memory-replay-store.js';
import {
  ReplayCheck,
  replayKeyOf,
  replayTtlMs,
  STORE_ERROR_LOG_INTERVAL_MS,
} from './replay-check.js';
import type { ApproovReplayStore } from './replay-store.js';

/** The order of the P-256 group: `(r, n - s)` verifies wherever `(r, s)` does. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The other valid ECDSA signature of the same message: `(r, n - s)`, raw r||s. */
function malleated(signature: Buffer): Buffer {
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return Buffer.concat([signature.subarray(0, 32), twin]);
}

const installKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const MESSAGE = Buffer.from('"@method": POST\n"@signature-params": ("@method");created=1');
const signInstall = (): Buffer =>
  sign('sha256', MESSAGE, { key: installKey.privateKey, dsaEncoding: 'ieee-p1363' });
const verifiesInstall = (signature: Buffer): boolean =>
  verify('sha256', MESSAGE, { key: installKey.publicKey, dsaEncoding: 'ieee-p1363' }, signature);

const accepted = (
  label: 'install' | 'account',
  signature: Buffer,
  validUntilSeconds = 1_000_030,
): AcceptedSignature => ({ label, signature, validUntilSeconds });

/** An account signature: HMAC-SHA256 of a fixed text with a fixed key, so its bytes are known. */
const ACCOUNT_SIGNATURE = createHmac('sha256', Buffer.alloc(32, 7)).update(MESSAGE).digest();

describe('replayKeyOf', () => {
  it('keys an install signature by r alone: its malleated twin (r, n - s) verifies and shares it', () => {
    const signature = signInstall();
    const twin = malleated(signature);
    expect(twin.equals(signature)).toBe(false);
    // Anyone can compute the twin from a captured signature, and it is as valid.
    expect(verifiesInstall(signature)).toBe(true);
    expect(verifiesInstall(twin)).toBe(true);
    const key = replayKeyOf(accepted('install', signature));
    expect(replayKeyOf(accepted('install', twin))).toBe(key);
    expect(key).toBe(`install:${signature.subarray(0, 32).toString('base64url')}`);
    // Another signature of the same message has another r.
    expect(replayKeyOf(accepted('install', signInstall()))).not.toBe(key);
  });

  it('keys an account signature by all its bytes', () => {
    const key = replayKeyOf(accepted('account', ACCOUNT_SIGNATURE));
    expect(key).toBe(`account:${ACCOUNT_SIGNATURE.toString('base64url')}`);
    const lastByteChanged = Buffer.from(ACCOUNT_SIGNATURE);
    lastByteChanged[31] ^= 1;
    expect(replayKeyOf(accepted('account', lastByteChanged))).not.toBe(key);
  });

  it('keeps the labels apart, and holds only the label and the signature bytes', () => {
    const bytes = randomBytes(64);
    const install = replayKeyOf(accepted('install', bytes));
    const account = replayKeyOf(accepted('account', bytes.subarray(0, 32)));
    expect(install.slice('install:'.length)).toBe(account.slice('account:'.length));
    expect(install).not.toBe(account);
    // 32 bytes in base64url: nothing of the request, the token or the time is added.
    for (const key of [install, account, replayKeyOf(accepted('account', ACCOUNT_SIGNATURE))]) {
      expect(key).toMatch(/^(install|account):[A-Za-z0-9_-]{43}$/);
    }
    expect(replayKeyOf(accepted('account', ACCOUNT_SIGNATURE, 5))).toBe(
      replayKeyOf(accepted('account', ACCOUNT_SIGNATURE, 9_999_999_999)),
    );
    expect(replayKeyOf(accepted('account', ACCOUNT_SIGNATURE))).not.toContain('eyJ');
  });
});

describe('replayTtlMs', () => {
  it('lasts until the signature stops passing the time checks, plus a second for clock skew', () => {
    expect(replayTtlMs(accepted('install', ACCOUNT_SIGNATURE, 1_000_030), 1_000_000)).toBe(31_000);
    expect(replayTtlMs(accepted('install', ACCOUNT_SIGNATURE, 1_000_030), 1_000_000.25)).toBe(
      30_750,
    );
    // Rounded up to the millisecond: never shorter than the signature's life.
    expect(replayTtlMs(accepted('install', ACCOUNT_SIGNATURE, 30), 0.0004)).toBe(31_000);
  });

  it('is at least the margin, for a signature at its last valid moment', () => {
    expect(replayTtlMs(accepted('account', ACCOUNT_SIGNATURE, 100), 100)).toBe(1_001);
    expect(replayTtlMs(accepted('account', ACCOUNT_SIGNATURE, 100), 101)).toBe(1_001);
  });
});

/** A store that records its claims and answers from a set, synchronously or not. */
class RecordingStore implements ApproovReplayStore {
  readonly claims: [string, number][] = [];
  private readonly held = new Set<string>();
  constructor(private readonly answer: (first: boolean) => boolean | Promise<boolean>) {}
  claim(key: string, ttlMs: number): boolean | Promise<boolean> {
    this.claims.push([key, ttlMs]);
    const first = !this.held.has(key);
    this.held.add(key);
    return this.answer(first);
  }
}

/** A store that fails each claim, by throwing or rejecting `error`. */
const failingStore = (
  how: 'throws' | 'rejects',
  onStoreError?: 'refuse' | 'allow',
  error: unknown = new Error('connection lost'),
): ApproovReplayStore => ({
  onStoreError,
  claim: () => {
    if (how === 'throws') throw error;
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  },
});

const NOW_SECONDS = 1_000_000;
const noLog = (): void => {};

describe('ReplayCheck with a synchronous store', () => {
  it('answers synchronously: undefined on the first use, replayed_signature after', () => {
    const check = new ReplayCheck(new ApproovMemoryReplayStore(), noLog);
    const signature = [accepted('install', signInstall())];
    const first = check.check(signature, NOW_SECONDS);
    expect(first).not.toBeInstanceOf(Promise);
    expect(first).toBeUndefined();
    expect(check.check(signature, NOW_SECONDS)).toBe('replayed_signature');
    expect(check.check([accepted('install', malleated(signature[0].signature))], NOW_SECONDS)).toBe(
      'replayed_signature',
    );
  });

  it('claims each label with its time to live; a replay if either was claimed before', () => {
    const store = new RecordingStore((first) => first);
    const check = new ReplayCheck(store, noLog);
    const install = accepted('install', signInstall(), NOW_SECONDS + 30);
    const account = accepted('account', ACCOUNT_SIGNATURE, NOW_SECONDS + 15);
    expect(check.check([install, account], NOW_SECONDS)).toBeUndefined();
    expect(store.claims).toEqual([
      [replayKeyOf(install), 31_000],
      [replayKeyOf(account), 16_000],
    ]);
    const otherInstall = accepted('install', signInstall(), NOW_SECONDS + 30);
    expect(check.check([otherInstall, account], NOW_SECONDS)).toBe('replayed_signature');
    const otherAccount = accepted('account', randomBytes(32), NOW_SECONDS + 15);
    expect(check.check([install, otherAccount], NOW_SECONDS)).toBe('replayed_signature');
    const fresh = [accepted('install', signInstall()), accepted('account', randomBytes(32))];
    expect(check.check(fresh, NOW_SECONDS)).toBeUndefined();
  });
});

describe('ReplayCheck with an asynchronous store', () => {
  it('answers with a promise of the same verdicts', async () => {
    const check = new ReplayCheck(new RecordingStore((first) => Promise.resolve(first)), noLog);
    const signature = [accepted('account', ACCOUNT_SIGNATURE)];
    const first = check.check(signature, NOW_SECONDS);
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toBeUndefined();
    await expect(check.check(signature, NOW_SECONDS)).resolves.toBe('replayed_signature');
  });

  it('waits for every label; a replay if either was claimed before', async () => {
    const check = new ReplayCheck(new RecordingStore((first) => Promise.resolve(first)), noLog);
    const install = accepted('install', signInstall());
    const account = accepted('account', ACCOUNT_SIGNATURE);
    await expect(check.check([install, account], NOW_SECONDS)).resolves.toBeUndefined();
    await expect(
      check.check([accepted('install', signInstall()), account], NOW_SECONDS),
    ).resolves.toBe('replayed_signature');
    await expect(
      check.check([install, accepted('account', randomBytes(32))], NOW_SECONDS),
    ).resolves.toBe('replayed_signature');
  });

  it('awaits a promise made in another realm, and takes its answer', async () => {
    // Another realm's promise is not `instanceof Promise` here; it must still be awaited.
    const otherRealm = new RecordingStore(
      (first) => runInNewContext(`Promise.resolve(${first})`) as Promise<boolean>,
    );
    const check = new ReplayCheck(otherRealm, noLog);
    const signature = [accepted('account', ACCOUNT_SIGNATURE)];
    expect(await check.check(signature, NOW_SECONDS)).toBeUndefined();
    expect(await check.check(signature, NOW_SECONDS)).toBe('replayed_signature');
  });
});

describe('ReplayCheck when the store fails', () => {
  it.each([
    ['throws', undefined, 'replay_store_unavailable'],
    ['throws', 'refuse', 'replay_store_unavailable'],
    ['throws', 'allow', 'unchecked'],
    ['rejects', undefined, 'replay_store_unavailable'],
    ['rejects', 'refuse', 'replay_store_unavailable'],
    ['rejects', 'allow', 'unchecked'],
  ] as const)('a store that %s with onStoreError %s: %s', async (how, onStoreError, verdict) => {
    const lines: string[] = [];
    const check = new ReplayCheck(failingStore(how, onStoreError), (line) => lines.push(line));
    const answer = check.check([accepted('account', ACCOUNT_SIGNATURE)], NOW_SECONDS);
    // A store that throws answers at once: the guard stays synchronous.
    expect(answer instanceof Promise).toBe(how === 'rejects');
    expect(await answer).toBe(verdict);
    const outcome = onStoreError === 'allow' ? 'let through unchecked' : 'refused';
    expect(lines).toEqual([
      `Approov replay store failed ("Error: connection lost"): requests that need it are ${outcome} until it answers`,
    ]);
  });

  it('a rejection of one label among two fails the check', async () => {
    const store: ApproovReplayStore = {
      claim: (key) =>
        key.startsWith('account:') ? Promise.reject(new Error('down')) : Promise.resolve(true),
    };
    const check = new ReplayCheck(store, noLog);
    await expect(
      check.check(
        [accepted('install', signInstall()), accepted('account', ACCOUNT_SIGNATURE)],
        NOW_SECONDS,
      ),
    ).resolves.toBe('replay_store_unavailable');
  });

  it('logs at most once per 10 s, with the count of failures it did not log', () => {
    const clock = { ms: 50_000 };
    const lines: string[] = [];
    const check = new ReplayCheck(
      failingStore('throws'),
      (line) => lines.push(line),
      () => clock.ms,
    );
    const fail = (atMs: number) => {
      clock.ms = atMs;
      expect(check.check([accepted('install', signInstall())], NOW_SECONDS)).toBe(
        'replay_store_unavailable',
      );
    };
    expect(STORE_ERROR_LOG_INTERVAL_MS).toBe(10_000);
    fail(50_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('more failures');
    fail(51_000);
    fail(59_999);
    expect(lines).toHaveLength(1);
    fail(60_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/; 2 more failures since the last report$/);
    fail(60_001);
    fail(75_000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/; 1 more failures since the last report$/);
    // Nothing left unlogged: no count.
    fail(90_000);
    expect(lines).toHaveLength(4);
    expect(lines[3]).not.toContain('more failures');
  });

  it('names the error by its name and message, cut short; anything else by its type', () => {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const signature = [accepted('account', ACCOUNT_SIGNATURE)];
    class RedisDown extends Error {
      override name = 'RedisDown';
    }
    for (const error of ['a string', new RedisDown(`x${'y'.repeat(500)}\n"z"`)]) {
      const check = new ReplayCheck(failingStore('throws', 'refuse', error), log);
      expect(check.check(signature, NOW_SECONDS)).toBe('replay_store_unavailable');
    }
    expect(lines[0]).toContain('failed (string):');
    const cut = `RedisDown: x${'y'.repeat(500)}`.slice(0, 160);
    expect(lines[1]).toContain(`failed (${JSON.stringify(cut)}):`);
    expect(lines[1]).not.toContain('"z"');
  });

  it('never logs the key it tried to claim', async () => {
    const lines: string[] = [];
    const signature = accepted('install', signInstall());
    const key = replayKeyOf(signature);
    for (const how of ['throws', 'rejects'] as const) {
      const check = new ReplayCheck(failingStore(how), (line) => lines.push(line));
      await check.check([signature], NOW_SECONDS);
    }
    expect(lines).toHaveLength(2);
    const logged = lines.join('\n');
    expect(logged).not.toContain(key);
    expect(logged).not.toContain(key.slice('install:'.length));
    expect(logged).not.toContain(signature.signature.toString('base64'));
  });

  it('a full memory store refuses, and logs why without the key', () => {
    const lines: string[] = [];
    const store = new ApproovMemoryReplayStore({ maxEntries: 1 });
    const check = new ReplayCheck(store, (line) => lines.push(line));
    expect(check.check([accepted('account', ACCOUNT_SIGNATURE)], NOW_SECONDS)).toBeUndefined();
    const next = accepted('install', signInstall());
    expect(check.check([next], NOW_SECONDS)).toBe('replay_store_unavailable');
    expect(lines).toEqual([
      'Approov replay store failed ("ApproovReplayStoreFullError: the in-memory replay store is full (1 entries) until its entries expire"): requests that need it are refused until it answers',
    ]);
    expect(lines[0]).not.toContain(replayKeyOf(next).slice('install:'.length));
  });
});
