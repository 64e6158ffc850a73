import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ApproovGuard,
  ApproovMode,
  ApproovModule,
  type ApproovModuleOptions,
  type ApproovResultEvent,
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
import { header, mint, OTHER_SECRET, SECRET } from './support/tokens.js';

@Controller('orders')
class OrdersController {
  @Get(':id')
  order(): object {
    return ran('order');
  }

  @Get(':id/bound')
  @ApproovTokenBinding('Authorization')
  @ApproovMode('monitor')
  boundOrder(): object {
    return ran('boundOrder');
  }
}

const events: ApproovResultEvent[] = [];

const start = (adapter: AdapterName, options: Partial<ApproovModuleOptions>) =>
  TestApp.start(adapter, {
    imports: [
      ApproovModule.forRoot({ secret: SECRET, onResult: (e) => events.push(e), ...options }),
    ],
    controllers: [OrdersController],
    providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
  });

describe.each(ADAPTERS)('onResult and logging (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await start(adapter, {});
  });
  afterAll(() => app.close());
  const get = (path: string, headers: Record<string, string> = {}) => {
    events.length = 0;
    return app.get(path, headers);
  };

  it('reports an accepted request, and logs nothing', async () => {
    const token = mint({ claims: { did: 'device-1', arc: 'EAM2W37PSU' } });
    const response = await get('/orders/7?secret=no', {
      ...header(token),
      'Approov-Status': 'success',
      'Approov-TraceID': 'trace-1',
    });
    expectAccepted(response, 'order');
    // How long the check took: a first sighting of a token, well under a second.
    expect(events[0].durationMs).toBeGreaterThan(0);
    expect(events[0].durationMs).toBeLessThan(1000);
    expect(events).toEqual([
      {
        outcome: 'accepted',
        mode: 'enforce',
        transport: 'http',
        method: 'GET',
        route: '/orders/:id',
        durationMs: expect.any(Number),
        did: 'device-1',
        arc: 'EAM2W37PSU',
        approovStatus: 'success',
        traceId: 'trace-1',
      },
    ]);
  });

  it('reports a rejection with the reason, and the did and arc of a signed token', async () => {
    const token = mint({ ttlSeconds: -1, claims: { did: 'device-2', arc: 'A1' } });
    expectRefused(await get('/orders/8', header(token)), 'expired');
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'rejected',
        reason: 'expired',
        did: 'device-2',
        arc: 'A1',
      }),
    ]);
    expect(logs.lines[0]).toMatch(
      /^Approov token rejected: expired \(GET \/orders\/:id\) did="device-2" arc="A1"$/,
    );
  });

  it('reports nothing of a token whose signature failed', async () => {
    const token = mint({ secret: OTHER_SECRET, claims: { did: 'forged', arc: 'forged' } });
    expectRefused(await get('/orders/9', header(token)), 'bad_signature');
    expect(events).toEqual([
      {
        outcome: 'rejected',
        reason: 'bad_signature',
        mode: 'enforce',
        transport: 'http',
        method: 'GET',
        route: '/orders/:id',
        durationMs: expect.any(Number),
      },
    ]);
  });

  it('reports a request let through by monitor mode', async () => {
    const token = mint({ bind: ['Bearer a'], claims: { did: 'device-3' } });
    const response = await get('/orders/1/bound', { ...header(token), Authorization: 'Bearer b' });
    expect(response.status).toBe(200);
    expect(handlerCalls).toEqual(['boundOrder']);
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'monitored',
        reason: 'binding_mismatch',
        mode: 'monitor',
        route: '/orders/:id/bound',
        did: 'device-3',
      }),
    ]);
  });

  it('tells an SDK status word in the token header from an attack', async () => {
    for (const word of ['NO_NETWORK', 'MITM_DETECTED', 'POOR_NETWORK']) {
      expectRefused(await get('/orders/1', header(word)), 'status_instead_of_token');
    }
  });

  it('tells an app that could not get a token, and says why, from a missing token', async () => {
    const response = await get('/orders/1', {
      'Approov-Token': '',
      'Approov-Status': 'no_network',
    });
    expectRefused(response, 'no_token_with_status');
    expect(events).toEqual([expect.objectContaining({ approovStatus: 'no_network' })]);
    expect(logs.lines[0]).toContain('approovStatus="no_network"');
    expectRefused(
      await get('/orders/1', { 'Approov-Status': 'no_network' }),
      'no_token_with_status',
    );
  });

  it('quotes and cuts client-controlled values in the log line', async () => {
    const traceId = `"quoted" ${'x'.repeat(100)}`;
    expectRefused(await get('/orders/1', { 'Approov-TraceID': traceId }), 'missing_token');
    expect(logs.lines[0]).toContain(`traceId=${JSON.stringify(traceId.slice(0, 64))}`);
    expect(events[0].traceId).toBe(traceId);
  });
});

describe.each(ADAPTERS)('onResult that throws, and log levels (%s)', (adapter) => {
  it('changes nothing when onResult throws: the error is logged', async () => {
    const app = await start(adapter, {
      onResult: () => {
        throw new Error('metrics down');
      },
    });
    try {
      let response = await app.get('/orders/1', header(mint()));
      expect(response.status).toBe(200);
      expect(handlerCalls).toEqual(['order']);
      expect(logs.lines).toEqual([expect.stringContaining('onResult threw; the decision stands')]);
      response = await app.get('/orders/1');
      expect(response.status).toBe(401);
      expect(response.text).toBe('{}');
      expect(handlerCalls).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('logs at the configured level, or not at all', async () => {
    const silent = await start(adapter, { logLevel: false });
    try {
      const response = await silent.get('/orders/1');
      expect(response.status).toBe(401);
      expect(handlerCalls).toEqual([]);
      expect(logs.lines).toEqual([]);
    } finally {
      await silent.close();
    }
    const errors = await start(adapter, { logLevel: 'error' });
    try {
      expectRefused(await errors.get('/orders/1'), 'missing_token');
      expect(logs.levels).toEqual(['error']);
    } finally {
      await errors.close();
    }
  });
});
