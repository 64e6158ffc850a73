import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import {
  describeWithRedis,
  freePort,
  RedisServer,
  sharedRedis,
  type SharedRedis,
} from '../../test/support/redis-server.js';
import { ApproovConfigError } from '../module/config-error.js';
import {
  type ApproovRedisClient,
  ApproovRedisReplayStore,
  ApproovRedisUnavailableError,
} from './redis-replay-store.js';

/** A client that is never called: for the constructor's checks. */
const unusedClient: ApproovRedisClient = {
  set: () => Promise.reject(new Error('not called')),
  ping: () => Promise.reject(new Error('not called')),
};

/** Slack for the event loop around a timer, on a loaded machine. */
const MARGIN_MS = 250;

describe('ApproovRedisReplayStore options', () => {
  /** The error `create` throws, checked for the option it names. */
  function expectConfigError(create: () => unknown, option: string, problem: string): void {
    let error: unknown;
    try {
      create();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ApproovConfigError);
    expect((error as ApproovConfigError).option).toBe(option);
    expect((error as Error).message).toContain(`"${option}" ${problem}`);
  }

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a URL', 'redis://127.0.0.1:6379'],
    ['an object without set()', { ping: () => Promise.resolve() }],
    ['an object without ping()', { set: () => Promise.resolve('OK') }],
  ])('refuses %s as the client', (_name, client) => {
    expectConfigError(
      () => new ApproovRedisReplayStore(client as unknown as ApproovRedisClient),
      'ApproovRedisReplayStore',
      'needs an ioredis client',
    );
  });

  it.each([[42], [null], [{}]])('refuses keyPrefix %p', (keyPrefix) => {
    expectConfigError(
      () => new ApproovRedisReplayStore(unusedClient, { keyPrefix: keyPrefix as string }),
      'ApproovRedisReplayStore.keyPrefix',
      'must be text',
    );
  });

  it.each([[0], [-1], [1.5], [10_001], [NaN], [Infinity], ['50']])(
    'refuses timeoutMs %p',
    (timeoutMs) => {
      expectConfigError(
        () => new ApproovRedisReplayStore(unusedClient, { timeoutMs: timeoutMs as number }),
        'ApproovRedisReplayStore.timeoutMs',
        'must be a whole number of milliseconds from 1 to 10000',
      );
    },
  );

  it.each([['deny'], [''], [true]])('refuses onStoreError %p', (onStoreError) => {
    expectConfigError(
      () =>
        new ApproovRedisReplayStore(unusedClient, {
          onStoreError: onStoreError as 'refuse',
        }),
      'ApproovRedisReplayStore.onStoreError',
      'must be "refuse" or "allow"',
    );
  });

  it('takes the bounds of timeoutMs, an empty prefix, and refuses store errors by default', () => {
    expect(new ApproovRedisReplayStore(unusedClient).onStoreError).toBe('refuse');
    const allowing = new ApproovRedisReplayStore(unusedClient, {
      keyPrefix: '',
      timeoutMs: 1,
      onStoreError: 'allow',
    });
    expect(allowing.onStoreError).toBe('allow');
    expect(new ApproovRedisReplayStore(unusedClient, { timeoutMs: 10_000 })).toBeInstanceOf(
      ApproovRedisReplayStore,
    );
  });
});

/** Runs `action` and returns how long it took to settle, in milliseconds, and how. */
async function timed(
  action: () => Promise<unknown>,
): Promise<{ ms: number; error: unknown; value: unknown }> {
  const start = performance.now();
  try {
    const value = await action();
    return { ms: performance.now() - start, error: undefined, value };
  } catch (error) {
    return { ms: performance.now() - start, error, value: undefined };
  }
}

