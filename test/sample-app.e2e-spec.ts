import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import WebSocket from 'ws';
import { exampleRequests } from '../sample-app/example-requests.js';
import { DUMMY_APPROOV_SECRET, sampleAppSecret } from '../sample-app/sample-secret.js';
import {
  ADAPTERS,
  expectAccepted,
  expectRefused,
  handlerCalls,
  logs,
  TestApp,
} from './support/test-app.js';
import { header } from './support/tokens.js';
import { mintApproovToken } from 'nestjs-approov/testing';

// The sample app limits its routes with @nestjs/throttler, CommonJS that requires the ES modules
// of Nest: Jest loads it only after they are loaded (and only on Node.js 24.9 or later, where
// tools/test.mjs runs this suite).
const { AppModule, REQUESTS_PER_MINUTE } = await import('../sample-app/app.module.js');

interface PrintedRequest {
  path: string;
  headers: Record<string, string>;
  /** The JSON body of `-d '...'` or `--data-binary '...'`, if any. */
  body?: object;
  /** That body as printed, byte for byte. */
  text?: string;
}

/**
 * What a `curl -i [-X POST] <url> -H 'Name: value' ... [-d|--data-binary '<json>']` line the app
 * prints asks for (the URL may be quoted).
 */
function parseCurl(line: string): PrintedRequest {
  const url = /(?:curl -i(?: -X [A-Z]+)?|wscat -c) '?([^'\s]+)/.exec(line)![1];
  const headers: Record<string, string> = {};
  for (const [, name, value] of line.matchAll(/-H '([^:]+): ([^']*)'/g)) headers[name] = value;
  const text = /(?:-d|--data-binary) '([^']*)'/.exec(line)?.[1];
  return {
    path: new URL(url).pathname,
    headers,
    body: text === undefined ? undefined : (JSON.parse(text) as object),
    text,
  };
}

/** Sends a printed request as curl would. */
const send = (app: TestApp, { path, headers, body }: PrintedRequest) =>
  body === undefined ? app.get(path, headers) : app.post(path, body, headers);

/** Sends a printed POST with its headers and body exactly as printed, as a signature covers them. */
const sendSigned = (app: TestApp, { path, headers, text }: PrintedRequest) =>
  app.sendRaw('post', path, Object.entries(headers), text);

/** The printed signed request to `POST /message-signing`, as the app at `baseUrl` prints it. */
const printedSigned = (baseUrl: string): PrintedRequest =>
  parseCurl(
    exampleRequests(baseUrl, DUMMY_APPROOV_SECRET)
      .split('\n')
      .find((line) => line.includes('/message-signing') && line.includes('curl'))!,
  );

/** The CLI as `npm run build` emits it: what `npx nestjs-approov` runs. */
const CLI = fileURLToPath(new URL('../dist/esm/cli/main.js', import.meta.url));
/** The folder `npm start` runs the app from, where the printed commands are pasted. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs a printed shell line in bash from the repository's root, as a terminal would, with `npx
 * nestjs-approov` running the built CLI and `curl` printing its arguments; resolves with them.
 */
async function curlArguments(line: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    'bash',
    [
      '-c',
      `npx() { shift; node ${JSON.stringify(CLI)} "$@"; }\ncurl() { printf '%s\\0' "$@"; }\n${line}`,
    ],
    { cwd: ROOT },
  );
  return stdout.split('\0').slice(0, -1);
}

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
      {
        recordHandlers: true,
        configure: (nest) => nest.useWebSocketAdapter(new WsAdapter(nest)),
        rawBody: true,
      },
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

  it('limits each device to its requests a minute, apart from the other devices', async () => {
    const device = (did: string) =>
      header(mintApproovToken({ secret: DUMMY_APPROOV_SECRET, claims: { did } }));
    for (let sent = 0; sent < REQUESTS_PER_MINUTE; sent += 1) {
      expectAccepted(await app.get('/token-check', device('sample-limited')), 'tokenCheck');
    }
    const limited = await app.get('/token-check', device('sample-limited'));
    expect([limited.status, handlerCalls]).toEqual([429, []]);
    expectAccepted(await app.get('/token-check', device('sample-other')), 'tokenCheck');
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

  it('prints a signed POST /message-signing, says it expires, and accepts it', async () => {
    const caption = printed.findIndex((line) => line.startsWith('Message signing'));
    expect(printed[caption]).toContain('expires 15 s after it is printed');
    expect(printed[caption]).toContain('a second send is refused as a replay');
    expect(parseCurl(printed[caption + 1]).path).toBe('/message-signing');
    // Signed for the URL the test app listens on: the signature covers it.
    const signed = printedSigned(app.address);
    const response = await sendSigned(app, signed);
    expectAccepted(response, 'messageSigning');
    expect(response.body).toEqual({
      message: 'Approov message signature accepted',
      received: { greeting: 'hello' },
    });
    expectRefused(await sendSigned(app, signed), 'replayed_signature');
  });

  it('refuses the signed request with another body, or without its signature', async () => {
    const signed = printedSigned(app.address);
    // As long as the signed Content-Length: only the Content-Digest tells them apart.
    const tampered = { ...signed, text: signed.text!.replace('hello', 'HELLO') };
    expectRefused(await sendSigned(app, tampered), 'content_digest_mismatch');
    const headers = { ...signed.headers };
    delete headers['Signature'];
    delete headers['Signature-Input'];
    expectRefused(await sendSigned(app, { ...signed, headers }), 'missing_signature');
  });

  it('prints a command that signs a fresh request with the CLI, which is accepted', async () => {
    const line = exampleRequests(app.address, DUMMY_APPROOV_SECRET)
      .split('\n')
      .find((printedLine) => printedLine.includes('nestjs-approov sign'))!;
    const [include, methodFlag, method, url, ...rest] = await curlArguments(line.trim());
    expect([include, methodFlag, method, url]).toEqual([
      '-i',
      '-X',
      'POST',
      `${app.address}/message-signing`,
    ]);
    const headers: [string, string][] = [];
    for (let index = 0; index < rest.length - 2; index += 2) {
      expect(rest[index]).toBe('-H');
      const colon = rest[index + 1].indexOf(':');
      headers.push([rest[index + 1].slice(0, colon), rest[index + 1].slice(colon + 2)]);
    }
    expect(rest.at(-2)).toBe('--data-binary');
    const response = await app.sendRaw('post', '/message-signing', headers, rest.at(-1));
    expectAccepted(response, 'messageSigning');
    expect(response.body).toEqual({
      message: 'Approov message signature accepted',
      received: { greeting: 'hello' },
    });
  }, 30_000); // The CLI is a process of about a second.
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

describe('the sample app in production, through a real app', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it.each(ADAPTERS)(
    'refuses to start without a secret, or with the dummy one (%s)',
    async (adapter) => {
      process.env.NODE_ENV = 'production';
      // Set, so that a developer's sample-app/.env cannot fill it in.
      process.env.APPROOV_BASE64_SECRET = '';
      await expect(TestApp.start(adapter, { imports: [AppModule] })).rejects.toThrow(
        /APPROOV_BASE64_SECRET is not set/,
      );
      process.env.APPROOV_BASE64_SECRET = DUMMY_APPROOV_SECRET;
      await expect(TestApp.start(adapter, { imports: [AppModule] })).rejects.toThrow(
        /published dummy secret/,
      );
    },
  );
});
