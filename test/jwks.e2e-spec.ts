import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { APP_GUARD } from '@nestjs/core';
import {
  ApproovConfigError,
  ApproovGuard,
  ApproovKeys,
  ApproovModule,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { generateApproovKeyPair, mintApproovToken } from 'nestjs-approov/testing';
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
  type ServedKey,
} from './support/jwks-server.js';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectNoTokenLogged,
  expectRefused,
  handlerCalls,
  logs,
  TestApp,
} from './support/test-app.js';
import { ProtectedController } from './support/routes.js';
import { header, mint, SECRET } from './support/tokens.js';

const globalGuard = { provide: APP_GUARD, useExisting: ApproovGuard };

const ES = servedKey('ES256', 'es-1');
const RS = servedKey('RS256', 'rs-1');
const NEXT_ES = servedKey('ES256', 'es-2');
/** Given in `keys`, beside the key set. */
const CONFIGURED = servedKey('ES256', 'configured');
/** Not served anywhere: its tokens are forgeries, whatever kid they name. */
const ATTACKER = generateApproovKeyPair('ES256').privateKey;

/** Long enough for any document on a busy machine; the timeout tests use `QUICK_JWKS`. */
const JWKS = { timeoutMs: 5000, cooldownSeconds: 30, refreshIntervalSeconds: 60 };
const QUICK_JWKS = { ...JWKS, timeoutMs: 200 };
const COOLDOWN_MS = JWKS.cooldownSeconds * 1000;
const INTERVAL_MS = JWKS.refreshIntervalSeconds * 1000;

/** The request header of a token signed by `key`, with its kid. */
const tokenOf = (key: ServedKey) => header(mintApproovToken({ key: key.signing }));

/** A token signed by a key nobody serves, naming `kid`. */
const forgedWithKid = (kid: string) =>
  mintApproovToken({ key: { alg: 'ES256', key: ATTACKER, kid } });

/** The warning of a failed fetch. */
const fetchFailed = (reason: string) =>
  `Approov: fetching the JWKS failed (${reason}); the last good keys stay in use`;

/** The reason the one line logged gives for a failed fetch, if it is such a warning. */
function reasonLogged(): string | undefined {
  expect(logs.lines).toHaveLength(1);
  return /^Approov: fetching the JWKS failed \((.+)\); the last good keys stay in use$/.exec(
    logs.lines[0],
  )?.[1];
}

/** No key material of the served keys, nor a token, in the logs. */
function expectNoKeyMaterialLogged(): void {
  const text = logs.lines.join('\n');
  for (const key of [ES, RS, NEXT_ES]) {
    for (const value of [key.jwk.x, key.jwk.y, key.jwk.n]) {
      if (value !== undefined) expect(text).not.toContain(value);
    }
  }
  expectNoTokenLogged();
}

