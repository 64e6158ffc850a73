import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Controller,
  type ExecutionContext,
  Get,
  type INestApplication,
  Injectable,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { GqlExecutionContext, GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import type { Response } from 'supertest';
import {
  type ApproovClaims as Claims,
  ApproovClaims,
  ApproovGuard,
  ApproovMode,
  ApproovModule,
  ApproovTokenBinding,
  ApproovVerified,
  SkipApproov,
} from 'nestjs-approov';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectRefused,
  handlerCalls,
  logs,
  ran,
  TestApp,
} from './support/test-app.js';
import { describeWithRedis, type SharedRedis, sharedRedis } from './support/redis-server.js';
import { header, mint, OTHER_SECRET, SECRET } from './support/tokens.js';

// @nestjs/throttler is CommonJS, and requires the ES modules of Nest: Jest can load it only after
// they are loaded (and only on Node.js 24.9 or later: tools/test.mjs runs this suite there).
const { SkipThrottle, Throttle, ThrottlerModule } = await import('@nestjs/throttler');
const { ThrottlerStorageRedisService } = await import('@nest-lab/throttler-storage-redis');
const { ApproovThrottlerGuard } = await import('nestjs-approov/throttler');

/** Two requests a minute per tracker: the tests never wait for the window to pass. */
const LIMIT = 2;

@Controller()
class LimitedController {
  @Get('data')
  data(): object {
    return ran('data');
  }

  @Get('public')
  @SkipApproov()
  public(): object {
    return ran('public');
  }

  /** Monitor mode lets a failed binding through with the claims exposed, not verified. */
  @Get('monitored')
  @ApproovMode('monitor')
  @ApproovTokenBinding('Authorization')
  monitored(
    @ApproovClaims() claims: Claims | undefined,
    @ApproovVerified() verified: boolean,
  ): object {
    handlerCalls.push('monitored');
    return { did: claims?.did ?? null, verified };
  }

  @Get('unlimited')
  @SkipThrottle()
  unlimited(): object {
    return ran('unlimited');
  }

  @Get('strict')
  @Throttle({ default: { limit: 1, ttl: 60_000 } })
  strict(): object {
    return ran('strict');
  }
}

const APPROOV_THEN_THROTTLER: Provider[] = [
  { provide: APP_GUARD, useClass: ApproovGuard },
  { provide: APP_GUARD, useClass: ApproovThrottlerGuard },
];

/** Express's `trust proxy` (Fastify's `trustProxy` is an option of its adapter). */
const trustingProxies = (adapter: AdapterName) => (app: INestApplication) => {
  if (adapter === 'express') (app as NestExpressApplication).set('trust proxy', true);
};

/**
 * An app behind a proxy that it trusts, so that `X-Forwarded-For` names the client's address; its
 * throttler counts in `storage` (default: @nestjs/throttler's own, in memory).
 */
const start = (adapter: AdapterName, guards = APPROOV_THEN_THROTTLER, storage?: ThrottlerStorage) =>
  TestApp.start(
    adapter,
    {
      imports: [
        ApproovModule.forRoot({ secret: SECRET }),
        ThrottlerModule.forRoot({ throttlers: [{ ttl: 60_000, limit: LIMIT }], storage }),
      ],
      controllers: [LimitedController],
      providers: guards,
    },
    { trustProxy: true, configure: trustingProxies(adapter) },
  );

/** A token of the device `did`. */
const deviceToken = (did: string) => mint({ claims: { did } });

/** @nestjs/throttler's own answer: 429, its body and `Retry-After`; no handler run, no line logged. */
function expectThrottled(response: Response): void {
  expect({ status: response.status, body: response.body as unknown }).toEqual({
    status: 429,
    body: { statusCode: 429, message: 'ThrottlerException: Too Many Requests' },
  });
  expect(response.headers['retry-after']).toBeDefined();
  expect(handlerCalls).toEqual([]);
  expect(logs.lines).toEqual([]);
}

