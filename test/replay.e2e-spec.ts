import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ApproovClaims,
  ApproovConfigError,
  ApproovGuard,
  ApproovMemoryReplayStore,
  ApproovMessageSigning,
  ApproovMode,
  ApproovModule,
  type ApproovModuleOptions,
  type ApproovReplayStore,
  type ApproovResultEvent,
  ApproovTokenBinding,
  ApproovVerified,
} from 'nestjs-approov';
import {
  type ApproovInstallKey,
  generateApproovInstallKey,
  signApproovRequest,
} from 'nestjs-approov/testing';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectNoTokenLogged,
  expectRefused,
  handlerCalls,
  type HttpVerb,
  logs,
  ran,
  TestApp,
} from './support/test-app.js';
import { SECRET } from './support/tokens.js';

const ACCOUNT_KEY = randomBytes(32).toString('base64url');
const BODY = '{"item":"book","quantity":1}';
/** The order of the P-256 group: `(r, n - s)` verifies wherever `(r, s)` does. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

@Controller()
class ReplayController {
  @HttpCode(200)
  @Post('account')
  @ApproovMessageSigning({ labels: ['account'], replay: true })
  account(): object {
    return ran('account');
  }

  @Get('install')
  @ApproovMessageSigning({ labels: ['install'], replay: true })
  install(): object {
    return ran('install');
  }

  @HttpCode(200)
  @Post('both')
  @ApproovMessageSigning({ labels: ['install', 'account'], replay: true })
  both(): object {
    return ran('both');
  }

  /** Signed, as the module says, without the replay check. */
  @Get('unchecked')
  unchecked(): object {
    return ran('unchecked');
  }

  @Get('unsigned')
  @ApproovMessageSigning(false)
  unsigned(): object {
    return ran('unsigned');
  }

  /** Bound to a header the SDK does not sign, so the binding can fail under a valid signature. */
  @Get('bound')
  @ApproovTokenBinding('X-Device-Id')
  @ApproovMessageSigning({ replay: true })
  bound(): object {
    return ran('bound');
  }

  @Get('monitored')
  @ApproovMode('monitor')
  @ApproovMessageSigning({ replay: true })
  monitored(
    @ApproovClaims('did') did: string | undefined,
    @ApproovVerified() verified: boolean,
  ): object {
    ran('monitored');
    return { did: did ?? null, verified };
  }
}

/** The routes of an app whose module sets replay: one inherits it, one turns it off. */
@Controller()
class ModuleReplayController {
  @Get('inherits')
  inherits(): object {
    return ran('inherits');
  }

  @HttpCode(200)
  @Post('account')
  @ApproovMessageSigning({ labels: ['account'] })
  account(): object {
    return ran('account');
  }

  @Get('off')
  @ApproovMessageSigning({ replay: false })
  off(): object {
    return ran('off');
  }

  @Get('on')
  @ApproovMessageSigning({ replay: true })
  on(): object {
    return ran('on');
  }
}

const events: ApproovResultEvent[] = [];

function startApp(
  adapter: AdapterName,
  options: Partial<ApproovModuleOptions> = {},
  controller: new () => object = ReplayController,
): Promise<TestApp> {
  return TestApp.start(
    adapter,
    {
      imports: [
        ApproovModule.forRoot({
          secret: SECRET,
          messageSigning: { accountKey: ACCOUNT_KEY },
          onResult: (event) => events.push(event),
          ...options,
        }),
      ],
      controllers: [controller],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
    },
    { rawBody: true },
  );
}

interface SignOptions {
  labels?: ('install' | 'account')[];
  body?: string;
  headers?: Record<string, string>;
  installKey?: ApproovInstallKey;
  now?: number;
  did?: string;
  /** Binding values: the token's `pay`. */
  bind?: string[];
}

/** A signed request to `path`, as an SDK sends it: its headers and its body. */
function signedRequest(
  app: TestApp,
  method: HttpVerb,
  path: string,
  { labels = ['install'], body, headers = {}, installKey, now, did, bind }: SignOptions = {},
): SignedRequest {
  const signed = signApproovRequest({
    secret: SECRET,
    method: method.toUpperCase(),
    url: `${app.address}${path}`,
    labels,
    accountKey: ACCOUNT_KEY,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body,
    installKey,
    now,
    token: { bind, claims: { did } },
  });
  return { method, path, headers: signed.headers, body };
}

