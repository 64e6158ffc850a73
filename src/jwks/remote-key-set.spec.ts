import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import {
  COULD_NOT_CONNECT,
  FAILED_FETCHES,
  type FailedFetch,
  fakeIntervalTimers,
  type JwksAnswer,
  jwksOf,
  JwksServer,
  NOT_200_OK,
  servedKey,
} from '../../test/support/jwks-server.js';
import type { VerificationKey } from '../token/verification-key.js';
import { type JwksSettings, keysOf, RemoteKeySet } from './remote-key-set.js';

const ES = servedKey('ES256', 'es-1');
const RS = servedKey('RS256', 'rs-1');

/** What a key set told its listener. */
class Recorder {
  readonly deliveries: (readonly VerificationKey[])[] = [];
  readonly problems: string[] = [];
  readonly listener = {
    keys: (keys: readonly VerificationKey[]) => void this.deliveries.push(keys),
    problem: (message: string) => void this.problems.push(message),
  };
  /** The kid and alg of each key of the last delivery. */
  get lastKeys(): { kid: string | undefined; alg: string }[] | undefined {
    return this.deliveries.at(-1)?.map(({ kid, alg }) => ({ kid, alg }));
  }
}

/** No key material of the served keys, nor a token, in `text`. */
function expectNoKeyMaterial(text: string): void {
  for (const value of [ES.jwk.x, ES.jwk.y, RS.jwk.n]) expect(text).not.toContain(value);
  expect(text).not.toContain('eyJ');
}

let server: JwksServer;
let recorder: Recorder;
/** The key set's clock, in milliseconds. */
let now: number;

const settingsOf = (overrides: Partial<JwksSettings> = {}): JwksSettings => ({
  url: new URL(server.url),
  // Long enough for any document on a busy machine; the timeout tests shorten it.
  timeoutMs: 5000,
  maxBytes: 65_536,
  refreshIntervalMs: 300_000,
  cooldownMs: 30_000,
  ...overrides,
});

const open = (overrides: Partial<JwksSettings> = {}) =>
  RemoteKeySet.open(settingsOf(overrides), recorder.listener, () => now);

beforeEach(async () => {
  server = await JwksServer.start(jwksOf(ES, RS));
  recorder = new Recorder();
  now = Date.UTC(2026, 0, 1);
});

afterEach(async () => {
  jest.useRealTimers();
  jest.restoreAllMocks();
  await server.close();
});

/** The warning of a failed fetch. */
const fetchFailed = (reason: string) =>
  `Approov: fetching the JWKS failed (${reason}); the last good keys stay in use`;

/** A secret, which a key set document must not serve. */
const SECRET_JWK = {
  kty: 'oct',
  kid: 'hmac',
  alg: 'HS256',
  k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
};

