import type { IncomingMessage } from 'node:http';
import type { ExecutionContext } from '@nestjs/common';
import { readCombinedHeader } from '../headers/raw-headers.js';
import {
  declaresBody,
  normalizeAuthority,
  type SignedRequest,
  splitAbsoluteUri,
} from '../signing/signed-request.js';
import type { ApproovClaims } from '../token/claims.js';
import type { ApproovTransport } from './events.js';
import type { ApproovFailureReason } from './reasons.js';

/**
 * The request property where `ApproovGuard` puts the verified claims. It is absent on routes
 * that skip the check.
 */
export const APPROOV_CLAIMS_PROPERTY = 'approovClaims';

/**
 * A request that `ApproovGuard` checked: the HTTP request (also for GraphQL), or the WebSocket
 * client.
 */
export interface ApproovRequest {
  /**
   * The token's claims when the request passed every check, or, in monitor mode, when only the
   * token binding or the message signatures failed. Absent otherwise, and on routes that skip the check.
   */
  [APPROOV_CLAIMS_PROPERTY]?: ApproovClaims;
  /** `true` when the request passed every check; `false` when monitor mode let it through. */
  approovVerified?: boolean;
}

/** The part of Node's `IncomingMessage` the guard reads. */
interface RawRequest {
  readonly rawHeaders: readonly string[];
  readonly method?: string;
  readonly url?: string;
  readonly socket?: object;
}

/**
 * The request objects the guard meets: Express's is Node's `IncomingMessage`, Fastify's wraps it
 * as `raw`, Express and Fastify name the declared route differently, a socket.io client keeps its
 * handshake as `request`, a `ws` client as `attachApproovHandshake()` left it, and a graphql-ws
 * context as `extra.request`.
 */
interface Carrier extends ApproovRequest, Partial<RawRequest> {
  readonly raw?: RawRequest;
  readonly request?: RawRequest;
  readonly [HANDSHAKE]?: RawRequest;
  readonly extra?: { readonly request?: RawRequest };
  readonly connectionParams?: unknown;
  readonly route?: { readonly path?: string };
  readonly routeOptions?: { readonly url?: string };
  /** Express's URL as received, before a mounted middleware (Apollo's) cut its path. */
  readonly originalUrl?: unknown;
  /** Express's and Fastify's scheme and host, after their trust-proxy settings. */
  readonly protocol?: unknown;
  readonly host?: unknown;
  /** The body's bytes, kept by Nest's `rawBody: true`. */
  readonly rawBody?: unknown;
}

interface GraphQLInfo {
  readonly parentType?: { readonly name?: string };
  readonly fieldName?: string;
}

/** Where `attachApproovHandshake()` keeps a `ws` client's handshake request. */
const HANDSHAKE = Symbol.for('nestjs-approov:handshake');

/**
 * Keeps the handshake request of a WebSocket client of `@nestjs/platform-ws`, whose clients do
 * not keep it, so that `ApproovGuard` can read its headers. Call it from the gateway's
 * `handleConnection(client, request)`. socket.io clients keep theirs: no call needed.
 */
export function attachApproovHandshake(client: object, request: IncomingMessage): void {
  (client as { [HANDSHAKE]?: RawRequest })[HANDSHAKE] = request;
}

/** Nest's metadata key of `@SubscribeMessage()` patterns. */
const WS_MESSAGE_METADATA = 'message';
/** Nest's metadata key of `@MessagePattern()` and `@EventPattern()` patterns. */
const RPC_PATTERN_METADATA = 'microservices:pattern';

/**
 * The object that carries a request's Approov claims: the HTTP request (also behind GraphQL), the
 * graphql-ws context of a subscription, or the WebSocket client. `undefined` for microservices.
 */
export function carrierOf(
  context: ExecutionContext,
  transport = transportOf(context),
): Carrier | undefined {
  // The arguments by index, as `switchToHttp()` and `switchToWs()` read them, without the
  // helper objects those build on each call.
  switch (transport) {
    case 'http':
    case 'ws':
      return context.getArgByIndex<Carrier>(0);
    case 'graphql':
      return context.getArgByIndex<{ req?: Carrier } | undefined>(2)?.req;
    default:
      return undefined;
  }
}

/** The transport of `context`: every other kind of context is a microservice's. */
export function transportOf(context: ExecutionContext): ApproovTransport {
  const type = context.getType<string>();
  return type === 'http' || type === 'graphql' || type === 'ws' ? type : 'rpc';
}

const EMPTY_BODY = Buffer.alloc(0);

/** Header names and values of an object, alternating like `rawHeaders`; non-text values left out. */
function entriesAsRawHeaders(params: object): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') raw.push(name, value);
  }
  return raw;
}

