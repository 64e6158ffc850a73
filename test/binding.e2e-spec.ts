import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApproovGuard, ApproovModule, ApproovTokenBinding } from 'nestjs-approov';
import { approovBindingHash } from 'nestjs-approov/testing';
import { ADAPTERS, expectAccepted, expectRefused, ran, TestApp } from './support/test-app.js';
import { mint, SECRET } from './support/tokens.js';

@Controller('module')
class ModuleBindingController {
  @Get()
  moduleBound(): object {
    return ran('moduleBound');
  }

  @Get('login')
  @ApproovTokenBinding(false)
  login(): object {
    return ran('login');
  }

  @Get('device')
  @ApproovTokenBinding('X-Device-Id')
  device(): object {
    return ran('device');
  }
}

@Controller('class')
@ApproovTokenBinding('Authorization', 'X-Device-Id')
class ClassBindingController {
  @Get()
  classBound(): object {
    return ran('classBound');
  }

  @Get('device')
  @ApproovTokenBinding('x-device-id')
  deviceOnly(): object {
    return ran('deviceOnly');
  }
}

const AUTHORIZATION = 'Bearer user-token-123';
const DEVICE_ID = 'device-42';
const request = (token: string, headers: Record<string, string | string[]> = {}) => ({
  'Approov-Token': token,
  ...headers,
});

describe.each(ADAPTERS)('token binding (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start(adapter, {
      imports: [ApproovModule.forRoot({ secret: SECRET, tokenBinding: ['Authorization'] })],
      controllers: [ModuleBindingController, ClassBindingController],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
    });
  });
  afterAll(() => app.close());

  describe('by the tokenBinding option', () => {
    const bound = () => mint({ bind: [AUTHORIZATION] });

    it('accepts a token bound to the Authorization header', async () => {
      const response = await app.get('/module', request(bound(), { Authorization: AUTHORIZATION }));
      expectAccepted(response, 'moduleBound');
    });

    it('refuses it with another Authorization', async () => {
      const headers = request(bound(), { Authorization: 'Bearer user-token-124' });
      expectRefused(await app.get('/module', headers), 'binding_mismatch');
    });

    it('refuses it without Authorization, or with an empty one', async () => {
      expectRefused(await app.get('/module', request(bound())), 'missing_binding_header');
      const empty = request(bound(), { Authorization: '' });
      expectRefused(await app.get('/module', empty), 'missing_binding_header');
    });

    it('refuses Authorization sent twice, even with the bound value both times', async () => {
      const twice = request(bound(), { Authorization: [AUTHORIZATION, AUTHORIZATION] });
      expectRefused(await app.get('/module', twice), 'duplicate_binding_header');
      const other = request(bound(), { Authorization: [AUTHORIZATION, 'Bearer attacker'] });
      expectRefused(await app.get('/module', other), 'duplicate_binding_header');
    });

    it('refuses a token without pay, or with pay not a string', async () => {
      const headers = { Authorization: AUTHORIZATION };
      expectRefused(await app.get('/module', request(mint(), headers)), 'missing_pay');
      for (const pay of [null, 42, [approovBindingHash([AUTHORIZATION])], {}]) {
        const token = mint({ claims: { pay } });
        expectRefused(await app.get('/module', request(token, headers)), 'invalid_pay');
      }
    });

    it('refuses other renditions of the right hash', async () => {
      const hash = approovBindingHash([AUTHORIZATION]);
      const renditions = [
        Buffer.from(hash, 'base64').toString('base64url'),
        hash.replace(/=+$/, ''),
        Buffer.from(hash, 'base64').toString('hex'),
        hash.toLowerCase(),
        `${hash} `,
        ` ${hash}`,
        '',
      ];
      for (const pay of renditions) {
        const token = mint({ claims: { pay } });
        const response = await app.get('/module', request(token, { Authorization: AUTHORIZATION }));
        expectRefused(response, 'binding_mismatch');
      }
    });

    it('hashes the bytes the client sent, so a UTF-8 value binds', async () => {
      const value = 'Bearer café-ü-東京';
      const token = mint({ bind: [value] });
      // Node hands header bytes over as latin1 characters: send the UTF-8 bytes that way.
      const wire = Buffer.from(value, 'utf8').toString('latin1');
      expectAccepted(
        await app.get('/module', request(token, { Authorization: wire })),
        'moduleBound',
      );
    });

    it('does not bind on a route marked @ApproovTokenBinding(false)', async () => {
      expectAccepted(await app.get('/module/login', request(mint())), 'login');
    });

    it('binds to the handler decorator headers instead of the option', async () => {
      const byDevice = mint({ bind: [DEVICE_ID] });
      expectAccepted(
        await app.get('/module/device', request(byDevice, { 'X-Device-Id': DEVICE_ID })),
        'device',
      );
      const byAuthorization = request(mint({ bind: [AUTHORIZATION] }), {
        Authorization: AUTHORIZATION,
        'X-Device-Id': DEVICE_ID,
      });
      expectRefused(await app.get('/module/device', byAuthorization), 'binding_mismatch');
    });
  });

  describe('by a controller decorator with two headers', () => {
    const both = { Authorization: AUTHORIZATION, 'X-Device-Id': DEVICE_ID };

    it('accepts a token bound to both values in order', async () => {
      const token = mint({ bind: [AUTHORIZATION, DEVICE_ID] });
      expectAccepted(await app.get('/class', request(token, both)), 'classBound');
    });

    it('refuses the values hashed in the other order, or only one of them', async () => {
      for (const bind of [[DEVICE_ID, AUTHORIZATION], [AUTHORIZATION], [DEVICE_ID]]) {
        expectRefused(await app.get('/class', request(mint({ bind }), both)), 'binding_mismatch');
      }
    });

    it('refuses when the second header is missing', async () => {
      const token = mint({ bind: [AUTHORIZATION, DEVICE_ID] });
      const onlyFirst = request(token, { Authorization: AUTHORIZATION });
      expectRefused(await app.get('/class', onlyFirst), 'missing_binding_header');
    });

    it('lets a handler decorator override the controller', async () => {
      const token = mint({ bind: [DEVICE_ID] });
      expectAccepted(await app.get('/class/device', request(token, both)), 'deviceOnly');
      const bothBound = mint({ bind: [AUTHORIZATION, DEVICE_ID] });
      expectRefused(await app.get('/class/device', request(bothBound, both)), 'binding_mismatch');
    });
  });
});