describeWithRedis('ApproovRedisReplayStore against a real Redis', 'shared', () => {
  let redis: SharedRedis;
  let client: Redis;
  /** Apart from other runs' keys, should `REDIS_URL` be shared. */
  const keyPrefix = `approov-test:${randomUUID()}:`;

  beforeAll(async () => {
    redis = await sharedRedis();
    client = new Redis(redis.url);
    await once(client, 'ready');
  });
  afterAll(async () => {
    client.disconnect();
    await redis.close();
  });

  it('claims a key once: SET NX with the time to live, under the prefix', async () => {
    const store = new ApproovRedisReplayStore(client, { keyPrefix });
    await expect(store.claim('install:abc', 30_000)).resolves.toBe(true);
    await expect(store.claim('install:abc', 30_000)).resolves.toBe(false);
    await expect(store.claim('install:abd', 30_000)).resolves.toBe(true);
    expect(await client.get(`${keyPrefix}install:abc`)).toBe('1');
    const ttl = await client.pttl(`${keyPrefix}install:abc`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await client.del(`${keyPrefix}install:abc`, `${keyPrefix}install:abd`);
  });

  it('pings', async () => {
    await expect(new ApproovRedisReplayStore(client).ping()).resolves.toBeUndefined();
  });

  it('sends on a lazy client that has not connected yet (status wait): the command connects it', async () => {
    const lazy = new Redis(redis.url, { lazyConnect: true });
    try {
      expect(lazy.status).toBe('wait');
      const store = new ApproovRedisReplayStore(lazy, { keyPrefix });
      await expect(store.claim('account:lazy', 5000)).resolves.toBe(true);
      expect(lazy.status).toBe('ready');
      await lazy.del(`${keyPrefix}account:lazy`);
    } finally {
      lazy.disconnect();
    }
  });

  it('fails fast, without waiting for its timeout, when the client is not connected', async () => {
    const ended = new Redis(redis.url);
    await once(ended, 'ready');
    const closed = once(ended, 'end');
    ended.disconnect();
    await closed;
    // Nothing listens there: the client keeps trying, and is never ready.
    const unreachable = new Redis({ port: await freePort(), host: '127.0.0.1' });
    unreachable.on('error', () => {});
    try {
      for (const notReady of [ended, unreachable]) {
        const store = new ApproovRedisReplayStore(notReady, { keyPrefix, timeoutMs: 5000 });
        for (const attempt of [() => store.claim('install:x', 1000), () => store.ping()]) {
          const { status } = notReady;
          expect(status).not.toBe('ready');
          const { ms, error } = await timed(attempt);
          expect(error).toBeInstanceOf(ApproovRedisUnavailableError);
          expect((error as Error).message).toBe(`the Redis client is ${status}`);
          expect(ms).toBeLessThan(MARGIN_MS);
        }
      }
    } finally {
      unreachable.disconnect();
    }
  });
});

describeWithRedis('ApproovRedisReplayStore against a failing Redis', 'own', () => {
  let server: RedisServer;
  let client: Redis;
  const TIMEOUT_MS = 100;

  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: server.host, port: server.port });
    await once(client, 'ready');
  });
  afterEach(async () => {
    // Whatever a test left paused or full answers again for the next one.
    await server.unpause();
    await server.command('CONFIG', 'SET', 'maxmemory', '0');
  });
  afterAll(async () => {
    client.disconnect();
    await server.close();
  });

  it('times out a claim that a paused server holds, within timeoutMs', async () => {
    const store = new ApproovRedisReplayStore(client, { timeoutMs: TIMEOUT_MS });
    await server.pauseWrites();
    const { ms, error } = await timed(() => store.claim('install:paused', 5000));
    expect(error).toBeInstanceOf(ApproovRedisUnavailableError);
    expect((error as Error).message).toBe(`Redis did not answer in ${TIMEOUT_MS} ms`);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    await server.unpause();
    // The timed-out SET still reached Redis once it answered: that key is used up.
    await client.ping();
    await expect(store.claim('install:paused', 5000)).resolves.toBe(false);
  });

  it('times out a ping that a server pausing every command holds, within timeoutMs', async () => {
    const store = new ApproovRedisReplayStore(client, { timeoutMs: TIMEOUT_MS });
    // Longer than the timeout and its margin; it ends by itself only.
    await server.pauseAll(TIMEOUT_MS + 2 * MARGIN_MS);
    const { ms, error } = await timed(() => store.ping());
    expect(error).toBeInstanceOf(ApproovRedisUnavailableError);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    await server.untilAnswering();
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it("rejects with Redis's error when it refuses the SET (out of memory)", async () => {
    const store = new ApproovRedisReplayStore(client, { timeoutMs: TIMEOUT_MS });
    await server.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await server.command('CONFIG', 'SET', 'maxmemory', '1');
    const { error } = await timed(() => store.claim('install:oom', 5000));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^OOM command not allowed/);
    // PING is not a write: a full Redis still pings.
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
