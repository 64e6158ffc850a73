import { expect } from '@jest/globals';
import type {
  CallHandler,
  DynamicModule,
  ExecutionContext,
  INestApplication,
  LoggerService,
  ModuleMetadata,
  NestInterceptor,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import request, { type Response } from 'supertest';
import {
  APPROOV_MODULE_OPTIONS,
  type ApproovFailureReason,
  ApproovModule,
  type ApproovModuleOptions,
} from 'nestjs-approov';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];

/** Names of the test handlers that ran, in order: a rejected request must leave it empty. */
export const handlerCalls: string[] = [];

/** What a test handler does: records that it ran, and answers `{}`. */
export function ran(handler: string): object {
  handlerCalls.push(handler);
  return {};
}

/** Keeps warnings and errors, so tests can check what a failure logged (and what it did not). */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  /** The level of each line. */
  readonly levels: string[] = [];
  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.keep('warn', message);
  }
  error(message: unknown): void {
    this.keep('error', message);
  }
  clear(): void {
    this.lines.length = 0;
    this.levels.length = 0;
  }
  private keep(level: string, message: unknown): void {
    this.lines.push(String(message));
    this.levels.push(level);
  }
}
export const logs = new CapturingLogger();

export type Headers = Record<string, string | readonly string[]>;

/** The methods `sendRaw()` sends. */
export type HttpVerb = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Records each handler as Nest is about to call it, for apps whose handlers do not record
 * themselves (the sample app): interceptors run after the guards, right before the handler.
 */
class HandlerRecorder implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    handlerCalls.push(context.getHandler().name);
    return next.handle();
  }
}

export interface StartOptions {
  /** Changes the testing module before it compiles, such as to override a provider. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Record handler calls with an interceptor. */
  recordHandlers?: boolean;
  /** Configures the app before it listens, such as to set its WebSocket adapter. */
  configure?: (app: INestApplication) => void;
  /** Keep each request's raw body, as message signing needs (Nest's `rawBody`). */
  rawBody?: boolean;
  /** Fastify's `trustProxy` (Express's `trust proxy` is set in `configure`). */
  trustProxy?: boolean;
}

/** A Nest app listening on loopback, on one adapter. */
export class TestApp {
  private constructor(
    readonly app: INestApplication,
    private readonly url: string,
  ) {}

  static async start(
    adapter: AdapterName,
    metadata: ModuleMetadata,
    {
      override = (builder) => builder,
      recordHandlers = false,
      configure,
      rawBody = false,
      trustProxy = false,
    }: StartOptions = {},
  ): Promise<TestApp> {
    const moduleRef = await override(
      Test.createTestingModule({
        ...metadata,
        imports: metadata.imports?.map(everyFailureLogged),
      }).setLogger(logs),
    ).compile();
    const app =
      adapter === 'fastify'
        ? moduleRef.createNestApplication<NestFastifyApplication>(
            new FastifyAdapter({ trustProxy }),
            { rawBody },
          )
        : moduleRef.createNestApplication(new ExpressAdapter(), { rawBody });
    app.useLogger(logs);
    if (recordHandlers) app.useGlobalInterceptors(new HandlerRecorder());
    configure?.(app);
    await app.listen(0, '127.0.0.1');
    return new TestApp(app, await app.getUrl());
  }

  /** Starts an app like `start()`, runs `check` against it, and closes it whatever happens. */
  static async run(
    adapter: AdapterName,
    metadata: ModuleMetadata,
    check: (app: TestApp) => Promise<void>,
    options?: StartOptions,
  ): Promise<void> {
    const app = await TestApp.start(adapter, metadata, options);
    try {
      await check(app);
    } finally {
      await app.close();
    }
  }

  /** Sends GET `path` with `headers` (an array sends the header once per value). */
  get(path: string, headers: Headers = {}): Promise<Response> {
    return this.send('get', path, headers);
  }

  /** Sends POST `path` with `headers` and a JSON `body`. */
  post(path: string, body: object, headers: Headers = {}): Promise<Response> {
    return this.send('post', path, headers, body);
  }

  /**
   * Sends `method` `path` with `headers` in order (a name given twice is sent twice) and `body`
   * as raw text, for requests whose every byte a signature covers.
   */
  sendRaw(
    method: HttpVerb,
    path: string,
    headers: readonly (readonly [string, string])[],
    body?: string | Buffer,
  ): Promise<Response> {
    handlerCalls.length = 0;
    logs.clear();
    const grouped: Record<string, string[]> = {};
    for (const [name, value] of headers) (grouped[name] ??= []).push(value);
    // An array is sent as repeated lines, as in `get()`; superagent reads single values as text.
    const fields = Object.fromEntries(
      Object.entries(grouped).map(([name, values]) => [
        name,
        values.length === 1 ? values[0] : values,
      ]),
    );
    const agent = request(this.url);
    const pending = agent[method](path).set(fields as Record<string, string>);
    return body === undefined ? pending : pending.send(body);
  }

  /** The app's address, such as `http://127.0.0.1:34567`. */
  get address(): string {
    return this.url;
  }

  private async send(
    method: 'get' | 'post',
    path: string,
    headers: Headers,
    body?: object,
  ): Promise<Response> {
    handlerCalls.length = 0;
    logs.clear();
    // superagent hands each value to Node's setHeader, which sends an array as repeated lines.
    const agent = request(this.url);
    const pending = (method === 'get' ? agent.get(path) : agent.post(path)).set(
      headers as Record<string, string>,
    );
    return body === undefined ? pending : pending.send(body);
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/**
 * `ApproovModule.forRoot()` / `forRootAsync()` with `logRate: Infinity` unless the test sets it:
 * the suites check the line of each refused request, and send more than the default 10 a second.
 * The tests of `logRate` set it.
 */
function everyFailureLogged<T>(imported: T): T {
  const dynamic = imported as DynamicModule;
  if (dynamic?.module !== ApproovModule) return imported;
  const providers = dynamic.providers?.map((provider) => {
    if (typeof provider !== 'object' || provider.provide !== APPROOV_MODULE_OPTIONS)
      return provider;
    const withRate = (options: ApproovModuleOptions) => ({ logRate: Infinity, ...options });
    if ('useValue' in provider)
      return { ...provider, useValue: withRate(provider.useValue as ApproovModuleOptions) };
    if ('useFactory' in provider) {
      const factory = provider.useFactory;
      return {
        ...provider,
        useFactory: async (...args: unknown[]) =>
          withRate((await factory(...args)) as ApproovModuleOptions),
      };
    }
    return provider;
  });
  return { ...dynamic, providers } as T;
}

/**
 * Asserts the one answer to every failure: 401, body `{}`, the handler not run, one warning
 * naming `reason` (any reason when none is given), and no token in the logs.
 */
export function expectRefused(response: Response, reason?: ApproovFailureReason): void {
  expect({ status: response.status, body: response.text }).toEqual({ status: 401, body: '{}' });
  expect(handlerCalls).toEqual([]);
  expect(logs.lines).toEqual([expect.stringContaining(`rejected: ${reason ?? ''}`)]);
  expectNoTokenLogged();
}

/** Asserts that `handler` ran, once, answered 200, and nothing was logged. */
export function expectAccepted(response: Response, handler: string): void {
  expect(response.status).toBe(200);
  expect(handlerCalls).toEqual([handler]);
  expect(logs.lines).toEqual([]);
}

/** No JWT (every one starts its header with `eyJ`, for `{"`) appears in the logs. */
export function expectNoTokenLogged(): void {
  expect(logs.lines.join('\n')).not.toContain('eyJ');
}
