import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Req } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  type ApproovClaims as Claims,
  ApproovClaims,
  ApproovGuard,
  ApproovModule,
  type ApproovRequest,
  ApproovTokenVerifier,
  SkipApproov,
} from 'nestjs-approov';
import {
  ADAPTERS,
  expectAccepted,
  expectRefused,
  handlerCalls,
  ran,
  TestApp,
} from './support/test-app.js';
import { header, mint, OTHER_SECRET, SECRET, signRaw } from './support/tokens.js';

@Controller('checked')
class CheckedController {
  @Get()
  checked(
    @ApproovClaims() claims: Claims,
    @ApproovClaims('did') did: string | undefined,
    @Req() request: ApproovRequest,
  ): object {
    handlerCalls.push('checked');
    return {
      claims,
      did,
      onRequest: request.approovClaims === claims,
      frozen: Object.isFrozen(claims),
    };
  }

  @Get('public')
  @SkipApproov()
  public(@ApproovClaims() claims: Claims | undefined): object {
    handlerCalls.push('public');
    return { claims: claims ?? null };
  }
}

@Controller('skipped')
@SkipApproov()
class SkippedController {
  @Get()
  skipped(): object {
    return ran('skipped');
  }

  @Get('rechecked')
  @SkipApproov(false)
  rechecked(): object {
    return ran('rechecked');
  }
}

const globalGuard = { provide: APP_GUARD, useExisting: ApproovGuard };
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe.each(ADAPTERS)('ApproovGuard (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start(adapter, {
      imports: [ApproovModule.forRoot({ secret: SECRET })],
      controllers: [CheckedController, SkippedController],
      providers: [globalGuard],
    });
  });
  afterAll(() => app.close());
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('the token header', () => {
    it('accepts a valid token and hands its claims to the handler', async () => {
      jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 0, 1));
      const token = mint({ claims: { did: 'ExampleDeviceID==', arc: 'EAM2W37PSU' } });
      const response = await app.get('/checked', header(token));
      expectAccepted(response, 'checked');
      expect(response.body).toEqual({
        claims: { exp: nowSeconds() + 300, did: 'ExampleDeviceID==', arc: 'EAM2W37PSU' },
        did: 'ExampleDeviceID==',
        onRequest: true,
        frozen: true,
      });
    });

    it('matches the header name in any case', async () => {
      for (const name of ['approov-token', 'APPROOV-TOKEN', 'aPpRoOv-ToKeN']) {
        expectAccepted(await app.get('/checked', { [name]: mint() }), 'checked');
      }
    });

    it('refuses a request without the header', async () => {
      expectRefused(await app.get('/checked'), 'missing_token');
    });

    it('refuses an empty header', async () => {
      expectRefused(await app.get('/checked', header('')), 'missing_token');
    });

    it('refuses the header sent twice, even with two valid tokens', async () => {
      const token = mint();
      expectRefused(
        await app.get('/checked', { 'Approov-Token': [token, token] }),
        'duplicate_token',
      );
      expectRefused(
        await app.get('/checked', { 'Approov-Token': [mint(), mint({ ttlSeconds: 60 })] }),
        'duplicate_token',
      );
    });

    it('refuses two tokens joined by a comma in one header', async () => {
      expectRefused(await app.get('/checked', header(`${mint()}, ${mint()}`)), 'malformed_token');
    });

    it('refuses a token with a Bearer prefix, or sent in Authorization only', async () => {
      expectRefused(await app.get('/checked', header(`Bearer ${mint()}`)), 'malformed_token');
      expectRefused(
        await app.get('/checked', { Authorization: `Bearer ${mint()}` }),
        'missing_token',
      );
    });
  });

  describe('the token', () => {
    it('refuses a token signed with another secret', async () => {
      const token = mint({ secret: OTHER_SECRET });
      expectRefused(await app.get('/checked', header(token)), 'bad_signature');
    });

    it('refuses a token whose payload was changed after signing', async () => {
      const [head, , signature] = mint().split('.');
      const forged = Buffer.from(JSON.stringify({ exp: nowSeconds() + 9999 })).toString(
        'base64url',
      );
      expectRefused(
        await app.get('/checked', header(`${head}.${forged}.${signature}`)),
        'bad_signature',
      );
    });

    it('pins HS256: other algorithms are refused even when signed with the secret', async () => {
      for (const alg of ['HS384', 'HS512', 'none', 'RS256', 'hs256']) {
        const token = mint({ header: { alg, typ: 'JWT' } });
        expectRefused(await app.get('/checked', header(token)), 'unsupported_algorithm');
      }
      expectRefused(
        await app.get('/checked', header(mint({ header: { typ: 'JWT' } }))),
        'unsupported_algorithm',
      );
    });

    it('refuses an unsigned token', async () => {
      const [head, payload] = mint({ header: { alg: 'none' } }).split('.');
      expectRefused(await app.get('/checked', header(`${head}.${payload}.`)), 'malformed_token');
    });

    it('refuses a header with crit', async () => {
      const token = mint({ header: { alg: 'HS256', crit: ['exp'] } });
      expectRefused(await app.get('/checked', header(token)), 'critical_header');
    });

    it('refuses signed payloads that are not a JSON object', async () => {
      for (const payload of ['[1,2]', '"text"', '42', 'null', 'not json']) {
        const token = signRaw('{"alg":"HS256","typ":"JWT"}', payload);
        expectRefused(await app.get('/checked', header(token)), 'malformed_token');
      }
    });

    it('refuses 2 or 4 segments', async () => {
      const token = mint();
      const [head, payload] = token.split('.');
      expectRefused(await app.get('/checked', header(`${head}.${payload}`)), 'malformed_token');
      expectRefused(await app.get('/checked', header(`${token}.${head}`)), 'malformed_token');
    });
  });

  describe('the time claims', () => {
    it('refuses a token without exp, or with exp of the wrong type', async () => {
      expectRefused(
        await app.get('/checked', header(mint({ claims: { exp: undefined } }))),
        'missing_exp',
      );
      for (const exp of ['4102444800', null, true, [4102444800], { n: 1 }]) {
        expectRefused(await app.get('/checked', header(mint({ claims: { exp } }))), 'invalid_exp');
      }
      const infinite = signRaw('{"alg":"HS256"}', '{"exp":1e999}');
      expectRefused(await app.get('/checked', header(infinite)), 'invalid_exp');
    });

    it('refuses an expired token, and one whose exp is exactly now', async () => {
      expectRefused(await app.get('/checked', header(mint({ ttlSeconds: -1 }))), 'expired');
      const exp = nowSeconds() + 60.25;
      const token = mint({ claims: { exp } });
      jest.spyOn(Date, 'now').mockReturnValue(exp * 1000);
      expectRefused(await app.get('/checked', header(token)), 'expired');
      jest.spyOn(Date, 'now').mockReturnValue(exp * 1000 - 1);
      expectAccepted(await app.get('/checked', header(token)), 'checked');
    });

    it('reads the clock on every request', async () => {
      const token = mint({ ttlSeconds: 10 });
      expectAccepted(await app.get('/checked', header(token)), 'checked');
      jest.spyOn(Date, 'now').mockReturnValue((nowSeconds() + 11) * 1000);
      expectRefused(await app.get('/checked', header(token)), 'expired');
    });

    it('honours nbf', async () => {
      const notYet = mint({ claims: { nbf: nowSeconds() + 30 } });
      expectRefused(await app.get('/checked', header(notYet)), 'not_yet_valid');
      const already = mint({ claims: { nbf: nowSeconds() - 1 } });
      expectAccepted(await app.get('/checked', header(already)), 'checked');
      const wrongType = mint({ claims: { nbf: 'yesterday' } });
      expectRefused(await app.get('/checked', header(wrongType)), 'invalid_nbf');
    });
  });

  describe('@SkipApproov', () => {
    it('lets a skipped handler through without a token, with no claims', async () => {
      const response = await app.get('/checked/public');
      expectAccepted(response, 'public');
      expect(response.body).toEqual({ claims: null });
    });

    it('lets every handler of a skipped controller through', async () => {
      expectAccepted(await app.get('/skipped'), 'skipped');
    });

    it('checks a handler marked @SkipApproov(false) inside a skipped controller', async () => {
      expectRefused(await app.get('/skipped/rechecked'), 'missing_token');
      expectAccepted(await app.get('/skipped/rechecked', header(mint())), 'rechecked');
    });
  });
});

