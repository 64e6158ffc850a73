export {
  APPROOV_CLAIMS_PROPERTY,
  ApproovClaims,
  type ApproovRequest,
  ApproovVerified,
} from './approov.claims.js';
export { ApproovMode, ApproovTokenBinding, SkipApproov } from './approov.decorators.js';
export { ApproovConfigError } from './approov.errors.js';
export type { ApproovResultEvent, ApproovTransport } from './approov.events.js';
export { attachApproovHandshake } from './approov.exchange.js';
export { ApproovGuard } from './approov.guard.js';
export {
  APPROOV_MODULE_OPTIONS,
  type ApproovModuleAsyncOptions,
  type ApproovModuleRootOptions,
} from './approov.module-definition.js';
export { ApproovModule } from './approov.module.js';
export {
  APPROOV_CONFIG,
  type ApproovConfig,
  type ApproovLogLevel,
  type ApproovModuleOptions,
} from './approov.options.js';
export type { ApproovFailureReason } from './approov.reasons.js';
export { ApproovTokenVerifier } from './approov.verifier.js';
