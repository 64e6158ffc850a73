/** `nestjs-approov/opentelemetry`: the guard's decisions as OpenTelemetry metrics and span attributes. */
export {
  type ApproovTelemetryOptions,
  withApproovTelemetry,
} from '../integrations/approov-telemetry.js';
