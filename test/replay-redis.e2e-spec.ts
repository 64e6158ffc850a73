import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Cluster, Redis } from 'ioredis';
import type { Response } from 'supertest';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovModuleOptions,
  type ApproovResultEvent,
  type ApproovReplayStore,
  SkipApproov,
} from 'nestjs-approov';
import { ApproovRedisReplayStore, type ApproovRedisReplayStoreOptions } from 'nestjs-approov/redis';
import { ApproovHealthIndicator } from 'nestjs-approov/terminus';
import {
  type ApproovInstallKey,
  generateApproovInstallKey,
  signApproovRequest,
} from 'nestjs-approov/testing';
import {
  CLUSTER_START_DEADLINE_MS,
  describeWithRedis,
  nextEvent,
  RedisCluster,
  RedisServer,
  sharedRedis,
  type SharedRedis,
  waitUntil,
} from './support/redis-server.js';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectNoTokenLogged,
  expectRefused,
  handlerCalls,
  logs,
  TestApp,
  ran,
} from './support/test-app.js';
import { mint, payloadOf, SECRET } from './support/tokens.js';

const ACCOUNT_KEY = randomBytes(32).toString('base64url');
const ACCOUNT_KEY_ID = 'account-key-1';
/**
 * The API's public host: every instance behind the load balancer sees it in `Host`, so a request
 * signed for the API verifies on each of them.
 */
const PUBLIC_HOST = 'api.example.test';
/** The policy's tolerance, not the default, to show that the time to live follows the policy. */
const TOLERANCE_SECONDS = 5;
/** `signApproovRequest()` signs as the SDKs do: `expires` is `created` + 15. */
const SDK_SIGNATURE_LIFETIME_SECONDS = 15;
/** Kept past a signature's last valid second, for instances whose clocks differ. */
const CLOCK_MARGIN_MS = 1000;
/** The store's timeout in the fault tests: long enough to tell a wait for it from no wait. */
const FAULT_TIMEOUT_MS = 100;
/** The time an HTTP round trip on loopback may add to a refusal, on a loaded machine. */
const HTTP_MARGIN_MS = 400;
/** The line `ReplayCheck` logs when the store fails (at most once per 10 s). */
const STORE_FAILURE = 'Approov replay store failed';

@Controller()
class PaymentsController {
  /** Signed, each signature accepted once: the module's policy. */
  @Get('pay')
  pay(): object {
    return ran('pay');
  }

  @Get('transfer')
  @ApproovMessageSigning({ labels: ['install', 'account'] })
  transfer(): object {
    return ran('transfer');
  }

  /** The token alone. */
  @Get('balance')
  @ApproovMessageSigning(false)
  balance(): object {
    return ran('balance');
  }
}

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly approov: ApproovHealthIndicator,
  ) {}

  @Get('health')
  @SkipApproov()
  @HealthCheck()
  check() {
    return this.health.check([() => this.approov.isHealthy()]);
  }
}

interface AppOptions {
  /** The replay store; the default in-memory one when left out. */
  store?: ApproovReplayStore;
  /** Where the store goes: the module's `replayStore`, or `messageSigning.replay`. */
  via?: 'replayStore' | 'messageSigning.replay';
  onResult?: (event: ApproovResultEvent) => void;
}

/** An app whose signed routes accept each signature once, with a health check. */
function startApp(adapter: AdapterName, { store, via = 'replayStore', onResult }: AppOptions = {}) {
  const options: ApproovModuleOptions = {
    secret: SECRET,
    messageSigning: {
      accountKey: ACCOUNT_KEY,
      accountKeyId: ACCOUNT_KEY_ID,
      clockToleranceSeconds: TOLERANCE_SECONDS,
      replay: via === 'messageSigning.replay' && store !== undefined ? store : true,
    },
    ...(via === 'replayStore' && store !== undefined && { replayStore: store }),
    onResult,
  };
  return TestApp.start(
    adapter,
    {
      imports: [ApproovModule.forRoot(options), TerminusModule],
      controllers: [PaymentsController, HealthController],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }, ApproovHealthIndicator],
    },
    { rawBody: true },
  );
}

interface SignOptions {
  labels?: ('install' | 'account')[];
  now?: number;
  installKey?: ApproovInstallKey;
  did?: string;
}