describe('RemoteKeySet against a JWKS server on loopback', () => {
  it('fetches nothing when opened, then delivers the keys of the document on refresh', async () => {
    const keySet = await open();
    expect(server.requests).toBe(0);
    await expect(keySet.refresh()).resolves.toBeUndefined();
    expect(server.requests).toBe(1);
    expect(recorder.lastKeys).toEqual([
      { kid: 'es-1', alg: 'ES256' },
      { kid: 'rs-1', alg: 'RS256' },
    ]);
    expect(recorder.problems).toEqual([]);
  });

  it('joins the fetch in flight: refreshes at once cost one request', async () => {
    const keySet = await open();
    const refreshes = [keySet.refresh(), keySet.refresh(), keySet.refreshForUnknownKey()];
    expect(refreshes[1]).toBe(refreshes[0]);
    expect(refreshes[2]).toBe(refreshes[0]);
    await refreshes[0];
    expect(server.requests).toBe(1);
    expect(recorder.deliveries).toHaveLength(1);
  });

  it('delivers each new document: keys added and removed', async () => {
    const keySet = await open();
    await keySet.refresh();
    const added = servedKey('ES256', 'es-2');
    server.serve(jwksOf(ES, RS, added));
    await keySet.refresh();
    expect(recorder.lastKeys?.map((key) => key.kid)).toEqual(['es-1', 'rs-1', 'es-2']);
    server.serve(jwksOf(added));
    await keySet.refresh();
    expect(recorder.lastKeys?.map((key) => key.kid)).toEqual(['es-2']);
  });

  it.each<FailedFetch>([
    ...FAILED_FETCHES,
    ['the status is 500', { kind: 'status', status: 500 }, NOT_200_OK],
    ['the status is 404', { kind: 'status', status: 404 }, NOT_200_OK],
    ['the server redirects', { kind: 'status', status: 302 }, NOT_200_OK],
    ['keys is not a list', { kind: 'text', body: '{"keys":{}}' }, 'not a JSON Web Key Set'],
    ['a key is not an object', { kind: 'text', body: '{"keys":[1]}' }, 'not a JSON Web Key Set'],
  ])(
    'resolves to why a refresh failed when %s, and delivers nothing',
    async (_, answer, reason) => {
      const keySet = await open();
      if (answer === 'down') await server.down();
      else server.answerWith(answer);
      await expect(keySet.refresh()).resolves.toBe(reason);
      expect(recorder.deliveries).toEqual([]);
      expect(recorder.problems).toEqual([fetchFailed(reason)]);
    },
  );

  it.each([true, false])(
    'takes a document of exactly maxBytes and refuses one byte more (length declared: %s)',
    async (declared) => {
      server.answerWith({ kind: 'oversized', bytes: 2000, declared });
      const size = Buffer.byteLength(
        JSON.stringify({ ...jwksOf(ES, RS), padding: 'x'.repeat(2000) }),
      );
      await expect((await open({ maxBytes: size })).refresh()).resolves.toBeUndefined();
      await expect((await open({ maxBytes: size - 1 })).refresh()).resolves.toBe(
        `the document is larger than ${size - 1} bytes`,
      );
      expect(recorder.deliveries).toHaveLength(1);
    },
  );

  it('recovers when the server comes back', async () => {
    const keySet = await open();
    await server.down();
    await expect(keySet.refresh()).resolves.toBe(COULD_NOT_CONNECT);
    await server.up();
    await expect(keySet.refresh()).resolves.toBeUndefined();
    expect(recorder.lastKeys).toHaveLength(2);
  });

  it.each<[string, JwksAnswer]>([
    ['the server does not answer', { kind: 'held' }],
    ['the body does not end', { kind: 'stalled' }],
  ])('gives up after timeoutMs when %s, without waiting for the server', async (_, answer) => {
    const keySet = await open({ timeoutMs: 200 });
    server.answerWith(answer);
    const started = performance.now();
    await expect(keySet.refresh()).resolves.toBe('timed out');
    const elapsed = performance.now() - started;
    // The server still holds its answer: the refresh ended on its own clock.
    expect(server.heldCount).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2000);
    expect(recorder.deliveries).toEqual([]);
    expect(recorder.problems).toEqual([fetchFailed('timed out')]);
  });

  it('reports the keys a document leaves out once, and again only when the report changes', async () => {
    const keySet = await open();
    const secret = SECRET_JWK;
    server.serve({ keys: [ES.jwk, secret] });
    await keySet.refresh();
    await keySet.refresh();
    expect(recorder.problems).toEqual([
      'Approov: keys of the JWKS left out: key 1 (kid "hmac") is a secret, which is never taken from a URL',
    ]);
    server.serve(jwksOf(ES));
    await keySet.refresh();
    server.serve({ keys: [ES.jwk, secret] });
    await keySet.refresh();
    expect(recorder.problems).toHaveLength(2);
    expect(recorder.deliveries.map((keys) => keys.length)).toEqual([1, 1, 1, 1]);
  });
});

