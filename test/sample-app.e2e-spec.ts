import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import WebSocket from 'ws';
import { AppModule } from '../sample-app/app.module.js';
import { exampleRequests } from '../sample-app/example-requests.js';
import { DUMMY_APPROOV_SECRET, sampleAppSecret } from '../sample-app/sample-secret.js';
import { ADAPTERS, expectRefused, handlerCalls, logs, TestApp } from './support/test-app.js';

interface PrintedRequest {
  path: string;
  headers: Record<string, string>;
  /** The JSON body of `-d '...'`, if any. */
  body?: object;
}

/** What a `curl -i <url> -H 'Name: value' ... [-d '<json>']` line the app prints asks for. */
function parseCurl(line: string): PrintedRequest {
  const url = /(?:curl -i|wscat -c) (\S+)/.exec(line)![1];
  const headers: Record<string, string> = {};
  for (const [, name, value] of line.matchAll(/-H '([^:]+): ([^']*)'/g)) headers[name] = value;
  const body = /-d '([^']*)'/.exec(line)?.[1];
  return {
    path: new URL(url).pathname,
    headers,
    body: body === undefined ? undefined : (JSON.parse(body) as object),
  };
}

/** Sends a printed request as curl would. */
const send = (app: TestApp, { path, headers, body }: PrintedRequest) =>
  body === undefined ? app.get(path, headers) : app.post(path, body, headers);

describe.each(ADAPTERS)('sample app (%s)', (adapter) => {
  let app: TestApp;
  let printed: string[];
  let curls: string[];
  const originalSecret = process.env.APPROOV_BASE64_SECRET;
  beforeAll(async () => {
    // The environment wins over sample-app/.env, which a developer may have filled in.
    process.env.APPROOV_BASE64_SECRET = DUMMY_APPROOV_SECRET;
    app = await TestApp.start(
      adapter,
      { imports: [AppModule] },
      { recordHandlers: true, configure: (nest) => nest.useWebSocketAdapter(new WsAdapter(nest)) },
    );
    printed = exampleRequests('http://localhost:8002', DUMMY_APPROOV_SECRET).split('\n');
    curls = printed.filter((line) => line.includes('curl'));
  });
  afterAll(async () => {
    await app.close();
    if (originalSecret === undefined) delete process.env.APPROOV_BASE64_SECRET;
    else process.env.APPROOV_BASE64_SECRET = originalSecret;
  });

  it('prints a curl line for each route, and each protected one works', async () => {
    const answers: Record<string, number> = {};
    for (const line of curls.slice(0, 5)) {
      const request = parseCurl(line);
      const response = await send(app, request);
      answers[request.path] = response.status;
      expect(handlerCalls).toHaveLength(1);
    }
    expect(answers).toEqual({
      '/': 200,
      '/token-check': 200,
      '/token-binding': 200,
      '/token-double-binding': 200,
      '/graphql': 200,
    });
  });

  it('answers the printed GraphQL query', async () => {
    const response = await send(app, parseCurl(curls[4]));
    expect(response.body).toEqual({
      data: { hello: 'Hello from GraphQL, device without a did claim' },
    });
    expect(handlerCalls).toEqual(['hello']);
  });

  it('answers a WebSocket message with the printed handshake, and refuses one without', async () => {
    const { headers } = parseCurl(printed.find((line) => line.includes('wscat'))!);
    const url = `${app.address.replace('http', 'ws')}/ws`;
    expect(await echo(url, headers)).toEqual({ event: 'echo', data: { data: 'hi', did: null } });
    expect(await echo(url, {})).toEqual(
      expect.objectContaining({
        event: 'exception',
        data: expect.objectContaining({ message: 'Unauthorized' }),
      }),
    );
  });

  it('refuses the printed request without a token', async () => {
    const { path, headers } = parseCurl(curls[5]);
    expect(path).toBe('/token-check');
    expectRefused(await app.get(path, headers), 'missing_token');
  });

  it('binds /token-binding to Authorization and /token-double-binding to both headers', async () => {
    const binding = parseCurl(curls[2]);
    const withoutAuthorization = { 'Approov-Token': binding.headers['Approov-Token'] };
    expectRefused(await app.get('/token-binding', withoutAuthorization), 'missing_binding_header');
    const double = parseCurl(curls[3]);
    const otherDevice = { ...double.headers, 'X-Device-Id': 'another-device' };
    expectRefused(await app.get('/token-double-binding', otherDevice), 'binding_mismatch');
  });
});

/** Connects to `url` with `headers`, sends one echo message and resolves with the reply. */
async function echo(url: string, headers: Record<string, string>): Promise<unknown> {
  const socket = new WebSocket(url, { headers });
  try {
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return await new Promise((resolve) => {
      socket.once('message', (message: Buffer) => resolve(JSON.parse(message.toString())));
      socket.send(JSON.stringify({ event: 'echo', data: 'hi' }));
    });
  } finally {
    socket.close();
  }
}

describe('sample app secret', () => {
  beforeAll(() => {
    Logger.overrideLogger(logs);
  });
  afterAll(() => {
    Logger.overrideLogger(true);
  });

  it('uses APPROOV_BASE64_SECRET when it is set', () => {
    expect(sampleAppSecret('c2VjcmV0', 'production')).toBe('c2VjcmV0');
  });

  it('falls back to the dummy secret outside production, with a warning', () => {
    logs.clear();
    expect(sampleAppSecret(undefined, 'development')).toBe(DUMMY_APPROOV_SECRET);
    expect(sampleAppSecret('  ', undefined)).toBe(DUMMY_APPROOV_SECRET);
    expect(logs.lines).toEqual([
      expect.stringContaining('dummy secret'),
      expect.stringContaining('dummy secret'),
    ]);
  });

  it('refuses to start in production without a secret, or with the dummy one', () => {
    expect(() => sampleAppSecret(undefined, 'production')).toThrow(/is not set/);
    expect(() => sampleAppSecret(' ', 'production')).toThrow(/is not set/);
    expect(() => sampleAppSecret(DUMMY_APPROOV_SECRET, 'production')).toThrow(
      /published dummy secret/,
    );
  });
});
