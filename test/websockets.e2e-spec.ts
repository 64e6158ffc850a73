import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type INestApplication, type Type, UseGuards } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import {
  MessageBody,
  type OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import {
  ApproovClaims,
  ApproovGuard,
  ApproovMemoryReplayStore,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovModuleOptions,
  ApproovTokenBinding,
  attachApproovHandshake,
  SkipApproov,
} from 'nestjs-approov';
import { signApproovRequest } from 'nestjs-approov/testing';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import {
  ADAPTERS,
  type AdapterName,
  expectNoTokenLogged,
  handlerCalls,
  logs,
  TestApp,
} from './support/test-app.js';
import { mint, SECRET } from './support/tokens.js';

@WebSocketGateway()
@UseGuards(ApproovGuard)
class EventsGateway implements OnGatewayConnection {
  handleConnection(client: object, request?: IncomingMessage): void {
    // The ws adapter hands the handshake over here only; socket.io clients keep theirs.
    if (request !== undefined) attachApproovHandshake(client, request);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: string, @ApproovClaims('did') did: string | undefined) {
    handlerCalls.push('echo');
    return { event: 'echo', data: { data, did: did ?? null } };
  }

  @SubscribeMessage('bound')
  @ApproovTokenBinding('Authorization')
  bound() {
    handlerCalls.push('bound');
    return { event: 'bound', data: 'ok' };
  }

  @SubscribeMessage('ping')
  @SkipApproov()
  ping() {
    handlerCalls.push('ping');
    return { event: 'ping', data: 'pong' };
  }
}

/** A connected client of either library, reduced to what the tests need. */
interface TestClient {
  /** Sends `event` and resolves with the server's answer, or with `null` if it refused it. */
  send(event: string, data?: unknown): Promise<unknown>;
  close(): void;
}

interface Handshake {
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

/** What the server sends back for a refused message: never the reason. */
function expectRefusal(error: unknown): null {
  expect(error).toEqual(expect.objectContaining({ status: 'error', message: 'Unauthorized' }));
  expect(JSON.stringify(error)).not.toMatch(/missing|expired|binding|duplicate/);
  return null;
}

/** socket.io: the answer comes as an event named like the message, a refusal as `exception`. */
async function socketIoClient(url: string, { headers, query }: Handshake): Promise<TestClient> {
  const socket: Socket = io(url, { transports: ['websocket'], extraHeaders: headers, query });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return {
    send: (event, data) =>
      new Promise((resolve) => {
        const answer = (reply: unknown) => {
          socket.off('exception', refuse);
          resolve(reply);
        };
        const refuse = (error: unknown) => {
          socket.off(event, answer);
          resolve(expectRefusal(error));
        };
        socket.once(event, answer);
        socket.once('exception', refuse);
        socket.emit(event, data);
      }),
    close: () => socket.close(),
  };
}

/** ws: every message is answered in order: `{ event, data }`, or `{ event: 'exception', ... }`. */
async function wsClient(url: string, { headers, query }: Handshake): Promise<TestClient> {
  const address = new URL(url.replace('http', 'ws'));
  for (const [name, value] of Object.entries(query ?? {})) address.searchParams.set(name, value);
  const socket = new WebSocket(address, { headers });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    send: (event, data) =>
      new Promise((resolve) => {
        socket.once('message', (message: Buffer) => {
          const reply = JSON.parse(message.toString()) as { event?: string; data?: unknown };
          resolve(reply.event === event ? reply.data : expectRefusal(reply.data));
        });
        socket.send(JSON.stringify({ event, data }));
      }),
    close: () => socket.close(),
  };
}

const CLIENTS = { 'socket.io': socketIoClient, ws: wsClient } as const;
type ClientName = keyof typeof CLIENTS;

const COMBINATIONS = ADAPTERS.flatMap((adapter) =>
  (Object.keys(CLIENTS) as ClientName[]).map((client) => [adapter, client] as const),
);

async function startGateway(adapter: AdapterName, client: ClientName): Promise<TestApp> {
  return TestApp.start(
    adapter,
    {
      imports: [ApproovModule.forRoot({ secret: SECRET, allowQueryToken: 'approov_token' })],
      providers: [EventsGateway],
    },
    {
      configure: (app: INestApplication) =>
        app.useWebSocketAdapter(client === 'ws' ? new WsAdapter(app) : new IoAdapter(app)),
    },
  );
}

describe.each(COMBINATIONS)('WebSocket gateway (%s HTTP, %s)', (adapter, clientName) => {
  let app: TestApp;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    app = await startGateway(adapter, clientName);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await app.close();
  });
  const connect = async (handshake: Handshake) => {
    const client = await CLIENTS[clientName](app.address, handshake);
    clients.push(client);
    handlerCalls.length = 0;
    logs.clear();
    return client;
  };
  const header = (token: string) => ({ headers: { 'Approov-Token': token } });

  it('answers a message when the handshake carried a valid token', async () => {
    const client = await connect(header(mint({ claims: { did: 'device-5' } })));
    expect(await client.send('echo', 'hi')).toEqual({ data: 'hi', did: 'device-5' });
    expect(handlerCalls).toEqual(['echo']);
    expect(logs.lines).toEqual([]);
  });

  it('refuses a message when the handshake had no token, and answers a skipped one', async () => {
    const client = await connect({});
    expect(await client.send('echo', 'hi')).toBeNull();
    expect(handlerCalls).toEqual([]);
    expect(logs.lines).toEqual([expect.stringContaining('rejected: missing_token (WS echo)')]);
    expect(await client.send('ping')).toBe('pong');
    expect(handlerCalls).toEqual(['ping']);
  });

  it('re-checks the token on every message: it expires', async () => {
    const client = await connect(header(mint({ ttlSeconds: -1 })));
    expect(await client.send('echo', 'hi')).toBeNull();
    expect(logs.lines).toEqual([expect.stringContaining('rejected: expired')]);
    expectNoTokenLogged();
  });

  it('binds to the handshake headers', async () => {
    const token = mint({ bind: ['Bearer u'] });
    const bound = await connect({ headers: { 'Approov-Token': token, Authorization: 'Bearer u' } });
    expect(await bound.send('bound')).toBe('ok');
    const other = await connect({ headers: { 'Approov-Token': token, Authorization: 'Bearer x' } });
    expect(await other.send('bound')).toBeNull();
    expect(logs.lines).toEqual([expect.stringContaining('rejected: binding_mismatch')]);
  });

  it('reads the token from the allowQueryToken parameter, and refuses two tokens', async () => {
    const token = mint();
    const byQuery = await connect({ query: { approov_token: token } });
    expect(await byQuery.send('echo', 'q')).toEqual({ data: 'q', did: null });
    const both = await connect({ ...header(token), query: { approov_token: token } });
    expect(await both.send('echo', 'q')).toBeNull();
    expect(logs.lines).toEqual([expect.stringContaining('rejected: duplicate_token')]);
  });
});