describe('RemoteKeySet: a document without a usable key', () => {
  it.each<[string, object, string[]]>([
    ['has no key', { keys: [] }, []],
    [
      'has only keys left out',
      { keys: [SECRET_JWK, { ...ES.jwk, use: 'enc' }] },
      [
        'Approov: keys of the JWKS left out: ' +
          'key 0 (kid "hmac") is a secret, which is never taken from a URL; ' +
          'key 1 (kid "es-1") is a JWK whose "use" is not "sig"',
      ],
    ],
  ])(
    'is a failed fetch when it %s: the last good keys stay, each failure is said',
    async (_, document, leftOut) => {
      const keySet = await open();
      await keySet.refresh();
      server.serve(document);
      await expect(keySet.refresh()).resolves.toBe('no usable key in the document');
      await expect(keySet.refresh()).resolves.toBe('no usable key in the document');
      expect(recorder.deliveries).toHaveLength(1);
      expect(recorder.lastKeys).toEqual([
        { kid: 'es-1', alg: 'ES256' },
        { kid: 'rs-1', alg: 'RS256' },
      ]);
      // The left-out keys once, as any report; the failure on each fetch.
      expect(recorder.problems).toEqual([
        ...leftOut,
        fetchFailed('no usable key in the document'),
        fetchFailed('no usable key in the document'),
      ]);
      server.serve(jwksOf(RS));
      await expect(keySet.refresh()).resolves.toBeUndefined();
      expect(recorder.lastKeys).toEqual([{ kid: 'rs-1', alg: 'RS256' }]);
    },
  );

  it('is a failed fetch on the first refresh too: nothing is delivered', async () => {
    server.serve({ keys: [] });
    await expect((await open()).refresh()).resolves.toBe('no usable key in the document');
    expect(recorder.deliveries).toEqual([]);
    expect(recorder.problems).toEqual([fetchFailed('no usable key in the document')]);
  });
});

describe('RemoteKeySet.refreshForUnknownKey', () => {
  it('refreshes at most once per cooldown, counted from the start of the last refresh', async () => {
    const keySet = await open({ cooldownMs: 30_000 });
    await keySet.refreshForUnknownKey();
    expect(server.requests).toBe(1);
    now += 29_999;
    for (let i = 0; i < 1000; i++) expect(keySet.refreshForUnknownKey()).toBeUndefined();
    expect(server.requests).toBe(1);
    now += 1;
    await expect(keySet.refreshForUnknownKey()).resolves.toBeUndefined();
    expect(server.requests).toBe(2);
  });

  it('reads Date.now by default each time it needs the time: a spy installed later moves it', async () => {
    const keySet = await RemoteKeySet.open(settingsOf({ cooldownMs: 30_000 }), recorder.listener);
    let clock = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    await keySet.refresh();
    clock += 29_999;
    expect(keySet.refreshForUnknownKey()).toBeUndefined();
    clock += 1;
    await expect(keySet.refreshForUnknownKey()).resolves.toBeUndefined();
    expect(server.requests).toBe(2);
  });

  it('cools down after a failed refresh too, and after a background one', async () => {
    const keySet = await open({ cooldownMs: 30_000 });
    server.answerWith({ kind: 'status', status: 503 });
    await expect(keySet.refreshForUnknownKey()).resolves.toBe('the response was not 200 OK');
    expect(keySet.refreshForUnknownKey()).toBeUndefined();
    now += 30_000;
    server.serve(jwksOf(ES));
    await keySet.refresh();
    expect(keySet.refreshForUnknownKey()).toBeUndefined();
    expect(server.requests).toBe(2);
  });
});