describe.each(ADAPTERS)('ApproovThrottlerGuard after ApproovGuard (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await start(adapter);
  });
  afterAll(() => app.close());

  /** GET `path` from the client address `ip`, with `token` when given. */
  const get = (path: string, ip: string, token?: string) =>
    app.get(path, { 'X-Forwarded-For': ip, ...(token === undefined ? {} : header(token)) });

  /** Asserts that `handler` ran, with the throttler's count of what is left. */
  const expectAllowed = (response: Response, handler: string, remaining: number) => {
    expectAccepted(response, handler);
    expect(response.headers['x-ratelimit-remaining']).toBe(String(remaining));
  };

  it('gives each device behind one IP address the whole limit', async () => {
    const first = deviceToken('device-a');
    const second = deviceToken('device-b');
    expectAllowed(await get('/data', '203.0.113.1', first), 'data', 1);
    expectAllowed(await get('/data', '203.0.113.1', first), 'data', 0);
    expectAllowed(await get('/data', '203.0.113.1', second), 'data', 1);
    expectAllowed(await get('/data', '203.0.113.1', second), 'data', 0);
    expectThrottled(await get('/data', '203.0.113.1', first));
    expectThrottled(await get('/data', '203.0.113.1', second));
  });

  it('counts one device across IP addresses once, whatever its token', async () => {
    // A new token of the same device, as the SDK fetches every few minutes, is the same count.
    expectAllowed(await get('/data', '203.0.113.2', deviceToken('device-c')), 'data', 1);
    expectAllowed(await get('/data', '198.51.100.2', deviceToken('device-c')), 'data', 0);
    expectThrottled(await get('/data', '198.51.100.3', deviceToken('device-c')));
  });

  it('counts requests without verified claims by IP address: a route with @SkipApproov()', async () => {
    // The tokens are not checked there, so their devices count for nothing.
    expectAllowed(await get('/public', '203.0.113.4', deviceToken('device-d')), 'public', 1);
    expectAllowed(await get('/public', '203.0.113.4', deviceToken('device-e')), 'public', 0);
    expectThrottled(await get('/public', '203.0.113.4'));
    expectAllowed(await get('/public', '198.51.100.4', deviceToken('device-d')), 'public', 1);
  });

  it('counts a failed request that monitor mode let through by IP address, claims or not', async () => {
    const unbound = (did: string) => ({
      'X-Forwarded-For': '203.0.113.5',
      Authorization: 'Bearer b',
      ...header(mint({ bind: ['Bearer a'], claims: { did } })),
    });
    const first = await app.get('/monitored', unbound('device-f'));
    // A genuine token's claims, on a request that failed: were it counted by its did, a copy of
    // the token could use up that device's limit.
    expect(first.body).toEqual({ did: 'device-f', verified: false });
    expect(first.headers['x-ratelimit-remaining']).toBe('1');
    const second = await app.get('/monitored', unbound('device-g'));
    expect(second.body).toEqual({ did: 'device-g', verified: false });
    expect(second.headers['x-ratelimit-remaining']).toBe('0');
    const third = await app.get('/monitored', unbound('device-h'));
    expect({ status: third.status, body: third.body as unknown }).toEqual({
      status: 429,
      body: { statusCode: 429, message: 'ThrottlerException: Too Many Requests' },
    });
    expect(handlerCalls).toEqual([]);
    // The same route, verified: counted by the device.
    const verified = await app.get('/monitored', {
      'X-Forwarded-For': '203.0.113.5',
      Authorization: 'Bearer a',
      ...header(mint({ bind: ['Bearer a'], claims: { did: 'device-f' } })),
    });
    expect(verified.body).toEqual({ did: 'device-f', verified: true });
    expect(verified.headers['x-ratelimit-remaining']).toBe('1');
  });

  it('counts a verified token without a did by IP address', async () => {
    const anonymous = mint();
    expectAllowed(await get('/data', '203.0.113.6', anonymous), 'data', 1);
    expectAllowed(await get('/data', '203.0.113.6', anonymous), 'data', 0);
    expectThrottled(await get('/data', '203.0.113.6', anonymous));
    // A device whose did reads as that address has a count of its own.
    expectAllowed(await get('/data', '198.51.100.6', deviceToken('203.0.113.6')), 'data', 1);
  });

  it('answers a refused request with 401 {} before the throttler, which never counts it', async () => {
    const forged = mint({ secret: OTHER_SECRET, claims: { did: 'device-i' } });
    for (let attempt = 0; attempt < 2 * LIMIT; attempt += 1) {
      const noToken = await get('/data', '203.0.113.7');
      expectRefused(noToken, 'missing_token');
      expect(noToken.headers['x-ratelimit-remaining']).toBeUndefined();
      const forgedDevice = await get('/data', '203.0.113.7', forged);
      expectRefused(forgedDevice, 'bad_signature');
      expect(forgedDevice.headers['x-ratelimit-remaining']).toBeUndefined();
    }
    // Neither the address nor the device has used any of its limit.
    expectAllowed(await get('/data', '203.0.113.7', mint()), 'data', 1);
    expectAllowed(await get('/data', '203.0.113.7', deviceToken('device-i')), 'data', 1);
  });

  it('leaves the rest to @nestjs/throttler: @SkipThrottle() and @Throttle() limits', async () => {
    const token = deviceToken('device-j');
    for (let request = 0; request < 2 * LIMIT; request += 1) {
      const response = await get('/unlimited', '203.0.113.8', token);
      expectAccepted(response, 'unlimited');
      expect(response.headers['x-ratelimit-remaining']).toBeUndefined();
    }
    expectAllowed(await get('/strict', '203.0.113.8', token), 'strict', 0);
    expectThrottled(await get('/strict', '203.0.113.8', token));
    expectAllowed(await get('/strict', '203.0.113.8', deviceToken('device-k')), 'strict', 0);
  });
});

