// With OTEL=console, the OpenTelemetry SDK prints the app's traces and metrics to the console:
// the HTTP server spans with the Approov attributes, and every 10 s the `approov.decisions` and
// `approov.check.duration` metrics. main.ts imports this file first, so that the HTTP
// instrumentation patches `http` before the app loads it. A production app exports over OTLP
// instead (docs/opentelemetry.md).
import { metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

if (process.env.OTEL === 'console') {
  new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
  }).register();
  metrics.setGlobalMeterProvider(
    new MeterProvider({
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new ConsoleMetricExporter(),
          exportIntervalMillis: 10_000,
        }),
      ],
    }),
  );
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
}