/** The headers of a new signed GET of `path`, as an SDK sends it to the public host. */
function signed(
  path = '/pay',
  { labels = ['install'], now, installKey, did = 'device-1' }: SignOptions = {},
): Record<string, string> {
  return signApproovRequest({
    secret: SECRET,
    method: 'GET',
    url: `http://${PUBLIC_HOST}${path}`,
    labels,
    accountKey: ACCOUNT_KEY,
    accountKeyId: ACCOUNT_KEY_ID,
    installKey,
    now,
    token: { claims: { did } },
  }).headers;
}

/** Sends `headers` to `path` of `app` as the load balancer forwards it: with the public Host. */
function send(app: TestApp, path: string, headers: Record<string, string>) {
  return app.sendRaw('get', path, [...Object.entries(headers), ['Host', PUBLIC_HOST]]);
}

/** `send()`, and how long the answer took, in milliseconds. */
async function timedSend(
  app: TestApp,
  path: string,
  headers: Record<string, string>,
): Promise<{ response: Response; ms: number }> {
  const start = performance.now();
  const response = await send(app, path, headers);
  return { response, ms: performance.now() - start };
}

/** The lines of this request's log that report a failing store. */
const storeFailureLines = () => logs.lines.filter((line) => line.startsWith(STORE_FAILURE));

/**
 * Asserts the refusal of a request whose claim failed: 401, body `{}`, the handler not run, one
 * rejection line naming `replay_store_unavailable` beside any store-failure line, no token logged.
 * Returns the store-failure lines.
 */
function expectStoreRefusal(response: Response): string[] {
  expect({ status: response.status, body: response.text }).toEqual({ status: 401, body: '{}' });
  expect(handlerCalls).toEqual([]);
  const failures = storeFailureLines();
  expect(logs.lines.filter((line) => !line.startsWith(STORE_FAILURE))).toEqual([
    expect.stringContaining('rejected: replay_store_unavailable'),
  ]);
  expectNoTokenLogged();
  return failures;
}

/** Every key under `prefix`, by SCAN. */
async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

/** The bytes of `label`'s signature in a `Signature` header. */
function signatureBytes(signatureHeader: string, label: string): Buffer {
  const match = new RegExp(`(?:^|,\\s*)${label}=:([A-Za-z0-9+/=]+):`).exec(signatureHeader);
  if (match === null) throw new Error(`no ${label} signature in ${signatureHeader}`);
  return Buffer.from(match[1], 'base64');
}

/** A client of `url` that the test closes; its connection errors are the test's to observe. */
function clientOf(url: string): Redis {
  // On disconnect ioredis arms a timer to destroy its stream, even one that Redis closed already
  // (the stopped server's): 2 s by default, which would hold Jest open after the tests.
  const client = new Redis(url, { disconnectTimeout: 10 });
  // Without a listener ioredis prints each failed reconnection; the tests watch its events instead.
  client.on('error', () => {});
  return client;
}

