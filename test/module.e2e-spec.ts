import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import {
  ApproovConfigError,
  ApproovGuard,
  ApproovModule,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectRefused,
  handlerCalls,
  ran,
  TestApp,
} from './support/test-app.js';
import { ProtectedController } from './support/routes.js';
import { generateApproovSecret } from 'nestjs-approov/testing';
import { header, mint, OTHER_SECRET, SECRET } from './support/tokens.js';

@Controller('guarded')
@UseGuards(ApproovGuard)
class GuardedController {
  @Get()
  guarded(): object {
    return ran('guarded');
  }
}

@Controller('unguarded')
class UnguardedController {
  @Get()
  unguarded(): object {
    return ran('unguarded');
  }
}

/** A feature module that uses the guard without importing ApproovModule itself. */
@Module({ controllers: [GuardedController, UnguardedController] })
class FeatureModule {}

@Injectable()
class ApproovOptionsFromConfig {
  constructor(private readonly config: ConfigService) {}
  createApproovOptions(): ApproovModuleOptions {
    return { secret: this.config.getOrThrow('APPROOV_BASE64_SECRET') };
  }
}

@Module({
  imports: [ConfigModule],
  providers: [ApproovOptionsFromConfig],
  exports: [ApproovOptionsFromConfig],
})
class OptionsModule {}

/** ConfigModule with the secret as the environment would give it, without touching process.env. */
const configModule = ConfigModule.forRoot({
  ignoreEnvFile: true,
  ignoreEnvVars: true,
  load: [() => ({ APPROOV_BASE64_SECRET: SECRET })],
});
const globalGuard = { provide: APP_GUARD, useExisting: ApproovGuard };

/** Starts an app with `approov` and a protected route, checks it, and closes it. */
async function expectProtects(adapter: AdapterName, approov: object, imports: object[] = []) {
  await TestApp.run(
    adapter,
    {
      imports: [...imports, approov] as never[],
      controllers: [ProtectedController],
      providers: [globalGuard],
    },
    async (app) => {
      expectRefused(await app.get('/protected'), 'missing_token');
      expectRefused(
        await app.get('/protected', header(mint({ secret: OTHER_SECRET }))),
        'bad_signature',
      );
      expectAccepted(await app.get('/protected', header(mint())), 'protectedRoute');
    },
  );
}

