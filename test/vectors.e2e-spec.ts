import { afterAll, afterEach, beforeAll, describe, it, jest } from '@jest/globals';
import { APP_GUARD } from '@nestjs/core';
import { ApproovGuard, ApproovModule, type ApproovModuleOptions } from 'nestjs-approov';
import { VECTOR_REASONS, VectorController } from './support/routes.js';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectRefused,
  type Headers,
  TestApp,
} from './support/test-app.js';
import { payloadOf, type VectorCase, vectors } from './support/tokens.js';

/** The vectors' valid tokens expire from 2033 on: a fixed clock keeps this suite true. */
const FROZEN_NOW_MS = Date.UTC(2026, 0, 1);

/** An app with the vector routes behind the global guard, configured with `options`. */
const startVectorApp = (adapter: AdapterName, options: ApproovModuleOptions) =>
  TestApp.start(adapter, {
    imports: [ApproovModule.forRoot(options)],
    controllers: [VectorController],
    providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
  });

function freezeClock(ms: number): void {
  jest.spyOn(Date, 'now').mockReturnValue(ms);
}

function headersOf(vector: VectorCase, binding: Headers = {}): Headers {
  return vector.token === null ? binding : { ...binding, 'Approov-Token': vector.token };
}

/** Sends `vector` to the route of `handler` and checks the answer it expects. */
async function expectOutcome(app: TestApp, handler: string, vector: VectorCase, headers: Headers) {
  const response = await app.get(`/${handler}`, headers);
  if (vector.expect === 200) expectAccepted(response, handler);
  else expectRefused(response, VECTOR_REASONS[vector.name]);
}

describe.each(ADAPTERS)("Approov's published vectors (%s)", (adapter) => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('quickstart secret', () => {
    const { quickstarts } = vectors;
    let app: TestApp;
    beforeAll(async () => {
      app = await startVectorApp(adapter, { secret: quickstarts.secret_base64 });
    });
    afterAll(() => app.close());

    it.each(quickstarts.cases)('token check: $name answers $expect', async (vector) => {
      freezeClock(FROZEN_NOW_MS);
      await expectOutcome(app, 'check', vector, headersOf(vector));
    });

    it.each(quickstarts.binding_cases)('binding: $name answers $expect', async (vector) => {
      freezeClock(FROZEN_NOW_MS);
      const binding: Headers =
        vector.authorization == null ? {} : { Authorization: vector.authorization };
      await expectOutcome(app, 'bound', vector, headersOf(vector, binding));
    });

    // Frozen just before their expiry, the expired vectors pass: time alone refuses them.
    it.each(quickstarts.cases.filter((vector) => VECTOR_REASONS[vector.name] === 'expired'))(
      '$name is accepted one second before its exp',
      async (vector) => {
        freezeClock((Number(payloadOf(vector.token!).exp) - 1) * 1000);
        expectAccepted(await app.get('/check', headersOf(vector)), 'check');
      },
    );

    it('bad signature, expired 2019 is refused for its signature even before its exp', async () => {
      const vector = quickstarts.cases.find((c) => c.name === 'bad signature, expired 2019')!;
      freezeClock((Number(payloadOf(vector.token!).exp) - 1) * 1000);
      expectRefused(await app.get('/check', headersOf(vector)), 'bad_signature');
    });
  });

  describe('quickstart secret, allowMissingPay', () => {
    const { quickstarts } = vectors;
    let app: TestApp;
    beforeAll(async () => {
      app = await startVectorApp(adapter, {
        secret: quickstarts.secret_base64,
        allowMissingPay: true,
      });
    });
    afterAll(() => app.close());

    it('accepts the fail-over token without pay, and still refuses a mismatching pay', async () => {
      freezeClock(FROZEN_NOW_MS);
      const authorization = { Authorization: quickstarts.binding_value };
      const failOver = quickstarts.binding_cases.find((c) => c.name.startsWith('no pay claim'))!;
      expectAccepted(await app.get('/bound', headersOf(failOver, authorization)), 'bound');
      const mismatch = quickstarts.binding_cases.find((c) => c.name === 'pay does not match')!;
      expectRefused(
        await app.get('/bound', headersOf(mismatch, authorization)),
        'binding_mismatch',
      );
    });
  });

  describe('ASP.NET quickstart secret', () => {
    const { aspnet } = vectors;
    let app: TestApp;
    beforeAll(async () => {
      app = await startVectorApp(adapter, { secret: aspnet.secret_base64 });
    });
    afterAll(() => app.close());

    it.each(aspnet.cases)('token check: $name answers $expect', async (vector) => {
      freezeClock(FROZEN_NOW_MS);
      await expectOutcome(app, 'check', vector, headersOf(vector));
    });

    it.each(aspnet.binding_cases)('double binding: $name answers $expect', async (vector) => {
      freezeClock(FROZEN_NOW_MS);
      await expectOutcome(app, 'doubleBound', vector, headersOf(vector, aspnet.binding_values));
    });

    it('refuses the bound token when the binding headers come in the other order', async () => {
      freezeClock(FROZEN_NOW_MS);
      const vector = aspnet.binding_cases.find((c) => c.expect === 200)!;
      const swapped = {
        Authorization: aspnet.binding_values['X-Device-Id'],
        'X-Device-Id': aspnet.binding_values.Authorization,
      };
      expectRefused(await app.get('/doubleBound', headersOf(vector, swapped)), 'binding_mismatch');
    });
  });
});