describeWithRedis('replay protection with Redis: instances sharing one', 'shared', () => {
  let redis: SharedRedis;
  beforeAll(async () => {
    redis = await sharedRedis();
  });
  afterAll(() => redis.close());

  describe.each([
    ['express', 'fastify'],
    ['fastify', 'express'],
  ] as const)('%s and %s', (firstAdapter, secondAdapter) => {
    /** Apart from the other pair's keys, and other runs' should `REDIS_URL` be shared. */
    const keyPrefix = `approov-e2e:${randomUUID()}:`;
    let clients: Redis[];
    let first: TestApp;
    let second: TestApp;
    /** The test's own look at Redis. */
    let inspector: Redis;

    beforeAll(async () => {
      clients = [clientOf(redis.url), clientOf(redis.url)];
      inspector = clientOf(redis.url);
      await Promise.all([...clients, inspector].map((client) => nextEvent(client, 'ready')));
      // A generous timeout: the concurrency test loads this one process with 200 requests.
      const options: ApproovRedisReplayStoreOptions = { keyPrefix, timeoutMs: 2000 };
      first = await startApp(firstAdapter, {
        store: new ApproovRedisReplayStore(clients[0], options),
      });
      second = await startApp(secondAdapter, {
        store: new ApproovRedisReplayStore(clients[1], options),
        via: 'messageSigning.replay',
      });
    });
    afterAll(async () => {
      await Promise.all([first?.close(), second?.close()]);
      for (const client of [...clients, inspector]) client.disconnect();
    });

    it('a signature accepted by one instance is refused by the other, and by the first again', async () => {
      const request = signed();
      expectAccepted(await send(first, '/pay', request), 'pay');
      expectRefused(await send(second, '/pay', request), 'replayed_signature');
      expectRefused(await send(first, '/pay', request), 'replayed_signature');
      // And the other way round.
      const other = signed();
      expectAccepted(await send(second, '/pay', other), 'pay');
      expectRefused(await send(first, '/pay', other), 'replayed_signature');
    });

    it('leaves a route without signatures alone: the same request passes again and again', async () => {
      const request = signed('/balance');
      for (const app of [first, second, first, second]) {
        expectAccepted(await send(app, '/balance', request), 'balance');
      }
      const tokenOnly = { 'Approov-Token': mint() };
      expectAccepted(await send(first, '/balance', tokenOnly), 'balance');
      expectAccepted(await send(second, '/balance', tokenOnly), 'balance');
    });

    it('accepts a new signature made with the same token', async () => {
      const installKey = generateApproovInstallKey();
      const now = Date.now();
      const once = signed('/pay', { installKey, now });
      const again = signed('/pay', { installKey, now });
      expect(again['Approov-Token']).toBe(once['Approov-Token']);
      expect(again.Signature).not.toBe(once.Signature);
      expectAccepted(await send(first, '/pay', once), 'pay');
      expectAccepted(await send(second, '/pay', again), 'pay');
      expectRefused(await send(second, '/pay', once), 'replayed_signature');
      expectRefused(await send(first, '/pay', again), 'replayed_signature');
    });

    it('keeps each signature under the prefix by its bytes alone, until it can no longer pass', async () => {
      // The earlier tests' keys go, so that the SCAN below finds this request's alone.
      const earlier = await keysUnder(inspector, keyPrefix);
      if (earlier.length > 0) await inspector.del(...earlier);
      const did = `device-${randomUUID()}`;
      const now = Date.now();
      const request = signed('/transfer', { labels: ['install', 'account'], now, did });
      const before = Date.now();
      expectAccepted(await send(first, '/transfer', request), 'transfer');
      const keys = await keysUnder(inspector, keyPrefix);
      const ttls = await Promise.all(keys.map((key) => inspector.pttl(key)));
      const after = Date.now();

      // The key of `install` is r, the first half of raw r||s: its malleated twin has the same r.
      const install = signatureBytes(request.Signature, 'install').subarray(0, 32);
      const account = signatureBytes(request.Signature, 'account');
      expect(keys).toEqual(
        [
          `${keyPrefix}install:${install.toString('base64url')}`,
          `${keyPrefix}account:${account.toString('base64url')}`,
        ].sort(),
      );
      const token = request['Approov-Token'];
      const { ipk } = payloadOf(token) as { ipk: string };
      for (const key of keys) {
        for (const secret of [token, token.split('.')[1], did, ipk, ipk.slice(0, 40)]) {
          expect(key).not.toContain(secret);
        }
        expect(await inspector.get(key)).toBe('1');
      }

      // It passes until `expires` + tolerance (sooner than `created` + maxAge + tolerance).
      const created = Math.floor(now / 1000);
      const lastValidMs = (created + SDK_SIGNATURE_LIFETIME_SECONDS + TOLERANCE_SECONDS) * 1000;
      const expiresAtMs = lastValidMs + CLOCK_MARGIN_MS;
      for (const ttl of ttls) {
        // Set between `before` and `after`, read by `after`; 1 ms for rounding up.
        expect(ttl).toBeGreaterThanOrEqual(expiresAtMs - after - 1);
        expect(ttl).toBeLessThanOrEqual(expiresAtMs - before + 1);
      }

      // Redis forgets the keys when they expire (brought forward, rather than waited for).
      for (const key of keys) await inspector.pexpire(key, 1);
      await waitUntil(
        'the keys expired',
        async () => (await inspector.exists(...keys)) === 0,
        2000,
      );
      expect(await keysUnder(inspector, keyPrefix)).toEqual([]);
      // Nothing else remembered it: had the signature still been valid after the keys expired, it
      // would have passed once more.
      expectAccepted(await send(second, '/transfer', request), 'transfer');
      expectRefused(await send(first, '/transfer', request), 'replayed_signature');
    });

    it('runs the handler once for 200 concurrent copies of one request, split between the instances', async () => {
      const request = signed();
      const copies = 200;
      const responses = await Promise.all(
        Array.from({ length: copies }, (_, copy) =>
          send(copy % 2 === 0 ? first : second, '/pay', request),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 401)).toHaveLength(copies - 1);
      expect(new Set(responses.filter((r) => r.status === 401).map((r) => r.text))).toEqual(
        new Set(['{}']),
      );
      expect(handlerCalls).toEqual(['pay']);
      expect(logs.lines).toHaveLength(copies - 1);
      for (const line of logs.lines) expect(line).toContain('rejected: replayed_signature');
      expectNoTokenLogged();
    });
  });
});

