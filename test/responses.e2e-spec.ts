import { describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ApproovGuard,
  ApproovModule,
  type ApproovModuleOptions,
  ApproovTokenBinding,
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
import { header, mint, SECRET } from './support/tokens.js';

@Controller('things')
class ThingsController {
  @Get()
  things(): object {
    return ran('things');
  }

  @Get('bound')
  @ApproovTokenBinding('Authorization')
  boundThings(): object {
    return ran('boundThings');
  }
}

/** Runs `check` against an app configured with `options`, then closes it. */
function withApp(
  adapter: AdapterName,
  options: Partial<ApproovModuleOptions>,
  check: (app: TestApp) => Promise<void>,
): Promise<void> {
  return TestApp.run(
    adapter,
    {
      imports: [ApproovModule.forRoot({ secret: SECRET, ...options })],
      controllers: [ThingsController],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
    },
    check,
  );
}

/** Asserts a refusal with `status` and `body`, and that no handler ran. */
function expectAnswer(response: { status: number; text: string }, status: number, body: string) {
  expect({ status: response.status, body: response.text }).toEqual({ status, body });
  expect(handlerCalls).toEqual([]);
}

describe.each(ADAPTERS)('response options (%s)', (adapter) => {
  it('missingTokenStatus: 400 for no token, an empty one or an SDK status word; 401 for the rest', () =>
    withApp(adapter, { missingTokenStatus: 400 }, async (app) => {
      expectAnswer(await app.get('/things'), 400, '{}');
      expectAnswer(await app.get('/things', header('')), 400, '{}');
      expectAnswer(await app.get('/things', header('NO_NETWORK')), 400, '{}');
      expectRefused(await app.get('/things', header('garbage')), 'malformed_token');
      const unbound = { ...header(mint()), Authorization: 'Bearer a' };
      expectRefused(await app.get('/things/bound', unbound), 'missing_pay');
    }));

  it('missingBindingStatus: 400 for a missing binding header only', () =>
    withApp(adapter, { missingBindingStatus: 400 }, async (app) => {
      const token = mint({ bind: ['Bearer a'] });
      expectAnswer(await app.get('/things/bound', header(token)), 400, '{}');
      const other = { ...header(token), Authorization: 'Bearer b' };
      expectRefused(await app.get('/things/bound', other), 'binding_mismatch');
      expectRefused(await app.get('/things/bound'), 'missing_token');
    }));

  it('exceptionFactory: the app chooses the error shape', () =>
    withApp(
      adapter,
      {
        exceptionFactory: (reason) =>
          new HttpException({ error: 'APPROOV', retryable: reason === 'expired' }, 403),
      },
      async (app) => {
        expectAnswer(await app.get('/things'), 403, '{"error":"APPROOV","retryable":false}');
        const expired = header(mint({ ttlSeconds: -1 }));
        expectAnswer(
          await app.get('/things', expired),
          403,
          '{"error":"APPROOV","retryable":true}',
        );
        expectAccepted(await app.get('/things', header(mint())), 'things');
      },
    ));

  it('exceptionFactory that throws, or returns no Error: the default 401, never a 500', async () => {
    const broken = [
      () => {
        throw new Error('bug');
      },
      () => 'not an exception',
    ];
    for (const exceptionFactory of broken) {
      await withApp(adapter, { exceptionFactory }, async (app) => {
        const response = await app.get('/things');
        expectAnswer(response, 401, '{}');
        expect(logs.lines).toEqual([
          expect.stringContaining('rejected: missing_token'),
          expect.stringContaining('exceptionFactory'),
        ]);
      });
    }
  });

  it('tokenPrefix: the prefix must come exactly once', () =>
    withApp(adapter, { tokenPrefix: 'Bearer ' }, async (app) => {
      const token = mint();
      expectAccepted(await app.get('/things', header(`Bearer ${token}`)), 'things');
      expectRefused(await app.get('/things', header(token)), 'malformed_token');
      expectRefused(await app.get('/things', header(`Bearer Bearer ${token}`)), 'malformed_token');
      expectRefused(await app.get('/things', header(`bearer ${token}`)), 'malformed_token');
      expectRefused(await app.get('/things', header('Bearer ')), 'missing_token');
      expectRefused(
        await app.get('/things', header('Bearer NO_NETWORK')),
        'status_instead_of_token',
      );
    }));

  it('tokenPrefix with the token in Authorization', () =>
    withApp(adapter, { tokenHeader: 'Authorization', tokenPrefix: 'Bearer ' }, async (app) => {
      expectAccepted(await app.get('/things', { Authorization: `Bearer ${mint()}` }), 'things');
      expectRefused(await app.get('/things', header(mint())), 'missing_token');
    }));
});
