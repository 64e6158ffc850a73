import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  type ApproovClaims as Claims,
  ApproovClaims,
  ApproovGuard,
  ApproovMode,
  ApproovModule,
  type ApproovModuleOptions,
  ApproovTokenBinding,
  ApproovVerified,
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
import { header, mint, OTHER_SECRET, SECRET } from './support/tokens.js';

@Controller('default')
class DefaultModeController {
  @Get()
  defaultMode(
    @ApproovClaims() claims: Claims | undefined,
    @ApproovVerified() verified: boolean,
  ): object {
    handlerCalls.push('defaultMode');
    return { claims: claims ?? null, verified };
  }

  @Get('bound')
  @ApproovTokenBinding('Authorization')
  bound(@ApproovClaims() claims: Claims | undefined, @ApproovVerified() verified: boolean): object {
    handlerCalls.push('bound');
    return { claims: claims ?? null, verified };
  }

  @Get('enforced')
  @ApproovMode('enforce')
  enforced(): object {
    return ran('enforced');
  }

  @Get('monitored')
  @ApproovMode('monitor')
  monitored(): object {
    return ran('monitored');
  }
}

@Controller('monitored-class')
@ApproovMode('monitor')
class MonitoredController {
  @Get()
  monitoredClass(): object {
    return ran('monitoredClass');
  }

  @Get('enforced')
  @ApproovMode('enforce')
  enforcedInMonitored(): object {
    return ran('enforcedInMonitored');
  }
}

const start = (adapter: AdapterName, options: Partial<ApproovModuleOptions>) =>
  TestApp.start(adapter, {
    imports: [ApproovModule.forRoot({ secret: SECRET, ...options })],
    controllers: [DefaultModeController, MonitoredController],
    providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
  });

/** Asserts that `handler` ran although the request failed, and that the failure was reported. */
function expectLetThrough(response: { status: number }, handler: string, reason: string): void {
  expect(response.status).toBe(200);
  expect(handlerCalls).toEqual([handler]);
  expect(logs.lines).toEqual([
    expect.stringContaining(`Approov token failed, let through by monitor mode: ${reason} `),
  ]);
}

describe.each(ADAPTERS)('monitor mode (%s)', (adapter) => {
  describe("mode: 'monitor'", () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await start(adapter, { mode: 'monitor' });
    });
    afterAll(() => app.close());

    it('lets a request without a token through, and reports it', async () => {
      const response = await app.get('/default');
      expectLetThrough(response, 'defaultMode', 'missing_token');
      expect(response.body).toEqual({ claims: null, verified: false });
    });

    it('still runs every check: a valid token is verified', async () => {
      const response = await app.get('/default', header(mint({ claims: { did: 'device' } })));
      expectAccepted(response, 'defaultMode');
      expect(response.body).toMatchObject({ claims: { did: 'device' }, verified: true });
    });

    it('exposes nothing of a token with a bad signature, or an expired one', async () => {
      const forged = await app.get('/default', header(mint({ secret: OTHER_SECRET })));
      expectLetThrough(forged, 'defaultMode', 'bad_signature');
      expect(forged.body).toEqual({ claims: null, verified: false });
      const expired = await app.get('/default', header(mint({ ttlSeconds: -1 })));
      expectLetThrough(expired, 'defaultMode', 'expired');
      expect(expired.body).toEqual({ claims: null, verified: false });
    });

    it('exposes the claims of a token that failed only its binding, flagged as not verified', async () => {
      const token = mint({ bind: ['Bearer a'], claims: { did: 'device' } });
      const response = await app.get('/default/bound', {
        ...header(token),
        Authorization: 'Bearer b',
      });
      expectLetThrough(response, 'bound', 'binding_mismatch');
      expect(response.body).toMatchObject({ claims: { did: 'device' }, verified: false });
    });

    it('enforces a handler marked @ApproovMode("enforce")', async () => {
      expectRefused(await app.get('/default/enforced'), 'missing_token');
      expectAccepted(await app.get('/default/enforced', header(mint())), 'enforced');
    });
  });

  describe("mode: 'enforce' (default)", () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await start(adapter, {});
    });
    afterAll(() => app.close());

    it('refuses by default', async () => {
      expectRefused(await app.get('/default'), 'missing_token');
    });

    it('monitors a handler marked @ApproovMode("monitor")', async () => {
      expectLetThrough(await app.get('/default/monitored'), 'monitored', 'missing_token');
    });

    it('monitors a controller marked @ApproovMode("monitor"), except an enforced handler', async () => {
      expectLetThrough(await app.get('/monitored-class'), 'monitoredClass', 'missing_token');
      expectRefused(await app.get('/monitored-class/enforced'), 'missing_token');
    });
  });
});