/** A server, a client of it, a store on the client and an app on the store, closed after `check`. */
async function withRedisApp(
  adapter: AdapterName,
  storeOptions: ApproovRedisReplayStoreOptions,
  check: (setup: { server: RedisServer; client: Redis; app: TestApp }) => Promise<void>,
  appOptions: Omit<AppOptions, 'store'> = {},
): Promise<void> {
  const server = await RedisServer.start();
  const client = clientOf(server.url);
  let app: TestApp | undefined;
  try {
    await nextEvent(client, 'ready');
    const store = new ApproovRedisReplayStore(client, storeOptions);
    app = await startApp(adapter, { ...appOptions, store });
    await check({ server, client, app });
  } finally {
    await app?.close();
    client.disconnect();
    await server.close();
  }
}

/** Stops `server` and waits until `client` has seen its connection close. */
async function stopRedis(server: RedisServer, client: Redis): Promise<void> {
  const closed = nextEvent(client, 'close');
  await server.stop();
  await closed;
}

describeWithRedis('replay protection with Redis: when Redis fails', 'own', () => {
  describe.each(ADAPTERS)('%s', (adapter) => {
    it('refuses while Redis is stopped, at once, logging it once; recovers when it restarts', async () => {
      await withRedisApp(
        adapter,
        { timeoutMs: FAULT_TIMEOUT_MS },
        async ({ server, client, app }) => {
          expectAccepted(await send(app, '/pay', signed()), 'pay');
          await stopRedis(server, client);

          const failures: string[] = [];
          for (let attempt = 0; attempt < 3; attempt++) {
            const { response, ms } = await timedSend(app, '/pay', signed());
            failures.push(...expectStoreRefusal(response));
            expect(ms).toBeLessThan(FAULT_TIMEOUT_MS + HTTP_MARGIN_MS);
          }
          expect(failures).toEqual([
            expect.stringMatching(
              /^Approov replay store failed \("ApproovRedisUnavailableError: the Redis client is \w+"\): requests that need it are refused until it answers$/,
            ),
          ]);
          expect(failures[0]).not.toContain('is ready');

          // The same client reconnects by itself; the app is not restarted.
          const ready = nextEvent(client, 'ready');
          await server.restart();
          await ready;
          const request = signed();
          expectAccepted(await send(app, '/pay', request), 'pay');
          expectRefused(await send(app, '/pay', request), 'replayed_signature');
        },
      );
    });

    it("lets requests through unchecked while Redis is stopped, with onStoreError 'allow'", async () => {
      const events: ApproovResultEvent[] = [];
      await withRedisApp(
        adapter,
        { timeoutMs: FAULT_TIMEOUT_MS, onStoreError: 'allow' },
        async ({ server, client, app }) => {
          await stopRedis(server, client);
          const request = signed();
          // Unchecked: even its replay passes, which is what 'allow' trades for availability.
          const failures: string[] = [];
          for (let attempt = 0; attempt < 2; attempt++) {
            const { response, ms } = await timedSend(app, '/pay', request);
            expect(response.status).toBe(200);
            expect(handlerCalls).toEqual(['pay']);
            expect(ms).toBeLessThan(FAULT_TIMEOUT_MS + HTTP_MARGIN_MS);
            failures.push(...storeFailureLines());
            expect(logs.lines).toEqual(storeFailureLines());
          }
          expect(failures).toEqual([
            expect.stringMatching(
              /^Approov replay store failed \(.*\): requests that need it are let through unchecked until it answers$/,
            ),
          ]);
          expect(events).toEqual([
            expect.objectContaining({ outcome: 'accepted', route: '/pay', replayUnchecked: true }),
            expect.objectContaining({ outcome: 'accepted', route: '/pay', replayUnchecked: true }),
          ]);
        },
        { onResult: (event) => events.push(event) },
      );
    });

    it('refuses within the timeout while Redis holds the claim (paused)', async () => {
      await withRedisApp(
        adapter,
        { timeoutMs: FAULT_TIMEOUT_MS },
        async ({ server, client, app }) => {
          await server.pauseWrites();
          const request = signed();
          const { response, ms } = await timedSend(app, '/pay', request);
          expect(expectStoreRefusal(response)).toEqual([
            expect.stringContaining(`Redis did not answer in ${FAULT_TIMEOUT_MS} ms`),
          ]);
          // It waited for Redis as long as the timeout, and no longer.
          expect(ms).toBeGreaterThanOrEqual(FAULT_TIMEOUT_MS - 1);
          expect(ms).toBeLessThan(FAULT_TIMEOUT_MS + HTTP_MARGIN_MS);

          await server.unpause();
          // Answered after the claim it held, on the same connection: that claim has landed.
          await client.ping();
          // As documented: a claim that timed out may still reach Redis, and use the signature up.
          expectRefused(await send(app, '/pay', request), 'replayed_signature');
          expectAccepted(await send(app, '/pay', signed()), 'pay');
        },
      );
    });

    it('refuses when Redis answers the claim with an error (out of memory)', async () => {
      await withRedisApp(adapter, { timeoutMs: FAULT_TIMEOUT_MS }, async ({ server, app }) => {
        await server.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        await server.command('CONFIG', 'SET', 'maxmemory', '1');
        expect(expectStoreRefusal(await send(app, '/pay', signed()))).toEqual([
          expect.stringContaining('ReplyError: OOM command not allowed'),
        ]);
        await server.command('CONFIG', 'SET', 'maxmemory', '0');
        expectAccepted(await send(app, '/pay', signed()), 'pay');
      });
    });
  });
});

