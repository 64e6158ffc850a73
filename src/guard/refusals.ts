import { HttpException, Logger } from '@nestjs/common';
import type { ApproovConfig } from '../module/options.js';
import type { ApproovTransport } from './events.js';
import { type ApproovFailureReason, MISSING_TOKEN_FAILURES } from './reasons.js';

/** Classes of exceptions that only some apps have: `WsException`, `RpcException`. */
export interface TransportExceptions {
  readonly ws?: new (error: string | object) => Error;
  readonly rpc?: new (error: string | object) => Error;
}

/** Injection token of the `TransportExceptions` found at startup. */
export const APPROOV_TRANSPORT_EXCEPTIONS = Symbol.for('nestjs-approov:transport-exceptions');

/**
 * Loads the WebSocket and microservice exception classes when the app has those packages, so
 * that their exception filters answer a refusal as theirs; an app without them loses nothing.
 */
export async function loadTransportExceptions(): Promise<TransportExceptions> {
  const [websockets, microservices] = await Promise.all([
    import('@nestjs/websockets').catch(() => undefined),
    import('@nestjs/microservices').catch(() => undefined),
  ]);
  return { ws: websockets?.WsException, rpc: microservices?.RpcException };
}

/**
 * The exceptions that refuse a request: built once, at startup, since the answer never depends
 * on the request (and so no stack trace is built per refusal). Over HTTP: the status and `{}`.
 * Through GraphQL: Apollo's `UNAUTHENTICATED` (or `BAD_REQUEST`) error. On WebSockets and
 * microservices: the transport's exception, with the message `Unauthorized`.
 */
export class ApproovRefusals {
  private readonly logger = new Logger('ApproovGuard');
  private readonly http = new Map<number, HttpException>();
  private readonly graphql = new Map<number, HttpException>();
  private readonly ws: Error;
  private readonly rpc: Error;

  constructor(
    private readonly config: ApproovConfig,
    exceptions: TransportExceptions,
  ) {
    for (const status of new Set([401, config.missingTokenStatus, config.missingBindingStatus])) {
      const message = status === 401 ? 'Unauthorized' : 'Bad Request';
      this.http.set(status, new HttpException(Object.freeze({}), status));
      // Nest's Apollo driver turns an HttpException with this shape into a GraphQL error.
      this.graphql.set(
        status,
        new HttpException(Object.freeze({ statusCode: status, message }), status),
      );
    }
    const unauthorized = this.http.get(401)!;
    this.ws = exceptions.ws ? new exceptions.ws('Unauthorized') : unauthorized;
    this.rpc = exceptions.rpc ? new exceptions.rpc('Unauthorized') : unauthorized;
  }

  /** The exception to throw for `reason` on `transport`. */
  for(reason: ApproovFailureReason, transport: ApproovTransport): Error {
    const { exceptionFactory } = this.config;
    if (exceptionFactory !== undefined) {
      try {
        const exception = exceptionFactory(reason, transport);
        if (exception instanceof Error) return exception;
        this.logger.error('exceptionFactory returned no Error, so the default refusal was sent');
      } catch (error) {
        this.logger.error(
          `exceptionFactory threw, so the default refusal was sent: ${String(error)}`,
        );
      }
    }
    if (transport === 'ws') return this.ws;
    if (transport === 'rpc') return this.rpc;
    const status = this.statusOf(reason);
    return (transport === 'graphql' ? this.graphql : this.http).get(status)!;
  }

  private statusOf(reason: ApproovFailureReason): number {
    if (MISSING_TOKEN_FAILURES.has(reason)) return this.config.missingTokenStatus;
    if (reason === 'missing_binding_header') return this.config.missingBindingStatus;
    return 401;
  }
}