describe.each(ADAPTERS)('ApproovThrottlerGuard before ApproovGuard (%s)', (adapter) => {
  it('sees no claims, and lets refused requests use up the limit of their address', async () => {
    const app = await start(adapter, [...APPROOV_THEN_THROTTLER].reverse());
    try {
      const send = (token?: string) =>
        app.get('/data', {
          'X-Forwarded-For': '203.0.113.9',
          ...(token === undefined ? {} : header(token)),
        });
      expectRefused(await send(), 'missing_token');
      expectRefused(await send(), 'missing_token');
      // A genuine device behind that address is now refused by the throttler.
      expectThrottled(await send(deviceToken('device-l')));
    } finally {
      await app.close();
    }
  });
});

describeWithRedis('ApproovThrottlerGuard, instances sharing a Redis storage', 'shared', () => {
  let redis: SharedRedis;
  let client: Redis;
  /** One instance on each adapter, both counting in one Redis: with a storage each, these fail. */
  let instances: TestApp[];
  /** Devices of this run only: a shared `REDIS_URL` may still hold the counts of an earlier run. */
  const run = randomUUID();
  const did = (name: string) => `${name}-${run}`;
  beforeAll(async () => {
    redis = await sharedRedis();
    client = new Redis(redis.url);
    const storage = new ThrottlerStorageRedisService(client);
    instances = await Promise.all(
      ADAPTERS.map((adapter) => start(adapter, APPROOV_THEN_THROTTLER, storage)),
    );
  });
  afterAll(async () => {
    await Promise.all(instances.map((app) => app.close()));
    await client.quit();
    await redis.close();
  });

  const get = (app: TestApp, ip: string, token: string) =>
    app.get('/data', { 'X-Forwarded-For': ip, ...header(token) });

  it('counts one device once across the instances and its addresses', async () => {
    const [first, second] = instances;
    expectAccepted(await get(first, '203.0.113.20', deviceToken(did('device-r'))), 'data');
    expectAccepted(await get(second, '198.51.100.20', deviceToken(did('device-r'))), 'data');
    expectThrottled(await get(first, '198.51.100.21', deviceToken(did('device-r'))));
    expectThrottled(await get(second, '203.0.113.20', deviceToken(did('device-r'))));
  });

  it('gives each device behind one address its own limit on every instance', async () => {
    const [first, second] = instances;
    for (const device of ['device-s', 'device-t']) {
      expectAccepted(await get(first, '203.0.113.22', deviceToken(did(device))), 'data');
      expectAccepted(await get(second, '203.0.113.22', deviceToken(did(device))), 'data');
    }
    expectThrottled(await get(second, '203.0.113.22', deviceToken(did('device-s'))));
    expectThrottled(await get(first, '203.0.113.22', deviceToken(did('device-t'))));
  });
});

/**
 * @nestjs/throttler's recipe for GraphQL, on ApproovThrottlerGuard: the HTTP request and response
 * from the GraphQL context, where ApproovGuard leaves the claims too.
 */
@Injectable()
class GqlApproovThrottlerGuard extends ApproovThrottlerGuard {
  protected override getRequestResponse(context: ExecutionContext) {
    const { req, res } = GqlExecutionContext.create(context).getContext<{
      req: Record<string, unknown>;
      res: Record<string, unknown>;
    }>();
    return { req, res };
  }
}

@Resolver()
class HelloResolver {
  @Query()
  hello(): string {
    handlerCalls.push('hello');
    return 'hello';
  }
}

describe.each(ADAPTERS)('a subclass for GraphQL (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start(
      adapter,
      {
        imports: [
          ApproovModule.forRoot({ secret: SECRET }),
          ThrottlerModule.forRoot([{ ttl: 60_000, limit: LIMIT }]),
          GraphQLModule.forRoot<ApolloDriverConfig>({
            driver: ApolloDriver,
            typeDefs: 'type Query { hello: String }',
            // Express hands Apollo { req, res }; Fastify, the request and the reply.
            context:
              adapter === 'express'
                ? ({ req, res }: { req: unknown; res: unknown }) => ({ req, res })
                : (req: unknown, res: unknown) => ({ req, res }),
          }),
        ],
        providers: [
          HelloResolver,
          { provide: APP_GUARD, useClass: ApproovGuard },
          { provide: APP_GUARD, useClass: GqlApproovThrottlerGuard },
        ],
      },
      { trustProxy: true, configure: trustingProxies(adapter) },
    );
  });
  afterAll(() => app.close());

  const hello = (did: string) =>
    app.post(
      '/graphql',
      { query: '{ hello }' },
      {
        'X-Forwarded-For': '203.0.113.10',
        ...header(deviceToken(did)),
      },
    );

  it('gives each device behind one IP address the whole limit', async () => {
    for (const did of ['device-m', 'device-m', 'device-n', 'device-n']) {
      const response = await hello(did);
      expect(response.body).toEqual({ data: { hello: 'hello' } });
      expect(handlerCalls).toEqual(['hello']);
    }
    const throttled = await hello('device-m');
    expect(throttled.body).toMatchObject({
      data: { hello: null },
      errors: [{ message: 'ThrottlerException: Too Many Requests' }],
    });
    expect(handlerCalls).toEqual([]);
  });
});
