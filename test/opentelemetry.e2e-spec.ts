import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import http from 'node:http';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  type Attributes,
  context,
  metrics,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  MetricReader,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovMode,
  ApproovModule,
  type ApproovModuleOptions,
  type ApproovReplayStore,
  type ApproovResultEvent,
  SkipApproov,
} from 'nestjs-approov';
import { type ApproovTelemetryOptions, withApproovTelemetry } from 'nestjs-approov/opentelemetry';
import { mintApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import { jwksOf, JwksServer, servedKey } from './support/jwks-server.js';
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

  @Get(':id/audit')
  @ApproovMode('monitor')
  audit(): object {
    return ran('audit');
  }
}

@Controller('signed')
class SignedController {
  @Get(':id')
  @ApproovMessageSigning({ replay: true })
  signed(): object {
    return ran('signed');
  }
}

@Controller('health')
@SkipApproov()
class HealthController {
  @Get()
  health(): object {
    return ran('health');
  }
}

/** A metric reader that collects when the test asks, and only then. */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A meter provider of the SDK, and its reader. */
function meterProviderWithReader(): { provider: MeterProvider; reader: CollectingReader } {
  const reader = new CollectingReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
}

/** What the reader collects of the library's meter: each instrument's data points. */
async function collected(reader: CollectingReader) {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const scopes = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'nestjs-approov');
  const metricsOf = scopes.flatMap((scope) => scope.metrics);
  const decisions = metricsOf.find((m) => m.descriptor.name === 'approov.decisions') as
    SumMetricData | undefined;
  const durations = metricsOf.find((m) => m.descriptor.name === 'approov.check.duration') as
    HistogramMetricData | undefined;
  return { scopes, decisions, durations };
}

/** Data points in the order of their attributes, for comparison. */
const sortedPoints = <T extends { attributes: Attributes }>(points: readonly T[]): T[] =>
  [...points].sort((a, b) =>
    JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)),
  );

/** The attributes this library sets on a span: those named `approov.*`. */
const approovAttributesOf = (span: ReadableSpan): Attributes =>
  Object.fromEntries(
    Object.entries(span.attributes).filter(([name]) => name.startsWith('approov.')),
  );

// Server spans made by the real HTTP instrumentation. It patches `http` when an app requires it,
// which jest's module registry hides from it, so its patch is applied to `http` here by hand.
const spans = new InMemorySpanExporter();
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const httpInstrumentation = new HttpInstrumentation({
  enabled: false,
  disableOutgoingRequestInstrumentation: true,
});
httpInstrumentation.setTracerProvider(tracerProvider);
const httpPatch = httpInstrumentation.getModuleDefinitions().find((m) => m.name === 'http')!;

beforeAll(() => {
  httpPatch.patch!(http);
});
afterAll(async () => {
  httpPatch.unpatch!(http);
  await tracerProvider.shutdown();
});

/** Registers the tracer provider, its context manager and propagator globally, as the SDK does. */
const registerTracing = () => tracerProvider.register();

/** Leaves no provider, context manager or propagator registered. */
function unregisterAll(): void {
  metrics.disable();
  trace.disable();
  context.disable();
  propagation.disable();
}

/** The one finished server span of the request to `path`. */
function serverSpanOf(path: string): ReadableSpan {
  const found = spans
    .getFinishedSpans()
    .filter((span) => span.kind === SpanKind.SERVER && span.attributes['url.path'] === path);
  expect(found).toHaveLength(1);
  return found[0];
}

/** The events the app's own `onResult` received. */
const appEvents: ApproovResultEvent[] = [];
const appOnResult = (event: ApproovResultEvent) => void appEvents.push(event);

/** An app whose `onResult` is the app's own, with telemetry; its keys are `keys` (`SECRET`). */
function metadata(
  telemetry: ApproovTelemetryOptions = {},
  keys: Partial<ApproovModuleOptions> = { secret: SECRET },
) {
  return {
    imports: [
      ApproovModule.forRoot({ ...keys, onResult: withApproovTelemetry(appOnResult, telemetry) }),
    ],
    controllers: [OrdersController, SignedController, HealthController],
    providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
  };
}

const ORDERS = { mode: 'enforce', transport: 'http', route: '/orders/:id' };
const AUDIT = { mode: 'monitor', transport: 'http', route: '/orders/:id/audit' };
/** Every attribute a data point may have: never a device id. */
const METRIC_ATTRIBUTES = ['outcome', 'reason', 'replay_unchecked', 'mode', 'transport', 'route'];