interface SignedRequest {
  method: HttpVerb;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Sends `request` as it is (a replay sends the same bytes again), forgetting earlier events. */
function send(app: TestApp, request: SignedRequest): ReturnType<TestApp['sendRaw']> {
  events.length = 0;
  return app.sendRaw(request.method, request.path, Object.entries(request.headers), request.body);
}

/** `request` with the bytes of its `label` signature changed by `change`. */
function withSignature(
  request: SignedRequest,
  label: 'install' | 'account',
  change: (bytes: Buffer) => Buffer,
): SignedRequest {
  const field = request.headers.Signature.replace(
    new RegExp(`\\b${label}=:([^:]*):`),
    (_, b64: string) => `${label}=:${change(Buffer.from(b64, 'base64')).toString('base64')}:`,
  );
  expect(field).not.toBe(request.headers.Signature);
  return { ...request, headers: { ...request.headers, Signature: field } };
}

/** The bytes of the `label` signature of `request`. */
const signatureOf = (request: SignedRequest, label: 'install' | 'account'): Buffer =>
  Buffer.from(new RegExp(`\\b${label}=:([^:]*):`).exec(request.headers.Signature)![1], 'base64');

/** `(r, n - s)` of a raw ECDSA P-256 signature r||s. */
function malleated(signature: Buffer): Buffer {
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return Buffer.concat([signature.subarray(0, 32), twin]);
}

/** One byte changed at `index` of a copy. */
function flipped(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] ^= 1;
  return copy;
}

/**
 * Asserts a refusal by the replay store's failure: 401, nothing run, the request's own line and,
 * when `storeLine` is given, the store's failure before it (logged at most once per 10 s).
 */
function expectStoreRefusal(response: { status: number; text: string }, storeLine?: string) {
  expect({ status: response.status, body: response.text }).toEqual({ status: 401, body: '{}' });
  expect(handlerCalls).toEqual([]);
  const requestLine = expect.stringContaining('rejected: replay_store_unavailable');
  if (storeLine === undefined) {
    expect(logs.lines).toEqual([requestLine]);
    expect(logs.levels).toEqual(['warn']);
  } else {
    expect(logs.lines).toEqual([storeLine, requestLine]);
    expect(logs.levels).toEqual(['error', 'warn']);
  }
  expectNoTokenLogged();
}