const ACCOUNT_KEY = randomBytes(32).toString('base64url');

@WebSocketGateway()
@UseGuards(ApproovGuard)
class SignedGateway extends EventsGateway {
  @SubscribeMessage('account')
  @ApproovMessageSigning({ labels: ['account'] })
  account() {
    handlerCalls.push('account');
    return { event: 'account', data: 'ok' };
  }
}

/**
 * A suite's app: `gateway` on the `ws` adapter with Approov's `options`, started before the
 * suite's tests and closed after them with every client they connected.
 */
function wsSuite(adapter: AdapterName, options: ApproovModuleOptions, gateway: Type) {
  const clients: TestClient[] = [];
  const suite = {
    app: undefined as unknown as TestApp,
    /** Connects a `ws` client with `headers`, and clears what earlier requests recorded. */
    connect: async (headers: Record<string, string>) => {
      const client = await wsClient(suite.app.address, { headers });
      clients.push(client);
      logs.clear();
      handlerCalls.length = 0;
      return client;
    },
  };
  beforeAll(async () => {
    suite.app = await TestApp.start(
      adapter,
      { imports: [ApproovModule.forRoot(options)], providers: [gateway] },
      { configure: (nest: INestApplication) => nest.useWebSocketAdapter(new WsAdapter(nest)) },
    );
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await suite.app.close();
  });
  return suite;
}