describe.each(ADAPTERS)('ApproovGuard options (%s)', (adapter) => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads the token from the configured tokenHeader', async () => {
    await TestApp.run(
      adapter,
      {
        imports: [ApproovModule.forRoot({ secret: SECRET, tokenHeader: 'X-Approov' })],
        controllers: [CheckedController],
        providers: [globalGuard],
      },
      async (app) => {
        expectAccepted(await app.get('/checked', { 'x-approov': mint() }), 'checked');
        expectRefused(await app.get('/checked', header(mint())), 'missing_token');
      },
    );
  });

  it('allows clockToleranceSeconds of leeway on exp and nbf, and no more', async () => {
    await TestApp.run(
      adapter,
      {
        imports: [ApproovModule.forRoot({ secret: SECRET, clockToleranceSeconds: 10 })],
        controllers: [CheckedController],
        providers: [globalGuard],
      },
      async (app) => {
        // A frozen clock: the leeway is measured to the second.
        jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 0, 1));
        const now = nowSeconds();
        expectAccepted(await app.get('/checked', header(mint({ ttlSeconds: -9 }))), 'checked');
        expectRefused(await app.get('/checked', header(mint({ ttlSeconds: -11 }))), 'expired');
        const soon = mint({ claims: { nbf: now + 9 } });
        expectAccepted(await app.get('/checked', header(soon)), 'checked');
        const later = mint({ claims: { nbf: now + 11 } });
        expectRefused(await app.get('/checked', header(later)), 'not_yet_valid');
      },
    );
  });

  it('answers an internal error with the same 401, never a 500', async () => {
    await TestApp.run(
      adapter,
      {
        imports: [ApproovModule.forRoot({ secret: SECRET })],
        controllers: [CheckedController],
        providers: [globalGuard],
      },
      async (app) => {
        expectRefused(await app.get('/checked', header(mint())), 'internal_error');
      },
      {
        override: (builder) =>
          builder.overrideProvider(ApproovTokenVerifier).useValue({
            verify: () => {
              throw new TypeError('boom');
            },
          }),
      },
    );
  });
});
