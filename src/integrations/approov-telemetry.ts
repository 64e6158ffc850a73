import { Logger } from '@nestjs/common';
import {
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  metrics,
  trace,
} from '@opentelemetry/api';
import type { ApproovResultEvent } from '../guard/events.js';

/** Options of `withApproovTelemetry()`. */
export interface ApproovTelemetryOptions {
  /**
   * Where the metrics go. Default: the global provider (`metrics.getMeterProvider()`), looked up
   * on each decision, so that a provider registered after the app starts is used from then on.
   */
  meterProvider?: MeterProvider;
  /**
   * Whether to set the decision's attributes (`approov.outcome`, `approov.reason`,
   * `approov.mode`, `approov.replay_unchecked`) on the active span, the HTTP server span of the
   * app's instrumentation. Default `true`.
   */
  traces?: boolean;
  /**
   * Whether to add the token's device id (`approov.device_id`) to the active span, when the
   * token's signature was valid. Default `false`: the id identifies a device, so it is personal
   * data in many places. It never goes into metrics (one series per device).
   */
  recordDeviceId?: boolean;
}

/** The name of the meter, the instrumentation scope of the metrics. */
const METER_NAME = 'nestjs-approov';

/**
 * The histogram's buckets, in seconds: a token seen before is checked in a few microseconds, a new
 * one or a message signature in tens to hundreds of them, a Redis replay check in milliseconds,
 * and a key set refresh can wait up to its timeout (2 s by default).
 */
const DURATION_BOUNDARIES = [
  0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
  0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** The instruments, created once per meter provider. */
interface Instruments {
  readonly provider: MeterProvider;
  readonly decisions: Counter;
  readonly duration: Histogram;
}

function instrumentsOf(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(METER_NAME);
  return {
    provider,
    decisions: meter.createCounter('approov.decisions', {
      unit: '{decision}',
      description: 'Decisions of the Approov guard, by outcome and reason',
    }),
    duration: meter.createHistogram('approov.check.duration', {
      unit: 's',
      description: "How long the Approov guard's check took, from its call to its decision",
      advice: { explicitBucketBoundaries: DURATION_BOUNDARIES },
    }),
  };
}

/**
 * Records every decision of the guard as OpenTelemetry metrics and span attributes, then hands
 * the event to the app's own `onResult`, if any:
 *
 * ```ts
 * ApproovModule.forRoot({ secret, onResult: withApproovTelemetry(myOnResult) });
 * ```
 *
 * Metrics: the counter `approov.decisions` (attributes `outcome`, `reason` when it failed,
 * `mode`, `transport`, `route`, and `replay_unchecked: true` when a failing replay store let the
 * request through unchecked) and the histogram `approov.check.duration` in seconds (`outcome`,
 * `mode`, `transport`, `route`). Spans: `approov.outcome`, `approov.reason`, `approov.mode` and
 * `approov.replay_unchecked` on the active span; a refusal leaves the span's status alone, since
 * a refused request is no server error. Without an OpenTelemetry SDK registered, the API's no-op
 * providers record nothing.
 *
 * A failure to record is logged once and never keeps `onResult` from running; an error thrown
 * by `onResult` reaches the guard, which logs it.
 */
export function withApproovTelemetry(
  onResult?: (event: ApproovResultEvent) => void,
  { meterProvider, traces = true, recordDeviceId = false }: ApproovTelemetryOptions = {},
): (event: ApproovResultEvent) => void {
  let instruments: Instruments | undefined;
  let failureLogged = false;

  const record = (event: ApproovResultEvent): void => {
    // The metrics API has no proxy provider: instruments made from the global provider before
    // the SDK registers would be no-ops for good, so it is looked up again on each decision.
    const provider = meterProvider ?? metrics.getMeterProvider();
    if (instruments?.provider !== provider) instruments = instrumentsOf(provider);
    const { outcome, reason, mode, transport, route, replayUnchecked } = event;
    const attributes: Attributes = { outcome, mode, transport, route };
    instruments.duration.record(event.durationMs / 1000, attributes);
    // New objects, not `attributes` changed: the SDK may keep the one it was given.
    let counted = attributes;
    if (reason !== undefined) counted = { ...counted, reason };
    if (replayUnchecked) counted = { ...counted, replay_unchecked: true };
    instruments.decisions.add(1, counted);

    if (!traces) return;
    const span = trace.getActiveSpan();
    if (span === undefined || !span.isRecording()) return;
    span.setAttribute('approov.outcome', outcome);
    span.setAttribute('approov.mode', mode);
    if (reason !== undefined) span.setAttribute('approov.reason', reason);
    if (replayUnchecked) span.setAttribute('approov.replay_unchecked', true);
    if (recordDeviceId && event.did !== undefined)
      span.setAttribute('approov.device_id', event.did);
  };

  return (event) => {
    try {
      record(event);
    } catch (error) {
      if (!failureLogged) {
        failureLogged = true;
        new Logger('ApproovTelemetry').error(
          `Recording an Approov decision with OpenTelemetry failed; later failures are not logged: ${String(error)}`,
        );
      }
    }
    onResult?.(event);
  };
}