describe.each(ADAPTERS)('replay protection with the in-memory store (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp(adapter);
  });
  afterAll(() => app.close());

  describe('accepts each signature once', () => {
    it('on an account route: the same request again is a replay, every time', async () => {
      const request = signedRequest(app, 'post', '/account', { labels: ['account'], body: BODY });
      expectAccepted(await send(app, request), 'account');
      expectRefused(await send(app, request), 'replayed_signature');
      expectRefused(await send(app, request), 'replayed_signature');
    });

    it('on an install route: the same request again is a replay, every time', async () => {
      const request = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, request), 'install');
      expectRefused(await send(app, request), 'replayed_signature');
      expectRefused(await send(app, request), 'replayed_signature');
    });

    it('with both labels: a replay when either signature was used before', async () => {
      const installKey = generateApproovInstallKey();
      const now = Date.now();
      const options: SignOptions = { labels: ['install', 'account'], body: BODY, installKey, now };
      const request = signedRequest(app, 'post', '/both', options);
      expectAccepted(await send(app, request), 'both');
      expectRefused(await send(app, request), 'replayed_signature');
      // Signed again in the same second: a new install signature, the same account signature.
      const resigned = signedRequest(app, 'post', '/both', options);
      expect(resigned.headers['Approov-Token']).toBe(request.headers['Approov-Token']);
      expect(signatureOf(resigned, 'account')).toEqual(signatureOf(request, 'account'));
      expect(signatureOf(resigned, 'install')).not.toEqual(signatureOf(request, 'install'));
      expectRefused(await send(app, resigned), 'replayed_signature');
      // Another request (another trace id): both signatures new.
      const next = signedRequest(app, 'post', '/both', {
        ...options,
        headers: { 'Approov-TraceID': 'trace-2' },
      });
      expectAccepted(await send(app, next), 'both');
    });

    it('another signature with the same token passes', async () => {
      const installKey = generateApproovInstallKey();
      const now = Date.now();
      const first = signedRequest(app, 'get', '/install', { installKey, now });
      const second = signedRequest(app, 'get', '/install', { installKey, now });
      expect(second.headers['Approov-Token']).toBe(first.headers['Approov-Token']);
      expect(second.headers.Signature).not.toBe(first.headers.Signature);
      expectAccepted(await send(app, first), 'install');
      expectAccepted(await send(app, second), 'install');
      expectRefused(await send(app, first), 'replayed_signature');
      expectRefused(await send(app, second), 'replayed_signature');
      // An account signature is a function of the request: a new trace id makes a new one.
      const account = (traceId: string) =>
        signedRequest(app, 'post', '/account', {
          labels: ['account'],
          body: BODY,
          installKey,
          now,
          headers: { 'Approov-TraceID': traceId },
        });
      expect(account('a').headers['Approov-Token']).toBe(account('b').headers['Approov-Token']);
      expectAccepted(await send(app, account('a')), 'account');
      expectAccepted(await send(app, account('b')), 'account');
      expectRefused(await send(app, account('a')), 'replayed_signature');
    });

    it('leaves signed routes without replay, and unsigned routes, alone', async () => {
      const signed = signedRequest(app, 'get', '/unchecked');
      for (let attempt = 0; attempt < 3; attempt++) {
        expectAccepted(await send(app, signed), 'unchecked');
      }
      const unsigned = { ...signedRequest(app, 'get', '/install'), path: '/unsigned' };
      for (let attempt = 0; attempt < 3; attempt++) {
        expectAccepted(await send(app, unsigned), 'unsigned');
      }
      // Those requests used up nothing: the same signature on a replay-checked route is new.
      const install = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, { ...install, path: '/unsigned' }), 'unsigned');
      expectAccepted(await send(app, install), 'install');
    });
  });

  describe('a request refused for another reason does not use up its signature', () => {
    it('a tampered install signature: the genuine request passes after it', async () => {
      const request = signedRequest(app, 'get', '/install');
      // A byte of s: the key of the replay check (r) is the genuine one's.
      expectRefused(
        await send(
          app,
          withSignature(request, 'install', (bytes) => flipped(bytes, 40)),
        ),
        'signature_mismatch',
      );
      expectRefused(
        await send(
          app,
          withSignature(request, 'install', (bytes) => flipped(bytes, 3)),
        ),
        'signature_mismatch',
      );
      expectAccepted(await send(app, request), 'install');
      expectRefused(await send(app, request), 'replayed_signature');
    });

    it('a tampered account signature: the genuine request passes after it', async () => {
      const request = signedRequest(app, 'post', '/account', { labels: ['account'], body: BODY });
      expectRefused(
        await send(
          app,
          withSignature(request, 'account', (bytes) => flipped(bytes, 31)),
        ),
        'signature_mismatch',
      );
      expectAccepted(await send(app, request), 'account');
    });

    it('a body that is not the signed one: valid signatures, refused, not claimed', async () => {
      const account = signedRequest(app, 'post', '/account', { labels: ['account'], body: BODY });
      const both = signedRequest(app, 'post', '/both', {
        labels: ['install', 'account'],
        body: BODY,
      });
      for (const [request, handler] of [
        [account, 'account'],
        [both, 'both'],
      ] as const) {
        // As long as the signed one: Content-Length is signed too.
        const otherBody = { ...request, body: BODY.replace('book', 'bool') };
        expectRefused(await send(app, otherBody), 'content_digest_mismatch');
        expectRefused(await send(app, otherBody), 'content_digest_mismatch');
        expectAccepted(await send(app, request), handler);
        expectRefused(await send(app, request), 'replayed_signature');
      }
    });

    it('a binding that fails under a valid signature: the genuine request passes after it', async () => {
      const bound = signedRequest(app, 'get', '/bound', { bind: ['device-1'] });
      const wrongDevice = { ...bound, headers: { ...bound.headers, 'X-Device-Id': 'device-2' } };
      expectRefused(await send(app, wrongDevice), 'binding_mismatch');
      const rightDevice = { ...bound, headers: { ...bound.headers, 'X-Device-Id': 'device-1' } };
      expectAccepted(await send(app, rightDevice), 'bound');
      expectRefused(await send(app, rightDevice), 'replayed_signature');
    });
  });

  describe('the malleated install signature (r, n - s)', () => {
    it('of an accepted request is refused as a replay, although it verifies', async () => {
      const request = signedRequest(app, 'get', '/install');
      const twin = withSignature(request, 'install', malleated);
      expect(signatureOf(twin, 'install')).not.toEqual(signatureOf(request, 'install'));
      expectAccepted(await send(app, request), 'install');
      expectRefused(await send(app, twin), 'replayed_signature');
    });

    it('accepted first makes the original a replay: it passes every other check', async () => {
      const request = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, withSignature(request, 'install', malleated)), 'install');
      expectRefused(await send(app, request), 'replayed_signature');
      // And on a route without the replay check the twin passes, as the original does.
      const unchecked = signedRequest(app, 'get', '/unchecked');
      const twin = withSignature(unchecked, 'install', malleated);
      expectAccepted(await send(app, twin), 'unchecked');
      expectAccepted(await send(app, twin), 'unchecked');
    });
  });

  describe('monitor mode and onResult', () => {
    it('reports a replay as monitored and lets it through, not verified', async () => {
      const request = signedRequest(app, 'get', '/monitored', { did: 'device-9' });
      let response = await send(app, request);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ did: 'device-9', verified: true });
      expect(logs.lines).toEqual([]);
      expect(events).toEqual([
        {
          outcome: 'accepted',
          mode: 'monitor',
          transport: 'http',
          method: 'GET',
          route: '/monitored',
          durationMs: expect.any(Number),
          did: 'device-9',
        },
      ]);
      response = await send(app, request);
      expect(response.status).toBe(200);
      // Its token is sound: the handler gets the claims, and is told the request failed.
      expect(response.body).toEqual({ did: 'device-9', verified: false });
      expect(handlerCalls).toEqual(['monitored']);
      expect(logs.lines).toEqual([
        expect.stringMatching(
          /^Approov token failed, let through by monitor mode: replayed_signature \(GET \/monitored\) did="device-9"$/,
        ),
      ]);
      expectNoTokenLogged();
      expect(events).toEqual([
        {
          outcome: 'monitored',
          reason: 'replayed_signature',
          mode: 'monitor',
          transport: 'http',
          method: 'GET',
          route: '/monitored',
          durationMs: expect.any(Number),
          did: 'device-9',
        },
      ]);
    });

    it('reports the first use as accepted and the replay as rejected, exactly', async () => {
      const request = signedRequest(app, 'post', '/account', {
        labels: ['account'],
        body: BODY,
        did: 'device-4',
        headers: { 'Approov-TraceID': 'trace-4' },
      });
      expectAccepted(await send(app, request), 'account');
      const common = {
        mode: 'enforce',
        transport: 'http',
        method: 'POST',
        route: '/account',
        durationMs: expect.any(Number),
        did: 'device-4',
        traceId: 'trace-4',
      };
      expect(events).toEqual([{ outcome: 'accepted', ...common }]);
      expectRefused(await send(app, request), 'replayed_signature');
      expect(events).toEqual([{ outcome: 'rejected', reason: 'replayed_signature', ...common }]);
      expect(logs.lines).toEqual([
        'Approov token rejected: replayed_signature (POST /account) did="device-4" traceId="trace-4"',
      ]);
    });
  });

  describe('the guard stays synchronous with the in-memory store', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('answers a boolean, or throws, without a promise: replay-checked or not', async () => {
      const guard = app.app.get(ApproovGuard);
      const canActivate = jest.spyOn(guard, 'canActivate');
      const install = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, install), 'install');
      expectRefused(await send(app, install), 'replayed_signature');
      expectAccepted(await send(app, signedRequest(app, 'get', '/unchecked')), 'unchecked');
      expectAccepted(await send(app, { ...install, path: '/unsigned' }), 'unsigned');
      expect(canActivate.mock.results).toEqual([
        { type: 'return', value: true },
        { type: 'throw', value: expect.anything() },
        { type: 'return', value: true },
        { type: 'return', value: true },
      ]);
    });
  });
});

