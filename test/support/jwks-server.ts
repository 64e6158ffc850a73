import { jest } from '@jest/globals';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateApproovKeyPair } from 'nestjs-approov/testing';

/** How the server answers, until told otherwise. */
export type JwksAnswer =
  /** The current document, 200, as JSON. */
  | { kind: 'document' }
  /** Nothing at all until `release()`, which sends the document: a server slower than any timeout. */
  | { kind: 'held' }
  /** The start of a document, then nothing until `release()`: a body slower than any timeout. */
  | { kind: 'stalled' }
  /** An empty body with this status. */
  | { kind: 'status'; status: number }
  /** 200 with this body, as JSON. */
  | { kind: 'text'; body: string }
  /**
   * The document padded past `bytes` (still a valid key set, so only its size is wrong), with its
   * Content-Length when `declared`, chunked without one otherwise.
   */
  | { kind: 'oversized'; bytes: number; declared: boolean }
  /**
   * A chunked body that never ends, written as fast as the client reads it, with this status (200
   * unless given): an error page that a client must not read.
   */
  | { kind: 'endless'; status?: number };

/**
 * A JSON Web Key Set server on loopback that tests control: what it serves, how it misbehaves,
 * whether it listens at all. It counts the requests it receives.
 */
export class JwksServer {
  /** Requests received since the start, whatever the answer. */
  requests = 0;
  private answer: JwksAnswer = { kind: 'document' };
  /** Responses kept open by `held` and `stalled`, until `release()`. */
  private readonly held = new Set<ServerResponse>();
  private readonly arrivals: (() => void)[] = [];
  private readonly server: Server = createServer((_request, response) => this.respond(response));
  /** Chosen by the system at the first start, kept by `up()`. */
  private port = 0;

  private constructor(private document: object) {}

  /** Starts a server on 127.0.0.1, on a free port, serving `document`. */
  static async start(document: object = { keys: [] }): Promise<JwksServer> {
    const jwks = new JwksServer(document);
    await listen(jwks.server, 0);
    jwks.port = (jwks.server.address() as AddressInfo).port;
    return jwks;
  }

  /** The key set's URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  /** Serves `document` from now on, and answers normally again. */
  serve(document: object): void {
    this.document = document;
    this.answer = { kind: 'document' };
  }

  /** Answers the next requests this way. */
  answerWith(answer: JwksAnswer): void {
    this.answer = answer;
  }

  /** How many responses are held open. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Ends the responses held open: a held one gets the document, a stalled one its end. */
  release(): void {
    for (const response of this.held) {
      if (!response.headersSent) this.sendDocument(response);
      else response.end();
    }
    this.held.clear();
  }

  /** Resolves when the next request arrives. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  /** Stops listening and drops every connection: a fetch now fails to connect. */
  async down(): Promise<void> {
    this.release();
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }

  /** Listens again, on the same port, after `down()`. */
  up(): Promise<void> {
    return listen(this.server, this.port);
  }

  close(): Promise<void> {
    return this.server.listening ? this.down() : Promise.resolve();
  }

  private respond(response: ServerResponse): void {
    this.requests++;
    for (const arrived of this.arrivals.splice(0)) arrived();
    const { answer } = this;
    switch (answer.kind) {
      case 'document':
        return this.sendDocument(response);
      case 'held':
        this.held.add(response);
        return;
      case 'stalled':
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"keys":[');
        this.held.add(response);
        return;
      case 'status':
        response.writeHead(answer.status).end();
        return;
      case 'text':
        response.writeHead(200, { 'content-type': 'application/json' }).end(answer.body);
        return;
      case 'oversized': {
        const body = Buffer.from(
          JSON.stringify({ ...this.document, padding: 'x'.repeat(answer.bytes) }),
        );
        response.writeHead(200, {
          'content-type': 'application/json',
          ...(answer.declared && { 'content-length': body.length }),
        });
        // In small chunks when undeclared, so that the client sees a stream, not one block.
        for (let start = 0; start < body.length; start += 4096) {
          response.write(body.subarray(start, start + 4096));
        }
        response.end();
        return;
      }
      case 'endless':
        response.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        response.write('{"keys":[],"padding":"');
        pump(response);
        return;
    }
  }

  private sendDocument(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(this.document));
  }
}

/** Writes filler to `response` whenever it can take more, until the client goes away. */
function pump(response: ServerResponse): void {
  const filler = Buffer.alloc(16_384, 'x');
  while (!response.destroyed && response.write(filler));
  if (!response.destroyed) response.once('drain', () => pump(response));
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A key pair to serve in a key set: its public JWK (with `kid` and `alg`) and the signing key. */
export interface ServedKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256';
  readonly jwk: JsonWebKey;
  /** For `mintApproovToken({ key })`. */
  readonly signing: { alg: 'ES256' | 'RS256'; key: KeyObject; kid: string };
}

/** A new key pair for `alg`, named `kid`, as a key set serves it. */
export function servedKey(alg: 'ES256' | 'RS256', kid: string): ServedKey {
  const { publicKey, privateKey } = generateApproovKeyPair(alg);
  return {
    kid,
    alg,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    signing: { alg, key: privateKey, kid },
  };
}

/** A key set document of `keys`. */
export const jwksOf = (...keys: readonly ServedKey[]): { keys: JsonWebKey[] } => ({
  keys: keys.map((key) => key.jwk),
});

/** The reason a key set gives for a refused connection. */
export const COULD_NOT_CONNECT = 'could not connect';

/** The reason a key set gives for any status but 200. */
export const NOT_200_OK = 'the response was not 200 OK';

/** A failing fetch: its name, the server's answer (`down`: not listening), the reason given. */
export type FailedFetch = [name: string, answer: JwksAnswer | 'down', reason: string];

/**
 * Answers that fail any fetch of a key set, at startup or later, with the reason the key set gives
 * (the size limit is `maxBytes`' default, 65536).
 */
export const FAILED_FETCHES: readonly FailedFetch[] = [
  ['the server is down', 'down', COULD_NOT_CONNECT],
  ['the status is 204', { kind: 'status', status: 204 }, NOT_200_OK],
  ['the status is 304', { kind: 'status', status: 304 }, NOT_200_OK],
  [
    'the status is 503 and the body never ends (it is not read)',
    { kind: 'endless', status: 503 },
    NOT_200_OK,
  ],
  ['the body is not JSON', { kind: 'text', body: '{"keys":[' }, 'not JSON'],
  ['the body is JSON but no key set', { kind: 'text', body: '[]' }, 'not a JSON Web Key Set'],
  ['the body has no keys', { kind: 'text', body: '{"jwks":[]}' }, 'not a JSON Web Key Set'],
  [
    'the declared length is over maxBytes',
    { kind: 'oversized', bytes: 70_000, declared: true },
    'the document is larger than 65536 bytes',
  ],
  [
    'the streamed body is over maxBytes, without a length',
    { kind: 'oversized', bytes: 70_000, declared: false },
    'the document is larger than 65536 bytes',
  ],
  ['the body never ends', { kind: 'endless' }, 'the document is larger than 65536 bytes'],
];

/**
 * Fakes `setInterval` and `clearInterval` only, the timer a key set refreshes on: fetches,
 * their timeouts and the servers keep the real clock.
 */
export function fakeIntervalTimers(): void {
  jest.useFakeTimers({
    doNotFake: [
      'Date',
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setTimeout',
      'clearTimeout',
    ],
  });
}
