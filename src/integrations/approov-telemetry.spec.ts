import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger, type LoggerService } from '@nestjs/common';
import { type MeterProvider, metrics } from '@opentelemetry/api';
import {
  MeterProvider as SdkMeterProvider,
  MetricReader,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { ApproovResultEvent } from '../guard/events.js';
import { withApproovTelemetry } from './approov-telemetry.js';

class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** An SDK meter provider that counts the meters asked of it, and what it has counted. */
function countingProvider() {
  const reader = new CollectingReader();
  const sdk = new SdkMeterProvider({ readers: [reader] });
  let meters = 0;
  const provider: MeterProvider = {
    getMeter: (...args) => {
      meters += 1;
      return sdk.getMeter(...args);
    },
  };
  return {
    provider,
    meters: () => meters,
    /** The decisions counted, all attributes together. */
    decisions: async () => {
      const { resourceMetrics } = await reader.collect();
      const counter = resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .find((metric) => metric.descriptor.name === 'approov.decisions') as
        SumMetricData | undefined;
      return (counter?.dataPoints ?? []).reduce((sum, point) => sum + point.value, 0);
    },
  };
}

const event: ApproovResultEvent = {
  outcome: 'accepted',
  mode: 'enforce',
  transport: 'http',
  method: 'GET',
  route: '/orders/:id',
  durationMs: 0.02,
};

const lines: string[] = [];
const capturing: LoggerService = {
  log: () => {},
  warn: (message: unknown) => void lines.push(String(message)),
  error: (message: unknown) => void lines.push(String(message)),
};

describe('withApproovTelemetry', () => {
  beforeAll(() => {
    Logger.overrideLogger(capturing);
  });
  afterEach(() => {
    metrics.disable();
    lines.length = 0;
  });

  it('makes its instruments once per global provider, and again when another is registered', async () => {
    const first = countingProvider();
    const second = countingProvider();
    const onResult = withApproovTelemetry();
    metrics.setGlobalMeterProvider(first.provider);
    onResult(event);
    onResult(event);
    metrics.disable();
    metrics.setGlobalMeterProvider(second.provider);
    onResult(event);
    metrics.disable();
    metrics.setGlobalMeterProvider(first.provider);
    onResult(event);
    expect([await first.decisions(), await second.decisions()]).toEqual([3, 1]);
    expect([first.meters(), second.meters()]).toEqual([2, 1]);
  });

  it("never keeps the app's onResult from running: a failure to record is logged once", () => {
    const received: ApproovResultEvent[] = [];
    const broken: MeterProvider = {
      getMeter: () => {
        throw new Error('meter down');
      },
    };
    const onResult = withApproovTelemetry((e) => received.push(e), { meterProvider: broken });
    onResult(event);
    onResult(event);
    expect(received).toEqual([event, event]);
    expect(lines).toEqual([
      'Recording an Approov decision with OpenTelemetry failed; later failures are not logged: Error: meter down',
    ]);
  });

  it("lets an error of the app's onResult through, after recording", async () => {
    const { provider, decisions } = countingProvider();
    const onResult = withApproovTelemetry(
      () => {
        throw new Error('app down');
      },
      { meterProvider: provider },
    );
    expect(() => onResult(event)).toThrow('app down');
    expect(await decisions()).toBe(1);
    expect(lines).toEqual([]);
  });
});