describe('RemoteKeySet.startRefreshing', () => {
  beforeEach(() => {
    fakeIntervalTimers();
  });

  it('refreshes every refreshIntervalMs on one timer, until stopped', async () => {
    const keySet = await open({ refreshIntervalMs: 10_000 });
    const refresh = jest.spyOn(keySet, 'refresh');
    keySet.startRefreshing();
    keySet.startRefreshing();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(9_999);
    expect(refresh).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    await refresh.mock.results[0].value;
    expect(server.requests).toBe(1);
    jest.advanceTimersByTime(10_000);
    await refresh.mock.results[1].value;
    expect(server.requests).toBe(2);
    keySet.stop();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(100_000);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('does not keep the process alive', async () => {
    const keySet = await open();
    const setInterval = jest.spyOn(globalThis, 'setInterval');
    keySet.startRefreshing();
    const timer = setInterval.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    keySet.stop();
  });
});

describe('keysOf', () => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
    format: 'jwk',
  });
  const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const esWithoutAlg = { ...ES.jwk, alg: undefined };
  const rsWithoutAlg = { ...RS.jwk, alg: undefined };
  const privateEs = {
    ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
    kid: 'private',
    alg: 'ES256',
  };

  const keysAndProblems = (keys: unknown[]) => {
    const problems: string[] = [];
    const parsed = keysOf({ keys } as never, problems);
    return { keys: parsed.map(({ kid, alg }) => ({ kid, alg })), problems };
  };

  it('takes public keys with their kid and alg, or the alg their curve implies', () => {
    expect(keysAndProblems([ES.jwk, RS.jwk, esWithoutAlg, { ...ed25519, kid: 'ed' }])).toEqual({
      keys: [
        { kid: 'es-1', alg: 'ES256' },
        { kid: 'rs-1', alg: 'RS256' },
        { kid: 'es-1', alg: 'ES256' },
        { kid: 'ed', alg: 'EdDSA' },
      ],
      problems: [],
    });
  });

  it.each<[string, object, string]>([
    [
      'a secret',
      { kty: 'oct', kid: 'k', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' },
      'key 0 (kid "k") is a secret, which is never taken from a URL',
    ],
    [
      'an HMAC alg on a public key',
      { ...RS.jwk, alg: 'HS256' },
      'key 0 (kid "rs-1") has no "alg" of a signature algorithm this library verifies',
    ],
    [
      'an RSA key without alg',
      rsWithoutAlg,
      'key 0 (kid "rs-1") has no "alg" of a signature algorithm this library verifies',
    ],
    [
      'an encryption alg',
      { ...RS.jwk, alg: 'RSA-OAEP' },
      'key 0 (kid "rs-1") has no "alg" of a signature algorithm this library verifies',
    ],
    ['a private key', privateEs, 'key 0 (kid "private") is a private key: give the public key'],
    [
      'an encryption key',
      { ...ES.jwk, use: 'enc' },
      'key 0 (kid "es-1") is a JWK whose "use" is not "sig"',
    ],
    [
      'key_ops without verify',
      { ...ES.jwk, key_ops: ['encrypt'] },
      'key 0 (kid "es-1") is a JWK whose "key_ops" do not include "verify"',
    ],
    [
      'an RSA key under 2048 bits',
      { ...rsa1024, kid: 'short', alg: 'RS256' },
      'key 0 (kid "short") is an RSA key of 1024 bits; at least 2048 are needed',
    ],
    [
      'a curve that differs from the alg',
      { ...ES.jwk, alg: 'ES384' },
      'key 0 (kid "es-1") is on curve prime256v1; ES384 needs secp384r1',
    ],
    ['a key without kid or alg', { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, 'key 0 has no "alg"'],
  ])('leaves out %s and says why, without its material', (_, jwk, problem) => {
    const { keys, problems } = keysAndProblems([jwk]);
    expect(keys).toEqual([]);
    expect(problems).toEqual([expect.stringContaining(problem)]);
    expectNoKeyMaterial(problems[0]);
    for (const member of ['k', 'd', 'n'] as const) {
      const value = (jwk as JsonWebKey)[member];
      if (value !== undefined && value.length > 8) expect(problems[0]).not.toContain(value);
    }
  });

  it('keeps the good keys of a document beside the bad ones', () => {
    const { keys, problems } = keysAndProblems([
      { kty: 'oct', k: 'c2VjcmV0' },
      ES.jwk,
      privateEs,
      RS.jwk,
    ]);
    expect(keys).toEqual([
      { kid: 'es-1', alg: 'ES256' },
      { kid: 'rs-1', alg: 'RS256' },
    ]);
    expect(problems).toHaveLength(2);
  });

  it('cuts a long kid short in its report', () => {
    const kid = 'k'.repeat(300);
    const { problems } = keysAndProblems([{ kty: 'oct', kid, k: 'c2VjcmV0' }]);
    expect(problems[0]).toContain(`(kid "${'k'.repeat(64)}")`);
    expect(problems[0]).not.toContain('k'.repeat(65));
  });

  it('never writes a kid with control characters into its report', () => {
    const kid = 'k1\nApproov token accepted';
    const { problems } = keysAndProblems([{ kty: 'oct', kid, k: 'c2VjcmV0' }]);
    expect(problems).toEqual(['key 0 is a secret, which is never taken from a URL']);
  });

  it('reads the first 100 keys of a document and says that the rest are left out', () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ ...ES.jwk, kid: `es-${i}` }));
    const { keys, problems } = keysAndProblems(many);
    expect(keys).toHaveLength(100);
    expect(problems).toEqual(['keys after the first 100']);
  });
});