describeWithRedis('replay protection with Redis: a Redis Cluster of three masters', 'own', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  }, CLUSTER_START_DEADLINE_MS + 5000);
  afterAll(() => cluster?.close());

  it.each(ADAPTERS)('%s: accepts a signature once, and refuses its replay', async (adapter) => {
    const client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
    let app: TestApp | undefined;
    try {
      await nextEvent(client, 'ready');
      const keyPrefix = `approov-cluster:${randomUUID()}:`;
      app = await startApp(adapter, {
        store: new ApproovRedisReplayStore(client, { keyPrefix, timeoutMs: 1000 }),
      });
      // Signatures until each master holds a key of one (a key's slot follows its bytes): every
      // master takes claims. Each claim is on one key, so no slot has to span two masters.
      const masters = client.nodes('master');
      expect(masters).toHaveLength(3);
      /** Each master's keys of this test: SCAN on a node lists its own. */
      const perMaster = () => Promise.all(masters.map((master) => keysUnder(master, keyPrefix)));
      const claimed: string[] = [];
      for (let request = 0; request < 60; request++) {
        const headers = signed();
        expectAccepted(await send(app, '/pay', headers), 'pay');
        expectRefused(await send(app, '/pay', headers), 'replayed_signature');
        const r = signatureBytes(headers.Signature, 'install').subarray(0, 32);
        claimed.push(`${keyPrefix}install:${r.toString('base64url')}`);
        if ((await perMaster()).every((keys) => keys.length > 0)) break;
      }
      const held = await perMaster();
      expect(held.flat().sort()).toEqual(claimed.sort());
      expect(held.map((keys) => keys.length > 0)).toEqual([true, true, true]);
    } finally {
      await app?.close();
      client.disconnect();
    }
  });
});

describeWithRedis('replay protection with Redis: the health check', 'own', () => {
  describe.each(ADAPTERS)('%s', (adapter) => {
    it('is up while Redis answers, and down with the reason once it stops', async () => {
      await withRedisApp(
        adapter,
        { timeoutMs: FAULT_TIMEOUT_MS },
        async ({ server, client, app }) => {
          const up = await app.get('/health');
          expect(up.status).toBe(200);
          expect(up.body).toMatchObject({
            status: 'ok',
            info: { approov: { status: 'up', replayStore: 'ApproovRedisReplayStore' } },
          });

          await stopRedis(server, client);
          const down = await app.get('/health');
          expect(down.status).toBe(503);
          const approov = {
            status: 'down',
            replayStore: 'ApproovRedisReplayStore',
            message: expect.stringMatching(
              /^ApproovRedisUnavailableError: the Redis client is \w+$/,
            ),
          };
          expect(down.body).toMatchObject({ status: 'error', error: { approov } });
        },
      );
    });
  });
});

describe.each(ADAPTERS)(
  'replay protection: the health check of the default store (%s)',
  (adapter) => {
    it('is up with the in-memory store', async () => {
      const app = await startApp(adapter);
      try {
        const response = await app.get('/health');
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({
          status: 'ok',
          info: { approov: { status: 'up', replayStore: 'ApproovMemoryReplayStore' } },
        });
      } finally {
        await app.close();
      }
    });
  },
);