describe.each(ADAPTERS)('withApproovTelemetry, with the SDK registered (%s)', (adapter) => {
  const { provider, reader } = meterProviderWithReader();

  /**
   * The scripted mix, sent once: 3 accepted, 2 refused for a missing token, 1 for a bad
   * signature, 1 let through by monitor mode, 1 on a skipped route (no decision at all). The app
   * is closed before the tests look: every server span has ended by then.
   */
  beforeAll(async () => {
    registerTracing();
    metrics.setGlobalMeterProvider(provider);
    spans.reset();
    appEvents.length = 0;
    await TestApp.run(adapter, metadata(), async (app) => {
      for (const id of [1, 2, 3]) {
        const token = mint({ claims: { did: `device-${id}` } });
        expectAccepted(await app.get(`/orders/${id}`, header(token)), 'order');
      }
      expectRefused(await app.get('/orders/4'), 'missing_token');
      expectRefused(await app.get('/orders/5'), 'missing_token');
      const forged = mint({ secret: OTHER_SECRET, claims: { did: 'forged' } });
      expectRefused(await app.get('/orders/6', header(forged)), 'bad_signature');
      const audited = await app.get('/orders/7/audit');
      expect(audited.status).toBe(200);
      expect(handlerCalls).toEqual(['audit']);
      expectAccepted(await app.get('/health'), 'health');
    });
  });
  afterAll(async () => {
    unregisterAll();
    await provider.shutdown();
  });

  it('counts each decision by outcome, reason, mode, transport and route', async () => {
    const { scopes, decisions } = await collected(reader);
    expect(scopes).toHaveLength(1);
    expect(decisions?.descriptor).toMatchObject({
      name: 'approov.decisions',
      unit: '{decision}',
      description: expect.stringContaining('Decisions'),
    });
    expect(decisions?.dataPointType).toBe(DataPointType.SUM);
    expect(decisions?.isMonotonic).toBe(true);
    const points = decisions!.dataPoints.map(({ attributes, value }) => ({ attributes, value }));
    expect(sortedPoints(points)).toEqual(
      sortedPoints([
        { attributes: { outcome: 'accepted', ...ORDERS }, value: 3 },
        { attributes: { outcome: 'rejected', reason: 'missing_token', ...ORDERS }, value: 2 },
        { attributes: { outcome: 'rejected', reason: 'bad_signature', ...ORDERS }, value: 1 },
        { attributes: { outcome: 'monitored', reason: 'missing_token', ...AUDIT }, value: 1 },
      ]),
    );
  });

  it('times each check in seconds, in buckets from microseconds up', async () => {
    const { durations } = await collected(reader);
    expect(durations?.descriptor).toMatchObject({ name: 'approov.check.duration', unit: 's' });
    expect(durations?.dataPointType).toBe(DataPointType.HISTOGRAM);
    const points = durations!.dataPoints.map(({ attributes, value }) => ({
      attributes,
      count: value.count,
      boundaries: value.buckets.boundaries,
    }));
    const boundaries = [
      0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ];
    expect(sortedPoints(points)).toEqual(
      sortedPoints([
        { attributes: { outcome: 'accepted', ...ORDERS }, count: 3, boundaries },
        { attributes: { outcome: 'rejected', ...ORDERS }, count: 3, boundaries },
        { attributes: { outcome: 'monitored', ...AUDIT }, count: 1, boundaries },
      ]),
    );
    for (const { attributes, value } of durations!.dataPoints) {
      // In seconds: the sum of the events' `durationMs` / 1000.
      const timed = appEvents.filter((event) => event.outcome === attributes.outcome);
      const seconds = timed.reduce((sum, event) => sum + event.durationMs / 1000, 0);
      expect(value.sum).toBeGreaterThan(0);
      expect(value.sum).toBeCloseTo(seconds, 12);
    }
  });

  it('sets the decision on the server span, without an error status or the device id', () => {
    for (const id of [1, 2, 3]) {
      const span = serverSpanOf(`/orders/${id}`);
      expect(approovAttributesOf(span)).toEqual({
        'approov.outcome': 'accepted',
        'approov.mode': 'enforce',
      });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    for (const [id, reason] of [
      [4, 'missing_token'],
      [5, 'missing_token'],
      [6, 'bad_signature'],
    ] as const) {
      const span = serverSpanOf(`/orders/${id}`);
      expect(span.attributes['http.response.status_code']).toBe(401);
      expect(approovAttributesOf(span)).toEqual({
        'approov.outcome': 'rejected',
        'approov.mode': 'enforce',
        'approov.reason': reason,
      });
      // A refused request is not a server error.
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    expect(approovAttributesOf(serverSpanOf('/orders/7/audit'))).toEqual({
      'approov.outcome': 'monitored',
      'approov.mode': 'monitor',
      'approov.reason': 'missing_token',
    });
    expect(approovAttributesOf(serverSpanOf('/health'))).toEqual({});
  });

  it("hands every event to the app's own onResult too", () => {
    expect(
      appEvents.map(({ outcome, reason, route, did }) => ({ outcome, reason, route, did })),
    ).toEqual([
      { outcome: 'accepted', reason: undefined, route: '/orders/:id', did: 'device-1' },
      { outcome: 'accepted', reason: undefined, route: '/orders/:id', did: 'device-2' },
      { outcome: 'accepted', reason: undefined, route: '/orders/:id', did: 'device-3' },
      { outcome: 'rejected', reason: 'missing_token', route: '/orders/:id', did: undefined },
      { outcome: 'rejected', reason: 'missing_token', route: '/orders/:id', did: undefined },
      { outcome: 'rejected', reason: 'bad_signature', route: '/orders/:id', did: undefined },
      {
        outcome: 'monitored',
        reason: 'missing_token',
        route: '/orders/:id/audit',
        did: undefined,
      },
    ]);
  });
});

describe.each(ADAPTERS)(
  'withApproovTelemetry options and providers (%s)',
  (adapter: AdapterName) => {
    afterEach(() => {
      unregisterAll();
      jest.restoreAllMocks();
    });

    /** Decisions counted by `reader`, as `outcome` to count. */
    async function countsOf(reader: CollectingReader): Promise<Record<string, number>> {
      const { decisions } = await collected(reader);
      const counts: Record<string, number> = {};
      for (const { attributes, value } of decisions?.dataPoints ?? []) {
        const outcome = String(attributes.outcome);
        counts[outcome] = (counts[outcome] ?? 0) + value;
      }
      return counts;
    }

    it('adds the device id to the span with recordDeviceId, and never to the metrics', async () => {
      registerTracing();
      const { provider, reader } = meterProviderWithReader();
      metrics.setGlobalMeterProvider(provider);
      spans.reset();
      await TestApp.run(adapter, metadata({ recordDeviceId: true }), async (app) => {
        const token = mint({ claims: { did: 'device-9' } });
        expectAccepted(await app.get('/orders/1', header(token)), 'order');
        // A forged token's did is not known: its signature failed.
        const forged = mint({ secret: OTHER_SECRET, claims: { did: 'forged' } });
        expectRefused(await app.get('/orders/2', header(forged)), 'bad_signature');
      });
      expect(approovAttributesOf(serverSpanOf('/orders/1'))).toEqual({
        'approov.outcome': 'accepted',
        'approov.mode': 'enforce',
        'approov.device_id': 'device-9',
      });
      expect(approovAttributesOf(serverSpanOf('/orders/2'))).not.toHaveProperty(
        'approov.device_id',
      );
      const { decisions, durations } = await collected(reader);
      for (const { attributes } of [...decisions!.dataPoints, ...durations!.dataPoints]) {
        expect(METRIC_ATTRIBUTES).toEqual(expect.arrayContaining(Object.keys(attributes)));
      }
      await provider.shutdown();
    });

    it('leaves the span alone with traces: false, and still counts', async () => {
      registerTracing();
      const { provider, reader } = meterProviderWithReader();
      metrics.setGlobalMeterProvider(provider);
      spans.reset();
      await TestApp.run(adapter, metadata({ traces: false, recordDeviceId: true }), async (app) => {
        expectAccepted(await app.get('/orders/1', header(mint({ claims: { did: 'd' } }))), 'order');
        expectRefused(await app.get('/orders/2'), 'missing_token');
      });
      expect(approovAttributesOf(serverSpanOf('/orders/1'))).toEqual({});
      expect(approovAttributesOf(serverSpanOf('/orders/2'))).toEqual({});
      expect(await countsOf(reader)).toEqual({ accepted: 1, rejected: 1 });
      await provider.shutdown();
    });

    it('records into the meterProvider given, not the global one', async () => {
      const global = meterProviderWithReader();
      const given = meterProviderWithReader();
      metrics.setGlobalMeterProvider(global.provider);
      await TestApp.run(adapter, metadata({ meterProvider: given.provider }), async (app) => {
        expectAccepted(await app.get('/orders/1', header(mint())), 'order');
        expectRefused(await app.get('/orders/2'), 'missing_token');
      });
      expect(await countsOf(given.reader)).toEqual({ accepted: 1, rejected: 1 });
      expect((await collected(global.reader)).scopes).toEqual([]);
      await Promise.all([global.provider.shutdown(), given.provider.shutdown()]);
    });

    it('takes up a global meter provider registered after the app started', async () => {
      const { provider, reader } = meterProviderWithReader();
      await TestApp.run(adapter, metadata(), async (app) => {
        // No provider yet: the API's no-op one takes this decision.
        expectAccepted(await app.get('/orders/1', header(mint())), 'order');
        metrics.setGlobalMeterProvider(provider);
        expectAccepted(await app.get('/orders/2', header(mint())), 'order');
        expectRefused(await app.get('/orders/3'), 'missing_token');
      });
      expect(await countsOf(reader)).toEqual({ accepted: 1, rejected: 1 });
      await provider.shutdown();
    });

    it('changes nothing without an SDK: requests are decided as ever, onResult still runs', async () => {
      // Nothing registered: `afterEach` unregistered it all.
      appEvents.length = 0;
      spans.reset();
      await TestApp.run(adapter, metadata({ recordDeviceId: true }), async (app) => {
        expectAccepted(await app.get('/orders/1', header(mint({ claims: { did: 'd' } }))), 'order');
        expectRefused(await app.get('/orders/2'), 'missing_token');
      });
      expect(appEvents.map((event) => event.outcome)).toEqual(['accepted', 'rejected']);
      // Without a context manager no span is active, so none of the instrumentation's carries ours.
      expect(approovAttributesOf(serverSpanOf('/orders/1'))).toEqual({});
    });

    it('marks a request that a failing replay store let through unchecked, on the counter and the span', async () => {
      registerTracing();
      const { provider, reader } = meterProviderWithReader();
      metrics.setGlobalMeterProvider(provider);
      spans.reset();
      // A store of the app's own that cannot answer, and lets requests through when it cannot.
      const failingStore: ApproovReplayStore = {
        onStoreError: 'allow',
        claim: () => Promise.reject(new Error('store down')),
      };
      await TestApp.run(
        adapter,
        metadata({}, { secret: SECRET, replayStore: failingStore }),
        async (app) => {
          const { headers } = signApproovRequest({
            secret: SECRET,
            method: 'GET',
            url: `${app.address}/signed/1`,
          });
          const response = await app.sendRaw('get', '/signed/1', Object.entries(headers));
          expect(response.status).toBe(200);
          expect(handlerCalls).toEqual(['signed']);
          // The store's failure is logged; the request is let through.
          expect(logs.lines).toEqual([expect.stringContaining('let through unchecked')]);
          expectAccepted(await app.get('/orders/2', header(mint())), 'order');
        },
      );
      expect(approovAttributesOf(serverSpanOf('/signed/1'))).toEqual({
        'approov.outcome': 'accepted',
        'approov.mode': 'enforce',
        'approov.replay_unchecked': true,
      });
      expect(approovAttributesOf(serverSpanOf('/orders/2'))).toEqual({
        'approov.outcome': 'accepted',
        'approov.mode': 'enforce',
      });
      const { decisions } = await collected(reader);
      const points = decisions!.dataPoints.map(({ attributes, value }) => ({ attributes, value }));
      const signed = { mode: 'enforce', transport: 'http', route: '/signed/:id' };
      expect(sortedPoints(points)).toEqual(
        sortedPoints([
          { attributes: { outcome: 'accepted', replay_unchecked: true, ...signed }, value: 1 },
          { attributes: { outcome: 'accepted', ...ORDERS }, value: 1 },
        ]),
      );
      await provider.shutdown();
    });

    it('sets the attributes on the server span after an asynchronous check (a key set refresh)', async () => {
      registerTracing();
      const { provider, reader } = meterProviderWithReader();
      metrics.setGlobalMeterProvider(provider);
      const first = servedKey('ES256', 'es-1');
      const next = servedKey('ES256', 'es-2');
      const jwks = await JwksServer.start(jwksOf(first));
      let nowMs = Date.now();
      // The app reads the clock through this spy: the test moves it past the refresh cooldown.
      jest.spyOn(Date, 'now').mockImplementation(() => nowMs);
      spans.reset();
      try {
        const options = { jwksUrl: jwks.url, jwks: { timeoutMs: 5000, cooldownSeconds: 30 } };
        await TestApp.run(adapter, metadata({}, options), async (app) => {
          jwks.serve(jwksOf(first, next));
          nowMs += 30_000;
          const token = mintApproovToken({ key: next.signing });
          expectAccepted(await app.get('/orders/1', header(token)), 'order');
          expect(jwks.requests).toBe(2);
        });
      } finally {
        await jwks.close();
      }
      expect(approovAttributesOf(serverSpanOf('/orders/1'))).toEqual({
        'approov.outcome': 'accepted',
        'approov.mode': 'enforce',
      });
      expect(await countsOf(reader)).toEqual({ accepted: 1 });
      await provider.shutdown();
    });
  },
);