describe.each(ADAPTERS)('replay settings (%s)', (adapter) => {
  it('messageSigning.replay: true checks every signed route but the ones that turn it off', async () => {
    const app = await startApp(
      adapter,
      { messageSigning: { accountKey: ACCOUNT_KEY, replay: true } },
      ModuleReplayController,
    );
    try {
      for (const path of ['/inherits', '/on']) {
        const request = signedRequest(app, 'get', path);
        expectAccepted(await send(app, request), path.slice(1));
        expectRefused(await send(app, request), 'replayed_signature');
      }
      const account = signedRequest(app, 'post', '/account', { labels: ['account'], body: BODY });
      expectAccepted(await send(app, account), 'account');
      expectRefused(await send(app, account), 'replayed_signature');
      const off = signedRequest(app, 'get', '/off');
      expectAccepted(await send(app, off), 'off');
      expectAccepted(await send(app, off), 'off');
    } finally {
      await app.close();
    }
  });

  it('without messageSigning.replay, only routes with @ApproovMessageSigning({ replay: true })', async () => {
    const app = await startApp(adapter, {}, ModuleReplayController);
    try {
      const inherits = signedRequest(app, 'get', '/inherits');
      expectAccepted(await send(app, inherits), 'inherits');
      expectAccepted(await send(app, inherits), 'inherits');
      const account = signedRequest(app, 'post', '/account', { labels: ['account'], body: BODY });
      expectAccepted(await send(app, account), 'account');
      expectAccepted(await send(app, account), 'account');
      const on = signedRequest(app, 'get', '/on');
      expectAccepted(await send(app, on), 'on');
      expectRefused(await send(app, on), 'replayed_signature');
    } finally {
      await app.close();
    }
  });

  it('without messageSigning, a route with replay: true is signed and checked in memory', async () => {
    @Controller()
    class OptInController {
      @Get('plain')
      plain(): object {
        return ran('plain');
      }

      @Get('once')
      @ApproovMessageSigning({ replay: true })
      once(): object {
        return ran('once');
      }
    }
    await TestApp.run(
      adapter,
      {
        imports: [ApproovModule.forRoot({ secret: SECRET })],
        controllers: [OptInController],
        providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
      },
      async (app) => {
        const plain = signedRequest(app, 'get', '/plain');
        expectAccepted(await send(app, plain), 'plain');
        expectAccepted(await send(app, plain), 'plain');
        const once = signedRequest(app, 'get', '/once');
        expectRefused(
          await send(app, { ...once, headers: { 'Approov-Token': once.headers['Approov-Token'] } }),
          'missing_signature',
        );
        expectAccepted(await send(app, once), 'once');
        expectRefused(await send(app, once), 'replayed_signature');
      },
    );
  });

  it('messageSigning.replay: a store turns replay on and is the store used', async () => {
    const store = new ApproovMemoryReplayStore();
    const app = await startApp(
      adapter,
      { messageSigning: { accountKey: ACCOUNT_KEY, replay: store } },
      ModuleReplayController,
    );
    try {
      const request = signedRequest(app, 'get', '/inherits');
      expectAccepted(await send(app, request), 'inherits');
      expect(store.size).toBe(1);
      expectRefused(await send(app, request), 'replayed_signature');
      expect(store.size).toBe(1);
      const off = signedRequest(app, 'get', '/off');
      expectAccepted(await send(app, off), 'off');
      expect(store.size).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('replayStore: the store used, turning nothing on', async () => {
    const store = new ApproovMemoryReplayStore();
    const app = await startApp(adapter, { replayStore: store }, ModuleReplayController);
    try {
      const inherits = signedRequest(app, 'get', '/inherits');
      expectAccepted(await send(app, inherits), 'inherits');
      expectAccepted(await send(app, inherits), 'inherits');
      expect(store.size).toBe(0);
      const on = signedRequest(app, 'get', '/on');
      expectAccepted(await send(app, on), 'on');
      expect(store.size).toBe(1);
      expectRefused(await send(app, on), 'replayed_signature');
    } finally {
      await app.close();
    }
  });

  it('both labels claim one key each in the store', async () => {
    const store = new ApproovMemoryReplayStore();
    const app = await startApp(adapter, { replayStore: store });
    try {
      const request = signedRequest(app, 'post', '/both', {
        labels: ['install', 'account'],
        body: BODY,
      });
      expectAccepted(await send(app, request), 'both');
      expect(store.size).toBe(2);
      expectRefused(await send(app, request), 'replayed_signature');
      expect(store.size).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('a full memory store refuses new signatures, logs why once, and takes them once entries expire', async () => {
    const clock = { ms: 1_000_000 };
    const store = new ApproovMemoryReplayStore({ maxEntries: 1, now: () => clock.ms });
    const app = await startApp(adapter, { replayStore: store });
    try {
      const first = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, first), 'install');
      expectStoreRefusal(
        await send(app, signedRequest(app, 'get', '/install')),
        'Approov replay store failed ("ApproovReplayStoreFullError: the in-memory replay store is full (1 entries) until its entries expire"): requests that need it are refused until it answers',
      );
      expect(events).toEqual([
        expect.objectContaining({ outcome: 'rejected', reason: 'replay_store_unavailable' }),
      ]);
      // Within 10 s: only the request's own line.
      expectStoreRefusal(await send(app, signedRequest(app, 'get', '/install')));
      // The held signature is still a replay, full or not.
      expectRefused(await send(app, first), 'replayed_signature');
      // Routes without the replay check are not affected.
      expectAccepted(await send(app, signedRequest(app, 'get', '/unchecked')), 'unchecked');
      // The entry outlives its signature by a second; the sweep goes a second at a time.
      clock.ms += 33_000;
      const later = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, later), 'install');
      expect(store.size).toBe(1);
      expectRefused(await send(app, later), 'replayed_signature');
    } finally {
      await app.close();
    }
  });

  describe.each(['throws', 'rejects'] as const)('a custom store that %s', (how) => {
    const failingStore = (onStoreError: 'refuse' | 'allow'): ApproovReplayStore => ({
      onStoreError,
      claim: () => {
        const error = new Error('store down');
        if (how === 'throws') throw error;
        return Promise.reject(error);
      },
    });
    const storeLine = (outcome: string) =>
      `Approov replay store failed ("Error: store down"): requests that need it are ${outcome} until it answers`;

    it("with onStoreError 'allow' lets the request through, reported replayUnchecked", async () => {
      const app = await startApp(adapter, { replayStore: failingStore('allow') });
      try {
        const request = signedRequest(app, 'get', '/install', { did: 'device-6' });
        for (const log of [[storeLine('let through unchecked')], []]) {
          const response = await send(app, request);
          expect(response.status).toBe(200);
          expect(handlerCalls).toEqual(['install']);
          // The store's failure, at most once per 10 s; nothing about the request.
          expect(logs.lines).toEqual(log);
          expect(events).toEqual([
            {
              outcome: 'accepted',
              mode: 'enforce',
              transport: 'http',
              method: 'GET',
              route: '/install',
              durationMs: expect.any(Number),
              did: 'device-6',
              replayUnchecked: true,
            },
          ]);
        }
        // Routes without the replay check never ask the store, and say nothing of it.
        expectAccepted(await send(app, signedRequest(app, 'get', '/unchecked')), 'unchecked');
        expect(events).toEqual([expect.not.objectContaining({ replayUnchecked: true })]);
      } finally {
        await app.close();
      }
    });

    it("with onStoreError 'refuse' refuses: replay_store_unavailable", async () => {
      const app = await startApp(adapter, { replayStore: failingStore('refuse') });
      try {
        const request = signedRequest(app, 'get', '/install');
        expectStoreRefusal(await send(app, request), storeLine('refused'));
        expect(events).toEqual([
          expect.objectContaining({ outcome: 'rejected', reason: 'replay_store_unavailable' }),
        ]);
        expect(events[0]).not.toHaveProperty('replayUnchecked');
        expectStoreRefusal(await send(app, request));
        expectAccepted(await send(app, signedRequest(app, 'get', '/unchecked')), 'unchecked');
      } finally {
        await app.close();
      }
    });
  });

  it('the guard answers with a promise only on replay-checked routes of an asynchronous store', async () => {
    const held = new Set<string>();
    const asyncStore: ApproovReplayStore = {
      claim: (key) => Promise.resolve(!held.has(key) && Boolean(held.add(key))),
    };
    const app = await startApp(adapter, { replayStore: asyncStore });
    try {
      const canActivate = jest.spyOn(app.app.get(ApproovGuard), 'canActivate');
      const request = signedRequest(app, 'get', '/install');
      expectAccepted(await send(app, request), 'install');
      expectRefused(await send(app, request), 'replayed_signature');
      expectAccepted(await send(app, signedRequest(app, 'get', '/unchecked')), 'unchecked');
      const results = canActivate.mock.results;
      expect(results.map(({ type }) => type)).toEqual(['return', 'return', 'return']);
      expect(results[0].value).toBeInstanceOf(Promise);
      expect(results[1].value).toBeInstanceOf(Promise);
      expect(results[2].value).toBe(true);
    } finally {
      jest.restoreAllMocks();
      await app.close();
    }
  });
});

describe.each(ADAPTERS)('replay settings that stop the app at startup (%s)', (adapter) => {
  it('replayStore that is not a store', async () => {
    for (const replayStore of [{}, 'redis', { claim: 'yes' }, null]) {
      const error = startApp(adapter, {
        replayStore: replayStore as unknown as ApproovReplayStore,
      });
      await expect(error).rejects.toThrow(
        new ApproovConfigError(
          'replayStore',
          'must be a replay store: an object with a claim() method',
          'Give an ApproovRedisReplayStore from nestjs-approov/redis, or leave it out for the in-memory store.',
        ),
      );
      await expect(error).rejects.toMatchObject({ option: 'replayStore' });
    }
  });

  it('a store given twice: as messageSigning.replay and as replayStore', async () => {
    const error = startApp(adapter, {
      messageSigning: { accountKey: ACCOUNT_KEY, replay: new ApproovMemoryReplayStore() },
      replayStore: new ApproovMemoryReplayStore(),
    });
    await expect(error).rejects.toThrow(
      new ApproovConfigError(
        'replayStore',
        'is given twice: here and as messageSigning.replay',
        'Give the store once: as replayStore, with messageSigning.replay: true.',
      ),
    );
    await expect(error).rejects.toMatchObject({ option: 'replayStore' });
  });

  it('messageSigning.replay neither a boolean nor a store', async () => {
    for (const replay of ['yes', 1, {}, { claim: true }]) {
      const error = startApp(adapter, {
        messageSigning: { accountKey: ACCOUNT_KEY, replay: replay as unknown as boolean },
      });
      await expect(error).rejects.toThrow(
        new ApproovConfigError(
          'messageSigning.replay',
          'must be true or false',
          'Or a replay store: an object with a claim() method, such as ApproovRedisReplayStore.',
        ),
      );
      await expect(error).rejects.toMatchObject({ option: 'messageSigning.replay' });
    }
  });
});

describe('replay settings refused as a controller is defined', () => {
  it("@ApproovMessageSigning({ replay: 'yes' }), as the controller is defined", () => {
    const defineController = () => {
      @Controller()
      class BadReplayController {
        @Get()
        @ApproovMessageSigning({ replay: 'yes' as unknown as boolean })
        route(): object {
          return ran('route');
        }
      }
      return BadReplayController;
    };
    expect(defineController).toThrow(
      new ApproovConfigError(
        '@ApproovMessageSigning().replay',
        'must be true or false',
        'Leave it out for the default.',
      ),
    );
  });
});
