import { describe, expect, it } from '@jest/globals';
import { type ExecutionContext, HttpException, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApproovKeys, createTokenVerifier } from '../module/approov-keys.js';
import { resolveApproovConfig } from '../module/options.js';
import { MessageSignatureVerifier } from '../signing/message-verifier.js';
import { generateApproovSecret, mintApproovToken } from '../testing/index.js';
import { ApproovGuard } from './approov.guard.js';
import { ApproovRefusals } from './refusals.js';

const secret = generateApproovSecret();
const config = resolveApproovConfig({ secret });
const verifier = createTokenVerifier(config);
const guard = new ApproovGuard(
  new Reflector(),
  config,
  verifier,
  new ApproovKeys(config, verifier),
  new ApproovRefusals(config, {}),
  new MessageSignatureVerifier(undefined, 0),
);
function handler() {}
class Target {}

/** An HTTP execution context around `request`, as Nest would build it. */
const httpContext = (request: unknown): ExecutionContext =>
  ({
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => Target,
    getArgByIndex: (index: number) => [request, {}, () => {}][index],
    switchToHttp: () => ({ getRequest: () => request }),
  }) as unknown as ExecutionContext;

/** The exception `canActivate` threw, or `undefined` if it let the request through. */
function refusalOf(request: unknown): unknown {
  try {
    // Synchronous: no key set URL is configured.
    expect(guard.canActivate(httpContext(request))).toBe(true);
    return undefined;
  } catch (thrown) {
    return thrown;
  }
}

const expectUnauthorized = (thrown: unknown) => {
  expect(thrown).toBeInstanceOf(HttpException);
  expect((thrown as HttpException).getStatus()).toBe(401);
  expect((thrown as HttpException).getResponse()).toEqual({});
};

describe('ApproovGuard on requests no HTTP server would build', () => {
  Logger.overrideLogger(false);

  it('accepts a plain request with a valid token', () => {
    const token = mintApproovToken({ secret });
    expect(refusalOf({ rawHeaders: ['Approov-Token', token] })).toBeUndefined();
  });

  it('refuses a header value that is not text with the same 401', () => {
    for (const value of [42, null, undefined, {}, ['a', 'b'], Symbol('token')]) {
      expectUnauthorized(refusalOf({ rawHeaders: ['Approov-Token', value] }));
    }
  });

  it('refuses a request without raw headers', () => {
    for (const request of [{}, { rawHeaders: undefined }, { raw: {} }, null, undefined]) {
      expectUnauthorized(refusalOf(request));
    }
  });

  it('refuses a request whose properties throw, with the same 401', () => {
    const hostile = {
      get raw(): never {
        throw new Error('boom');
      },
    };
    expectUnauthorized(refusalOf(hostile));
    const hostileHeaders = {
      get rawHeaders(): never {
        throw new Error('boom');
      },
    };
    expectUnauthorized(refusalOf(hostileHeaders));
  });
});