/** One request as the guard sees it, whatever the transport, and the guard's findings on it. */
export class ApproovExchange {
  /** Why the request fails, once checked; `undefined` while it passes. */
  reason?: ApproovFailureReason;
  /** The token's payload, once its signature is valid. */
  claims?: ApproovClaims;
  /** Set when the request passes although its replay check could not run (the store failed). */
  replayUnchecked?: true;
  /** Header names and values, alternating as in Node's `rawHeaders`; absent when unknown. */
  readonly rawHeaders?: readonly string[];
  /** The handshake URL of a WebSocket, for a token in its query string. */
  readonly handshakeUrl?: string;
  /** Node's request: the HTTP request, or the handshake of a WebSocket. */
  private readonly raw?: Partial<RawRequest>;

  constructor(
    private readonly context: ExecutionContext,
    readonly transport: ApproovTransport,
    readonly carrier: Carrier | undefined,
  ) {
    const raw =
      carrier?.raw ??
      carrier?.[HANDSHAKE] ??
      carrier?.request ??
      carrier?.extra?.request ??
      carrier;
    this.raw = raw;
    const params = carrier?.connectionParams;
    // graphql-ws clients send the token in connection parameters, when they send any.
    this.rawHeaders =
      typeof params === 'object' && params !== null ? entriesAsRawHeaders(params) : raw?.rawHeaders;
    if (transport === 'ws') this.handshakeUrl = raw?.url;
  }

  /** Reads the request of `context`. */
  static of(context: ExecutionContext): ApproovExchange {
    const transport = transportOf(context);
    return new ApproovExchange(context, transport, carrierOf(context, transport));
  }

  /**
   * The handshake request of a long-lived connection (a WebSocket, a GraphQL subscription over
   * graphql-ws): it is what the client signed, once for the connection. `undefined` for a
   * request of its own.
   */
  get handshake(): object | undefined {
    return this.transport === 'ws' || this.carrier?.extra?.request !== undefined
      ? this.raw
      : undefined;
  }

  /**
   * The request as RFC 9421 signs it: the HTTP request, or the handshake of a WebSocket.
   * `targetUri`, when the app gives it, says the URL the client used; otherwise the scheme and
   * host are Express's or Fastify's (which apply the app's trust-proxy setting) or, on a
   * WebSocket, the socket's and the `Host` header's. `undefined` when there is no HTTP request.
   */
  signedRequest(targetUri?: (request: unknown) => string): SignedRequest | undefined {
    const { raw, carrier } = this;
    const { rawHeaders, method, url } = raw ?? {};
    if (rawHeaders === undefined || method === undefined || url === undefined) return undefined;
    const adapterRequest =
      this.transport !== 'ws' &&
      typeof carrier?.protocol === 'string' &&
      typeof carrier.host === 'string'
        ? carrier
        : undefined;
    let signed: Pick<SignedRequest, 'scheme' | 'authority' | 'target'> | undefined;
    if (targetUri !== undefined) {
      signed = splitAbsoluteUri(targetUri(adapterRequest ?? raw));
      // The app's own function is wrong: the guard refuses the request as an internal error.
      if (signed === undefined) throw new TypeError('messageSigning.targetUri returned no URI');
    } else {
      const scheme =
        adapterRequest !== undefined
          ? (adapterRequest.protocol as string).toLowerCase()
          : raw?.socket !== undefined && 'encrypted' in raw.socket
            ? 'https'
            : 'http';
      const authority =
        adapterRequest !== undefined
          ? (adapterRequest.host as string)
          : (readCombinedHeader(rawHeaders, 'host') ?? '');
      const target =
        typeof adapterRequest?.originalUrl === 'string' ? adapterRequest.originalUrl : url;
      signed = { scheme, authority: normalizeAuthority(scheme, authority), target };
    }
    const { rawBody } = carrier ?? {};
    return {
      method,
      ...signed,
      rawHeaders,
      body: Buffer.isBuffer(rawBody) ? rawBody : declaresBody(rawHeaders) ? undefined : EMPTY_BODY,
    };
  }

  /** The HTTP method, or `WS` / `RPC`. */
  get method(): string {
    if (this.transport === 'ws' || this.transport === 'rpc') return this.transport.toUpperCase();
    return this.raw?.method ?? 'UNKNOWN';
  }

  /** The route as declared: `/orders/:id`, `Query.orders`, or the message pattern. */
  get route(): string {
    const { carrier, context } = this;
    switch (this.transport) {
      case 'http':
        return carrier?.routeOptions?.url ?? carrier?.route?.path ?? 'unknown';
      case 'graphql': {
        const info = context.getArgByIndex<GraphQLInfo | undefined>(3);
        return `${info?.parentType?.name}.${info?.fieldName}`;
      }
      default: {
        const key = this.transport === 'ws' ? WS_MESSAGE_METADATA : RPC_PATTERN_METADATA;
        // Microservice patterns are kept as a list, of one pattern as a rule.
        const kept: unknown = Reflect.getMetadata(key, context.getHandler());
        const pattern: unknown = Array.isArray(kept) && kept.length === 1 ? kept[0] : kept;
        return typeof pattern === 'string' ? pattern : (JSON.stringify(pattern) ?? 'unknown');
      }
    }
  }
}