describe.each(ADAPTERS)('jwksUrl with a JWKS server on loopback (%s)', (adapter: AdapterName) => {
  let server: JwksServer;
  let app: TestApp | undefined;
  /** The frozen clock, in milliseconds: tests move it forward. */
  let nowMs: number;

  beforeEach(async () => {
    server = await JwksServer.start(jwksOf(ES, RS));
    app = undefined;
    nowMs = Date.now();
    // Installed before the app starts, which reads the clock through this spy from then on.
    jest.spyOn(Date, 'now').mockImplementation(() => nowMs);
    logs.clear();
  });

  afterEach(async () => {
    await app?.close();
    await server.close();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  async function startApp(options: Partial<ApproovModuleOptions> = {}): Promise<TestApp> {
    app = await TestApp.start(adapter, {
      imports: [ApproovModule.forRoot({ jwksUrl: server.url, jwks: JWKS, ...options })],
      controllers: [ProtectedController],
      providers: [globalGuard],
    });
    return app;
  }

  const keysOf = (started: TestApp) => started.app.get(ApproovKeys);

  /**
   * Moves the faked interval timer `ms` on, so that it starts a background refresh, and waits for
   * that refresh.
   */
  async function runBackgroundRefresh(started: TestApp, ms = INTERVAL_MS): Promise<void> {
    jest.advanceTimersByTime(ms);
    // The refresh in flight, joined: the timer has just started it.
    const refresh = keysOf(started).refreshForUnknownKey();
    expect(refresh).toBeInstanceOf(Promise);
    await refresh;
  }

  describe('at startup', () => {
    it('fetches the key set: tokens of its ES256 and RS256 keys pass, forgeries do not', async () => {
      const started = await startApp();
      expect(server.requests).toBe(1);
      expect(keysOf(started).list()).toEqual([
        { kid: 'es-1', alg: 'ES256', source: 'jwks' },
        { kid: 'rs-1', alg: 'RS256', source: 'jwks' },
      ]);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expectAccepted(await started.get('/protected', tokenOf(RS)), 'protectedRoute');
      expectRefused(
        await started.get('/protected', header(forgedWithKid('es-1'))),
        'bad_signature',
      );
      // HMAC keys never come from a URL: the account secret's tokens have no key here.
      expectRefused(await started.get('/protected', header(mint())), 'unsupported_algorithm');
    });

    it.each<[string, JwksAnswer | 'down', string]>([
      ['the server is down', 'down', COULD_NOT_CONNECT],
      ['the body is not JSON', { kind: 'text', body: '<html>' }, 'not JSON'],
      [
        'the body is no key set',
        { kind: 'text', body: '{"keys":"none"}' },
        'not a JSON Web Key Set',
      ],
      ['the status is 500', { kind: 'status', status: 500 }, 'the response was not 200 OK'],
      [
        'the document is too large',
        { kind: 'oversized', bytes: 70_000, declared: false },
        'the document is larger than 65536 bytes',
      ],
    ])('stops the app when %s and no other key is given', async (_, answer, reason) => {
      if (answer === 'down') await server.down();
      else server.answerWith(answer);
      const failure = startApp();
      await expect(failure).rejects.toThrow(ApproovConfigError);
      const error = (await failure.catch((caught: unknown) => caught)) as ApproovConfigError;
      expect(error.option).toBe('jwksUrl');
      const said = /gave no key at startup: ([^.]+)\./.exec(error.message)?.[1];
      expect(said).toBe(reason);
    });

    it('stops the app after timeoutMs when the server does not answer', async () => {
      server.answerWith({ kind: 'held' });
      const began = performance.now();
      await expect(startApp({ jwks: QUICK_JWKS })).rejects.toThrow(
        '"jwksUrl" gave no key at startup: timed out.',
      );
      expect(server.heldCount).toBe(1);
      expect(performance.now() - began).toBeLessThan(2000);
    });

    it.each<[string, Partial<ApproovModuleOptions>, () => Record<string, string>]>([
      ['secret', { secret: SECRET }, () => header(mint())],
      ['keys', { keys: [{ alg: 'ES256', key: CONFIGURED.jwk }] }, () => tokenOf(CONFIGURED)],
    ])(
      'starts with %s when the key set cannot be fetched, warns, and takes it up later',
      async (_, options, configuredToken) => {
        fakeIntervalTimers();
        await server.down();
        const started = await startApp(options);
        expect(reasonLogged()).toBe(COULD_NOT_CONNECT);
        expect(logs.levels).toEqual(['warn']);
        expectNoKeyMaterialLogged();
        expectAccepted(await started.get('/protected', configuredToken()), 'protectedRoute');

        await server.up();
        await runBackgroundRefresh(started);
        expect(server.requests).toBe(1);
        expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
        expectAccepted(await started.get('/protected', configuredToken()), 'protectedRoute');
      },
    );
  });

  describe('rotation', () => {
    it('takes up added keys and drops removed ones, even for tokens seen before', async () => {
      fakeIntervalTimers();
      server.serve(jwksOf(ES));
      const started = await startApp();
      const oldToken = tokenOf(ES);
      expectAccepted(await started.get('/protected', oldToken), 'protectedRoute');

      server.serve(jwksOf(ES, NEXT_ES));
      await runBackgroundRefresh(started);
      expectAccepted(await started.get('/protected', tokenOf(NEXT_ES)), 'protectedRoute');
      expectAccepted(await started.get('/protected', oldToken), 'protectedRoute');

      server.serve(jwksOf(NEXT_ES));
      await runBackgroundRefresh(started);
      expect(keysOf(started).list()).toEqual([{ kid: 'es-2', alg: 'ES256', source: 'jwks' }]);
      // Accepted and remembered before, yet its key is gone.
      expectRefused(await started.get('/protected', oldToken), 'unknown_key');
      expectRefused(await started.get('/protected', tokenOf(ES)), 'unknown_key');
      expectAccepted(await started.get('/protected', tokenOf(NEXT_ES)), 'protectedRoute');
      expect(server.requests).toBe(3);
    });
  });

  describe('a token naming an unknown kid', () => {
    it('waits for one refresh of the key set, and passes when the new document has its key', async () => {
      server.serve(jwksOf(ES));
      const started = await startApp();
      server.serve(jwksOf(ES, NEXT_ES));
      server.answerWith({ kind: 'held' });
      nowMs += COOLDOWN_MS;

      const arrived = server.nextRequest();
      let answered = false;
      const response = Promise.resolve(started.get('/protected', tokenOf(NEXT_ES))).finally(() => {
        answered = true;
      });
      await arrived;
      // The key set server holds its answer, and the request waits for it.
      expect(answered).toBe(false);
      server.release();
      expectAccepted(await response, 'protectedRoute');
      expect(server.requests).toBe(2);
    });

    it('costs one refresh per cooldown: 1,000 made-up kids, one fetch', async () => {
      const started = await startApp();
      nowMs += COOLDOWN_MS;
      for (let batch = 0; batch < 10; batch++) {
        const tokens = Array.from({ length: 100 }, (_, i) =>
          forgedWithKid(`made-up-${batch}-${i}`),
        );
        // Sent together, so the first refresh is still in flight when the others arrive.
        const responses = await Promise.all(
          tokens.map((token) => started.get('/protected', header(token))),
        );
        for (const response of responses) {
          expect({ status: response.status, body: response.text }).toEqual({
            status: 401,
            body: '{}',
          });
        }
        expect(handlerCalls).toEqual([]);
        expect(logs.lines).toEqual(
          tokens.map(() => expect.stringContaining('rejected: unknown_key')),
        );
      }
      expect(server.requests).toBe(2);

      nowMs += COOLDOWN_MS - 1;
      expectRefused(
        await started.get('/protected', header(forgedWithKid('made-up'))),
        'unknown_key',
      );
      expect(server.requests).toBe(2);
      nowMs += 1;
      expectRefused(
        await started.get('/protected', header(forgedWithKid('made-up'))),
        'unknown_key',
      );
      expect(server.requests).toBe(3);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
    }, 30_000); // A thousand requests over loopback take a few seconds.

    it('waits no longer than timeoutMs for a slow server, then is refused', async () => {
      const started = await startApp({ jwks: QUICK_JWKS });
      server.answerWith({ kind: 'held' });
      nowMs += COOLDOWN_MS;
      const began = performance.now();
      const response = await started.get('/protected', tokenOf(NEXT_ES));
      const elapsed = performance.now() - began;
      expect(server.heldCount).toBe(1);
      expect(elapsed).toBeGreaterThanOrEqual(QUICK_JWKS.timeoutMs - 10);
      expect(elapsed).toBeLessThan(2000);
      expect({ status: response.status, body: response.text }).toEqual({ status: 401, body: '{}' });
      expect(handlerCalls).toEqual([]);
      expect(logs.lines).toEqual([
        fetchFailed('timed out'),
        expect.stringContaining('rejected: unknown_key'),
      ]);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
    });
  });

  describe('a token of an algorithm the key set did not have', () => {
    it('waits for one refresh of the key set, and passes when the new document has a key of it', async () => {
      server.serve(jwksOf(RS));
      const started = await startApp();
      expect(keysOf(started).list()).toEqual([{ kid: 'rs-1', alg: 'RS256', source: 'jwks' }]);
      server.serve(jwksOf(RS, ES));
      nowMs += COOLDOWN_MS;
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expect(server.requests).toBe(2);
      expect(keysOf(started).list()).toEqual([
        { kid: 'rs-1', alg: 'RS256', source: 'jwks' },
        { kid: 'es-1', alg: 'ES256', source: 'jwks' },
      ]);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expectAccepted(await started.get('/protected', tokenOf(RS)), 'protectedRoute');
      expect(server.requests).toBe(2);
    });

    it('costs one refresh per cooldown, then is refused: unsupported_algorithm', async () => {
      server.serve(jwksOf(RS));
      const started = await startApp();
      nowMs += COOLDOWN_MS;
      for (let i = 0; i < 5; i++) {
        expectRefused(await started.get('/protected', tokenOf(ES)), 'unsupported_algorithm');
      }
      expect(server.requests).toBe(2);
      nowMs += COOLDOWN_MS;
      expectRefused(await started.get('/protected', tokenOf(ES)), 'unsupported_algorithm');
      expect(server.requests).toBe(3);
    });
  });

  describe('background refresh', () => {
    it('refreshes every refreshIntervalSeconds', async () => {
      fakeIntervalTimers();
      const started = await startApp();
      jest.advanceTimersByTime(INTERVAL_MS - 1);
      // Nothing in flight, and cooling down since the startup fetch: no refresh.
      expect(keysOf(started).refreshForUnknownKey()).toBeUndefined();
      server.serve(jwksOf(NEXT_ES));
      await runBackgroundRefresh(started, 1);
      expect(server.requests).toBe(2);
      expectAccepted(await started.get('/protected', tokenOf(NEXT_ES)), 'protectedRoute');
      await runBackgroundRefresh(started);
      expect(server.requests).toBe(3);
    });
  });

  describe('a failed refresh after startup', () => {
    it.each<FailedFetch>([
      ...FAILED_FETCHES,
      ['the status is 503', { kind: 'status', status: 503 }, NOT_200_OK],
      [
        'the document has no key',
        { kind: 'text', body: '{"keys":[]}' },
        'no usable key in the document',
      ],
    ])('keeps the last good keys when %s, and says why', async (_, answer, reason) => {
      fakeIntervalTimers();
      const started = await startApp();
      const before = keysOf(started).list();
      if (answer === 'down') await server.down();
      else server.answerWith(answer);
      logs.clear();
      await runBackgroundRefresh(started);
      expect(reasonLogged()).toBe(reason);
      expect(logs.levels).toEqual(['warn']);
      expectNoKeyMaterialLogged();
      expect(keysOf(started).list()).toEqual(before);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expectAccepted(await started.get('/protected', tokenOf(RS)), 'protectedRoute');
    });

    it.each<[string, JwksAnswer]>([
      ['the server does not answer', { kind: 'held' }],
      ['the body does not end', { kind: 'stalled' }],
    ])('keeps the last good keys when %s within timeoutMs', async (_, answer) => {
      fakeIntervalTimers();
      const started = await startApp({ jwks: QUICK_JWKS });
      server.answerWith(answer);
      logs.clear();
      const began = performance.now();
      await runBackgroundRefresh(started);
      expect(performance.now() - began).toBeLessThan(2000);
      expect(server.heldCount).toBe(1);
      expect(logs.lines).toEqual([fetchFailed('timed out')]);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
    });
  });

  describe('keys a document should not have', () => {
    const secretJwk = {
      kty: 'oct',
      kid: 'hmac',
      alg: 'HS256',
      k: Buffer.alloc(32, 7).toString('base64url'),
    };
    /** A key pair whose private half the document serves. */
    const leaked = servedKey('ES256', 'private');
    const privateJwk = {
      ...leaked.signing.key.export({ format: 'jwk' }),
      kid: 'private',
      alg: 'ES256',
    };
    // Left out of the document when it is serialised.
    const rsaWithoutAlg = { ...servedKey('RS256', 'no-alg').jwk, alg: undefined };
    const encryptionJwk = { ...servedKey('ES256', 'enc').jwk, use: 'enc' };

    it('are left out and logged without their material; the good keys are used', async () => {
      server.serve({ keys: [secretJwk, ES.jwk, privateJwk, rsaWithoutAlg, encryptionJwk, RS.jwk] });
      const started = await startApp();
      expect(keysOf(started).list()).toEqual([
        { kid: 'es-1', alg: 'ES256', source: 'jwks' },
        { kid: 'rs-1', alg: 'RS256', source: 'jwks' },
      ]);
      expect(logs.lines).toEqual([
        'Approov: keys of the JWKS left out: ' +
          'key 0 (kid "hmac") is a secret, which is never taken from a URL; ' +
          'key 2 (kid "private") is a private key: give the public key; ' +
          'key 3 (kid "no-alg") has no "alg" of a signature algorithm this library verifies; ' +
          'key 4 (kid "enc") is a JWK whose "use" is not "sig"',
      ]);
      for (const value of [secretJwk.k, privateJwk.d, privateJwk.x]) {
        expect(logs.lines[0]).not.toContain(value);
      }
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expectRefused(await started.get('/protected', tokenOf(leaked)), 'unknown_key');
      expectRefused(
        await started.get(
          '/protected',
          header(
            mintApproovToken({
              key: { alg: 'HS256', key: secretJwk.k, kid: 'hmac' },
            }),
          ),
        ),
        'unsupported_algorithm',
      );
    });
  });

  describe('a document without a usable key', () => {
    /** Keys of a kind a document must not serve: a secret, and a key for encryption. */
    const unusable = {
      keys: [
        { kty: 'oct', kid: 'hmac', alg: 'HS256', k: Buffer.alloc(32, 7).toString('base64url') },
        { ...NEXT_ES.jwk, use: 'enc' },
      ],
    };
    const LEFT_OUT =
      'Approov: keys of the JWKS left out: ' +
      'key 0 (kid "hmac") is a secret, which is never taken from a URL; ' +
      'key 1 (kid "es-2") is a JWK whose "use" is not "sig"';

    it.each<[string, object, string[]]>([
      ['has no key', { keys: [] }, []],
      ['has only keys left out', unusable, [LEFT_OUT]],
    ])(
      'stops the app at startup when it %s and no other key is given',
      async (_, document, leftOut) => {
        server.serve(document);
        const error = (await startApp().catch((caught: unknown) => caught)) as ApproovConfigError;
        expect(error).toBeInstanceOf(ApproovConfigError);
        expect(error.option).toBe('jwksUrl');
        expect(error.message).toBe(
          'Invalid Approov configuration: "jwksUrl" gave no key at startup: no usable key in the document. ' +
            'Check that the URL serves the key set, or give keys as a fallback.',
        );
        expect(logs.lines).toEqual([...leftOut, fetchFailed('no usable key in the document')]);
      },
    );

    it('starts with keys beside it, warns, and takes the key set up once it has keys', async () => {
      fakeIntervalTimers();
      server.serve({ keys: [] });
      const started = await startApp({ keys: [{ alg: 'ES256', key: CONFIGURED.jwk }] });
      expect(logs.lines).toEqual([fetchFailed('no usable key in the document')]);
      expect(logs.levels).toEqual(['warn']);
      expect(keysOf(started).list()).toEqual([
        { kid: 'configured', alg: 'ES256', source: 'configured' },
      ]);
      expectAccepted(await started.get('/protected', tokenOf(CONFIGURED)), 'protectedRoute');

      server.serve(jwksOf(ES));
      await runBackgroundRefresh(started);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expectAccepted(await started.get('/protected', tokenOf(CONFIGURED)), 'protectedRoute');
    });

    it('after startup, is a failed refresh: the last good keys stay in use', async () => {
      fakeIntervalTimers();
      const started = await startApp();
      const before = keysOf(started).list();
      server.serve(unusable);
      logs.clear();
      await runBackgroundRefresh(started);
      await runBackgroundRefresh(started);
      // The keys left out are reported once; each failed refresh is.
      expect(logs.lines).toEqual([
        LEFT_OUT,
        fetchFailed('no usable key in the document'),
        fetchFailed('no usable key in the document'),
      ]);
      expectNoKeyMaterialLogged();
      expect(keysOf(started).list()).toEqual(before);
      expectAccepted(await started.get('/protected', tokenOf(ES)), 'protectedRoute');
      expectAccepted(await started.get('/protected', tokenOf(RS)), 'protectedRoute');
    });
  });

  describe('keys of the key set that clash with configured keys', () => {
    /** A configured key with the alg and kid of a served one, `es-1`. */
    const configuredAsEs1 = { ...CONFIGURED.jwk, kid: 'es-1' };
    const CLASH_REPORT =
      'Approov: keys of the JWKS left out, as another key has their alg and kid or their alg has 3 keys without a kid: ES256 kid "es-1"';

    it('are left out, and logged once however many refreshes find the clash', async () => {
      fakeIntervalTimers();
      const started = await startApp({ keys: [{ alg: 'ES256', key: configuredAsEs1 }] });
      expect(keysOf(started).list()).toEqual([
        { kid: 'es-1', alg: 'ES256', source: 'configured' },
        { kid: 'rs-1', alg: 'RS256', source: 'jwks' },
      ]);
      expect(logs.lines).toEqual([CLASH_REPORT]);
      expect(logs.levels).toEqual(['warn']);

      logs.clear();
      await runBackgroundRefresh(started);
      await runBackgroundRefresh(started);
      expect(server.requests).toBe(3);
      expect(logs.lines).toEqual([]);

      // The configured key serves kid es-1; the served one never does.
      const configuredToken = mintApproovToken({ key: { ...CONFIGURED.signing, kid: 'es-1' } });
      expectAccepted(await started.get('/protected', header(configuredToken)), 'protectedRoute');
      expectRefused(await started.get('/protected', tokenOf(ES)), 'bad_signature');

      // Gone, then back: a clash found again is reported again, once.
      logs.clear();
      server.serve(jwksOf(NEXT_ES, RS));
      await runBackgroundRefresh(started);
      expect(logs.lines).toEqual([]);
      server.serve(jwksOf(ES, RS));
      await runBackgroundRefresh(started);
      await runBackgroundRefresh(started);
      expect(logs.lines).toEqual([CLASH_REPORT]);
    });
  });

  describe('shutdown', () => {
    it('stops the refresh timer', async () => {
      fakeIntervalTimers();
      const started = await startApp();
      expect(jest.getTimerCount()).toBe(1);
      await started.close();
      app = undefined;
      expect(jest.getTimerCount()).toBe(0);
      jest.advanceTimersByTime(10 * INTERVAL_MS);
      expect(server.requests).toBe(1);
    });
  });
});