describe.each(ADAPTERS)('ApproovModule (%s)', (adapter) => {
  describe('configuration', () => {
    it('forRoot with the secret in base64', async () => {
      await expectProtects(adapter, ApproovModule.forRoot({ secret: SECRET }));
    });

    it('forRoot with the secret in unpadded base64url', async () => {
      const base64url = Buffer.from(SECRET, 'base64').toString('base64url');
      await expectProtects(adapter, ApproovModule.forRoot({ secret: base64url }));
    });

    it('forRootAsync with a factory reading ConfigService', async () => {
      const approov = ApproovModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({
          secret: config.getOrThrow<string>('APPROOV_BASE64_SECRET'),
        }),
      });
      await expectProtects(adapter, approov, [configModule]);
    });

    it('forRootAsync with an async factory', async () => {
      const approov = ApproovModule.forRootAsync({
        useFactory: () => Promise.resolve({ secret: SECRET }),
      });
      await expectProtects(adapter, approov);
    });

    it('forRootAsync with useClass', async () => {
      const approov = ApproovModule.forRootAsync({
        imports: [ConfigModule],
        useClass: ApproovOptionsFromConfig,
      });
      await expectProtects(adapter, approov, [configModule]);
    });

    it('forRootAsync with useExisting', async () => {
      const approov = ApproovModule.forRootAsync({
        imports: [OptionsModule],
        useExisting: ApproovOptionsFromConfig,
      });
      await expectProtects(adapter, approov, [configModule]);
    });
  });

  describe('guard placement', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await TestApp.start(adapter, {
        imports: [ApproovModule.forRoot({ secret: SECRET }), FeatureModule],
      });
    });
    afterAll(() => app.close());

    it('@UseGuards(ApproovGuard) protects a controller of a feature module', async () => {
      expectRefused(await app.get('/guarded'), 'missing_token');
      expectAccepted(await app.get('/guarded', header(mint())), 'guarded');
    });

    it('leaves controllers without the guard alone when it is not global', async () => {
      expectAccepted(await app.get('/unguarded'), 'unguarded');
    });

    it('is not available to other modules with isGlobal: false', async () => {
      const start = TestApp.start(adapter, {
        imports: [ApproovModule.forRoot({ secret: SECRET, isGlobal: false }), FeatureModule],
      });
      await expect(start).rejects.toThrow(/ApproovGuard/);
    });
  });

  describe("turned off in an app's own tests", () => {
    const letThrough = { canActivate: () => true };

    it('by overriding the ApproovGuard provider, where it is the APP_GUARD', async () => {
      await TestApp.run(
        adapter,
        {
          imports: [ApproovModule.forRoot({ secret: SECRET })],
          controllers: [ProtectedController],
          providers: [globalGuard],
        },
        async (app) => {
          expectAccepted(await app.get('/protected'), 'protectedRoute');
        },
        { override: (builder) => builder.overrideProvider(ApproovGuard).useValue(letThrough) },
      );
    });

    it('by overriding the guard, where controllers use @UseGuards(ApproovGuard)', async () => {
      await TestApp.run(
        adapter,
        { imports: [ApproovModule.forRoot({ secret: SECRET }), FeatureModule] },
        async (app) => {
          expectAccepted(await app.get('/guarded'), 'guarded');
        },
        { override: (builder) => builder.overrideGuard(ApproovGuard).useValue(letThrough) },
      );
    });
  });

  describe("beside the application's own JwtModule", () => {
    @Controller('app-jwt')
    class AppJwtController {
      constructor(private readonly jwt: JwtService) {}
      @Get('sign')
      sign(): object {
        handlerCalls.push('sign');
        return { token: this.jwt.sign({ sub: 'user', exp: Math.floor(Date.now() / 1000) + 300 }) };
      }
    }

    it('keeps its own secret and rules whatever JwtModule the app registers', async () => {
      const appSecret = generateApproovSecret();
      await TestApp.run(
        adapter,
        {
          imports: [
            JwtModule.register({
              global: true,
              secret: appSecret,
              // Lax rules of the app's own JwtService must not reach Approov's.
              verifyOptions: { algorithms: ['HS256', 'HS512'], ignoreExpiration: true },
            }),
            ApproovModule.forRoot({ secret: SECRET }),
          ],
          controllers: [ProtectedController, AppJwtController],
          providers: [globalGuard],
        },
        async (app) => {
          const signed = await app.get('/app-jwt/sign', header(mint()));
          expectAccepted(signed, 'sign');
          expectRefused(
            await app.get('/protected', header((signed.body as { token: string }).token)),
            'bad_signature',
          );
          expectRefused(await app.get('/protected', header(mint({ ttlSeconds: -5 }))), 'expired');
          const hs512 = mint({ header: { alg: 'HS512', typ: 'JWT' } });
          expectRefused(await app.get('/protected', header(hs512)), 'unsupported_algorithm');
          expectAccepted(await app.get('/protected', header(mint())), 'protectedRoute');
        },
      );
    });

    it('ignores a global secretOrKeyProvider', async () => {
      const appJwt = JwtModule.register({
        global: true,
        secretOrKeyProvider: () => Buffer.from(OTHER_SECRET, 'base64'),
      });
      await expectProtects(adapter, ApproovModule.forRoot({ secret: SECRET }), [appJwt]);
    });
  });

  describe('startup failures', () => {
    const start = (options: unknown) =>
      TestApp.start(adapter, {
        imports: [ApproovModule.forRoot(options as ApproovModuleOptions)],
        controllers: [ProtectedController],
        providers: [globalGuard],
      });
    const shortSecret = Buffer.alloc(16, 9).toString('base64');

    it.each([
      ['a missing secret', {}, /"secret" is missing/],
      ['an empty secret', { secret: '' }, /"secret" is empty/],
      ['a secret of padding only', { secret: '====' }, /"secret" is not base64/],
      ['a secret that is not base64', { secret: '!!!!' }, /"secret" is not base64/],
      ['a secret under 32 bytes', { secret: shortSecret }, /"secret" decodes to 16 bytes/],
      ['a secret that is not a string', { secret: 42 }, /"secret" must be a string/],
    ])('refuses %s, saying how to get the secret', async (_case, options, message) => {
      const failure = start(options);
      await expect(failure).rejects.toThrow(ApproovConfigError);
      await expect(failure).rejects.toThrow(message);
      await expect(failure).rejects.toThrow(/approov secret -get base64/);
    });

    it.each([
      ['tokenHeader', { tokenHeader: 'Approov Token' }],
      ['tokenBinding[0]', { tokenBinding: ['Authorization: x'] }],
      ['tokenBinding', { tokenBinding: ['Approov-Token'] }],
      ['allowMissingPay', { allowMissingPay: 'yes' }],
      ['clockToleranceSeconds', { clockToleranceSeconds: -1 }],
      ['tokenbinding', { tokenbinding: ['Authorization'] }],
    ])('refuses a bad %s, naming it', async (option, options) => {
      await expect(start({ secret: SECRET, ...options })).rejects.toThrow(`"${option}"`);
    });

    it('refuses a bad secret from forRootAsync, without echoing it', async () => {
      const secret = SECRET.slice(0, 20);
      const failure = TestApp.start(adapter, {
        imports: [ApproovModule.forRootAsync({ useFactory: () => ({ secret }) })],
      });
      await expect(failure).rejects.toThrow(/"secret" decodes to 15 bytes/);
      await expect(failure).rejects.not.toThrow(secret);
    });
  });
});