describe.each(ADAPTERS)('WebSocket gateway with message signing (%s HTTP, ws)', (adapter) => {
  const suite = wsSuite(
    adapter,
    { secret: SECRET, messageSigning: { labels: ['install'], accountKey: ACCOUNT_KEY } },
    SignedGateway,
  );
  const { connect } = suite;

  it('verifies the signed handshake, and keeps its verdict for every message', async () => {
    const { headers } = signApproovRequest({
      secret: SECRET,
      method: 'GET',
      url: `${suite.app.address}/`,
      token: { claims: { did: 'device-7' } },
    });
    const client = await connect(headers);
    expect(await client.send('echo', 'one')).toEqual({ data: 'one', did: 'device-7' });
    expect(await client.send('echo', 'two')).toEqual({ data: 'two', did: 'device-7' });
    expect(handlerCalls).toEqual(['echo', 'echo']);
    expect(logs.lines).toEqual([]);
  });

  it('keeps a verdict per route policy: the install signature does not pass an account route', async () => {
    const { headers } = signApproovRequest({
      secret: SECRET,
      method: 'GET',
      url: `${suite.app.address}/`,
    });
    const client = await connect(headers);
    expect(await client.send('echo', 'one')).toEqual({ data: 'one', did: null });
    expect(await client.send('account')).toBeNull();
    expect(await client.send('echo', 'two')).toEqual({ data: 'two', did: null });
    expect(handlerCalls).toEqual(['echo', 'echo']);
    expect(logs.lines).toEqual([
      expect.stringContaining('rejected: missing_signature (WS account)'),
    ]);
    const both = signApproovRequest({
      secret: SECRET,
      method: 'GET',
      url: `${suite.app.address}/`,
      labels: ['install', 'account'],
      accountKey: ACCOUNT_KEY,
    });
    const signedTwice = await connect(both.headers);
    expect(await signedTwice.send('account')).toBe('ok');
  });

  it('refuses every message of a handshake without a valid signature', async () => {
    const client = await connect({ 'Approov-Token': mint() });
    expect(await client.send('echo', 'one')).toBeNull();
    expect(await client.send('echo', 'two')).toBeNull();
    expect(handlerCalls).toEqual([]);
    expect(logs.lines).toEqual([
      expect.stringContaining('rejected: missing_signature (WS echo)'),
      expect.stringContaining('rejected: missing_signature (WS echo)'),
    ]);
    const { headers } = signApproovRequest({
      secret: SECRET,
      method: 'GET',
      url: `${suite.app.address}/other`,
    });
    const elsewhere = await connect(headers);
    expect(await elsewhere.send('echo', 'x')).toBeNull();
    expect(logs.lines).toEqual([expect.stringContaining('rejected: signature_mismatch (WS echo)')]);
  });
});

/** Message routes with three signing policies that share the handshake's signatures. */
@WebSocketGateway()
@UseGuards(ApproovGuard)
class ReplayGateway extends SignedGateway {
  @SubscribeMessage('both')
  @ApproovMessageSigning({ labels: ['install', 'account'] })
  both() {
    handlerCalls.push('both');
    return { event: 'both', data: 'ok' };
  }
}

describe.each(ADAPTERS)(
  'WebSocket gateway with replay-checked signatures (%s HTTP, ws)',
  (adapter) => {
    const store = new ApproovMemoryReplayStore();
    const suite = wsSuite(
      adapter,
      {
        secret: SECRET,
        messageSigning: { labels: ['install'], accountKey: ACCOUNT_KEY, replay: true },
        replayStore: store,
      },
      ReplayGateway,
    );
    const { connect } = suite;

    it('claims the handshake once: a second connection with it is refused, the first keeps going', async () => {
      const { headers } = signApproovRequest({
        secret: SECRET,
        method: 'GET',
        url: `${suite.app.address}/`,
        token: { claims: { did: 'device-8' } },
      });
      const first = await connect(headers);
      expect(await first.send('echo', 'one')).toEqual({ data: 'one', did: 'device-8' });
      expect(await first.send('echo', 'two')).toEqual({ data: 'two', did: 'device-8' });
      expect(handlerCalls).toEqual(['echo', 'echo']);
      expect(logs.lines).toEqual([]);
      // One claim for the connection, not one per message.
      expect(store.size).toBe(1);
      const second = await connect(headers);
      expect(await second.send('echo', 'one')).toBeNull();
      expect(await second.send('echo', 'two')).toBeNull();
      expect(await second.send('ping')).toBe('pong');
      expect(handlerCalls).toEqual(['ping']);
      expect(logs.lines).toEqual([
        expect.stringContaining('rejected: replayed_signature (WS echo) did="device-8"'),
        expect.stringContaining('rejected: replayed_signature (WS echo) did="device-8"'),
      ]);
      expectNoTokenLogged();
      expect(store.size).toBe(1);
      handlerCalls.length = 0;
      expect(await first.send('echo', 'three')).toEqual({ data: 'three', did: 'device-8' });
      expect(handlerCalls).toEqual(['echo']);
    });

    it('passes a connection through every replay-checked message route its handshake signs', async () => {
      const { headers } = signApproovRequest({
        secret: SECRET,
        method: 'GET',
        url: `${suite.app.address}/`,
        labels: ['install', 'account'],
        accountKey: ACCOUNT_KEY,
      });
      const client = await connect(headers);
      const before = store.size;
      // Three policies (install; install and account; account), one handshake: one claim each.
      expect(await client.send('echo', 'one')).toEqual({ data: 'one', did: null });
      expect(await client.send('both')).toBe('ok');
      expect(await client.send('account')).toBe('ok');
      expect(await client.send('echo', 'two')).toEqual({ data: 'two', did: null });
      expect(handlerCalls).toEqual(['echo', 'both', 'account', 'echo']);
      expect(logs.lines).toEqual([]);
      expect(store.size).toBe(before + 2);
    });
  },
);
