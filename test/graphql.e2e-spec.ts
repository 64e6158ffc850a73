import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { APP_GUARD } from '@nestjs/core';
import { GraphQLModule, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import { createClient } from 'graphql-ws';
import {
  ApproovClaims,
  ApproovGuard,
  type ApproovMessageSigningOptions,
  ApproovModule,
  ApproovTokenBinding,
  SkipApproov,
} from 'nestjs-approov';
import { signApproovRequest } from 'nestjs-approov/testing';
import WebSocket from 'ws';
import {
  ADAPTERS,
  type AdapterName,
  expectNoTokenLogged,
  handlerCalls,
  logs,
  TestApp,
} from './support/test-app.js';
import { header, mint, SECRET } from './support/tokens.js';

const typeDefs = `
  type Query { hello: String, health: String }
  type Mutation { order: String }
  type Subscription { ticks: Int }
`;

@Resolver()
class ThingsResolver {
  @Query()
  hello(@ApproovClaims('did') did: string | undefined): string {
    handlerCalls.push('hello');
    return `hello ${did ?? 'anonymous'}`;
  }

  @Query()
  @SkipApproov()
  health(): string {
    handlerCalls.push('health');
    return 'ok';
  }

  @Mutation()
  @ApproovTokenBinding('Authorization')
  order(): string {
    handlerCalls.push('order');
    return 'ordered';
  }

  @Subscription()
  ticks(): AsyncIterator<{ ticks: number }> {
    handlerCalls.push('ticks');
    return (async function* () {
      for (const ticks of [1, 2]) yield await Promise.resolve({ ticks });
    })();
  }
}

const HELLO = JSON.stringify({ query: '{ hello }' });

/** The headers of the `hello` query to `app`, signed now by device-3's SDK. */
const signedHello = (app: TestApp) =>
  signApproovRequest({
    secret: SECRET,
    method: 'POST',
    url: `${app.address}/graphql`,
    headers: { 'Content-Type': 'application/json' },
    body: HELLO,
    token: { claims: { did: 'device-3' } },
  }).headers;

/**
 * Asserts GraphQL's answer to a refusal: the field is null, with an UNAUTHENTICATED error that
 * says no more, and no resolver ran.
 */
function expectGraphQLRefused(
  response: {
    status: number;
    body: { data?: unknown; errors?: { message: string; extensions: { code: string } }[] };
  },
  field: string,
  reason: string,
): void {
  expect(response.body.data).toEqual({ [field]: null });
  expect(response.body.errors).toEqual([
    expect.objectContaining({
      message: 'Unauthorized',
      extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    }),
  ]);
  expect(handlerCalls).toEqual([]);
  expect(logs.lines).toEqual([expect.stringContaining(`rejected: ${reason} `)]);
  expectNoTokenLogged();
}

describe.each(ADAPTERS)('GraphQL with Apollo (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start(adapter, {
      imports: [
        ApproovModule.forRoot({ secret: SECRET }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          typeDefs,
          subscriptions: { 'graphql-ws': true },
        }),
      ],
      providers: [ThingsResolver, { provide: APP_GUARD, useExisting: ApproovGuard }],
    });
  });
  afterAll(() => app.close());

  const query = (source: string, headers: Record<string, string> = {}) =>
    app.post('/graphql', { query: source }, headers);

  it('answers a query with a valid token, with the claims in the resolver', async () => {
    const response = await query('{ hello }', header(mint({ claims: { did: 'device-9' } })));
    expect(response.body).toEqual({ data: { hello: 'hello device-9' } });
    expect(handlerCalls).toEqual(['hello']);
    expect(logs.lines).toEqual([]);
  });

  it('refuses a query without a token', async () => {
    expectGraphQLRefused(await query('{ hello }'), 'hello', 'missing_token');
  });

  it('refuses a query with an expired token, naming the GraphQL field in the log', async () => {
    const response = await query('{ hello }', header(mint({ ttlSeconds: -1 })));
    expectGraphQLRefused(response, 'hello', 'expired');
    expect(logs.lines[0]).toContain('(POST Query.hello)');
  });

  it('skips a resolver marked @SkipApproov()', async () => {
    const response = await query('{ health }');
    expect(response.body).toEqual({ data: { health: 'ok' } });
    expect(handlerCalls).toEqual(['health']);
  });

  it('binds a mutation marked @ApproovTokenBinding()', async () => {
    const token = mint({ bind: ['Bearer user'] });
    const bound = await query('mutation { order }', {
      ...header(token),
      Authorization: 'Bearer user',
    });
    expect(bound.body).toEqual({ data: { order: 'ordered' } });
    expect(handlerCalls).toEqual(['order']);
    const other = await query('mutation { order }', {
      ...header(token),
      Authorization: 'Bearer x',
    });
    expectGraphQLRefused(other, 'order', 'binding_mismatch');
  });

  describe('subscriptions over graphql-ws', () => {
    /** Subscribes to `ticks` with `connectionParams`; resolves with the values or the errors. */
    const subscribe = (connectionParams: Record<string, string>) => {
      handlerCalls.length = 0;
      logs.clear();
      const client = createClient({
        url: `${app.address.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
      });
      return new Promise<{ values: unknown[]; errors: unknown }>((resolve) => {
        const values: unknown[] = [];
        client.subscribe(
          { query: 'subscription { ticks }' },
          {
            next: (value) => values.push(value),
            error: (errors) => resolve({ values, errors }),
            complete: () => resolve({ values, errors: undefined }),
          },
        );
      }).finally(() => client.dispose());
    };

    it('reads the token from the connection parameters', async () => {
      const { values, errors } = await subscribe(header(mint()));
      expect(errors).toBeUndefined();
      expect(values).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }]);
      expect(handlerCalls).toEqual(['ticks']);
    });

    it('refuses a subscription without a valid token', async () => {
      const cases = [
        { params: {}, reason: 'missing_token' },
        { params: header(mint({ ttlSeconds: -1 })), reason: 'expired' },
      ];
      for (const { params, reason } of cases) {
        const { values, errors } = await subscribe(params);
        expect(errors).toBeUndefined();
        expect(values).toEqual([
          { errors: [expect.objectContaining({ message: 'Unauthorized', path: ['ticks'] })] },
        ]);
        expect(handlerCalls).toEqual([]);
        expect(logs.lines).toEqual([
          expect.stringContaining(`rejected: ${reason} (GET Subscription.ticks)`),
        ]);
      }
    });
  });
});

describe.each(ADAPTERS)('GraphQL over HTTP with message signing (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startSigned(adapter, { labels: ['install'] });
  });
  afterAll(() => app.close());

  const body = HELLO;
  const signed = () => signedHello(app);

  it('answers a signed query like any signed request', async () => {
    const response = await app.sendRaw('post', '/graphql', Object.entries(signed()), body);
    expect(response.body).toEqual({ data: { hello: 'hello device-3' } });
    expect(handlerCalls).toEqual(['hello']);
    expect(logs.lines).toEqual([]);
  });

  it('refuses an unsigned query, and a signed one whose body changed', async () => {
    const unsigned = await query(app, body, {
      ...header(mint()),
      'Content-Type': 'application/json',
    });
    expectGraphQLRefused(unsigned, 'hello', 'missing_signature');
    // As long as the signed one: Content-Length is signed too.
    const changed = body.replace('{ hello }', '{hello  }');
    const tampered = await app.sendRaw('post', '/graphql', Object.entries(signed()), changed);
    expectGraphQLRefused(tampered, 'hello', 'content_digest_mismatch');
  });

  describe('subscriptions: the signed handshake must carry the token checked', () => {
    const subscribe = (headers: Record<string, string>, params: Record<string, string>) =>
      subscribeToTicks(app, headers, params);
    const signedHandshake = () =>
      signApproovRequest({ secret: SECRET, method: 'GET', url: `${app.address}/graphql` }).headers;

    it('accepts the token of the signed handshake', async () => {
      const headers = signedHandshake();
      const values = await subscribe(headers, { 'Approov-Token': headers['Approov-Token'] });
      expect(values).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }]);
      expect(handlerCalls).toEqual(['ticks']);
      expect(logs.lines).toEqual([]);
    });

    it('refuses another token in the connection parameters', async () => {
      const values = await subscribe(signedHandshake(), header(mint()));
      expect(values).toEqual([
        { errors: [expect.objectContaining({ message: 'Unauthorized', path: ['ticks'] })] },
      ]);
      expect(handlerCalls).toEqual([]);
      expect(logs.lines).toEqual([
        expect.stringContaining('rejected: signature_component_missing (GET Subscription.ticks)'),
      ]);
    });
  });
});

/** The GraphQL app (queries and subscriptions over graphql-ws) with `messageSigning`. */
const startSigned = (adapter: AdapterName, messageSigning: ApproovMessageSigningOptions) =>
  TestApp.start(
    adapter,
    {
      imports: [
        ApproovModule.forRoot({ secret: SECRET, messageSigning }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          typeDefs,
          subscriptions: { 'graphql-ws': true },
        }),
      ],
      providers: [ThingsResolver, { provide: APP_GUARD, useExisting: ApproovGuard }],
    },
    { rawBody: true },
  );

/**
 * Subscribes to `ticks` with the handshake headers `headers` and the connection parameters
 * `params`; resolves with what the subscription received, once it ends.
 */
function subscribeToTicks(
  app: TestApp,
  headers: Record<string, string>,
  params: Record<string, string>,
): Promise<unknown[]> {
  handlerCalls.length = 0;
  logs.clear();
  class SignedHandshake extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  const client = createClient({
    url: `${app.address.replace('http', 'ws')}/graphql`,
    webSocketImpl: SignedHandshake,
    connectionParams: params,
    retryAttempts: 0,
  });
  return new Promise<unknown[]>((resolve) => {
    const values: unknown[] = [];
    client.subscribe(
      { query: 'subscription { ticks }' },
      {
        next: (value) => values.push(value),
        error: () => resolve(values),
        complete: () => resolve(values),
      },
    );
  }).finally(() => client.dispose());
}

const query = (app: TestApp, body: string, headers: Record<string, string>) =>
  app.sendRaw('post', '/graphql', Object.entries(headers), body);

describe.each(ADAPTERS)('GraphQL with replay-checked signatures (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startSigned(adapter, { labels: ['install'], replay: true });
  });
  afterAll(() => app.close());

  it('answers a signed query once, and refuses it sent again', async () => {
    const body = HELLO;
    const headers = signedHello(app);
    const first = await query(app, body, headers);
    expect(first.body).toEqual({ data: { hello: 'hello device-3' } });
    expect(handlerCalls).toEqual(['hello']);
    expect(logs.lines).toEqual([]);
    expectGraphQLRefused(await query(app, body, headers), 'hello', 'replayed_signature');
  });

  it('opens one subscription per signed handshake: a second connection with it is refused', async () => {
    const headers = signApproovRequest({
      secret: SECRET,
      method: 'GET',
      url: `${app.address}/graphql`,
    }).headers;
    const subscribe = () =>
      subscribeToTicks(app, headers, { 'Approov-Token': headers['Approov-Token'] });
    expect(await subscribe()).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }]);
    expect(handlerCalls).toEqual(['ticks']);
    expect(logs.lines).toEqual([]);
    expect(await subscribe()).toEqual([
      { errors: [expect.objectContaining({ message: 'Unauthorized', path: ['ticks'] })] },
    ]);
    expect(handlerCalls).toEqual([]);
    expect(logs.lines).toEqual([
      expect.stringContaining('rejected: replayed_signature (GET Subscription.ticks)'),
    ]);
    expectNoTokenLogged();
  });
});
