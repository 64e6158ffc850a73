export { ApproovGuard } from './guard/approov.guard.js';
export {
  ApproovMessageSigning,
  ApproovMode,
  ApproovTokenBinding,
  SkipApproov,
} from './guard/decorators.js';
export type { ApproovResultEvent, ApproovTransport } from './guard/events.js';
export { ApproovClaims, ApproovVerified } from './guard/param-decorators.js';
export type { ApproovFailureReason } from './guard/reasons.js';
export {
  APPROOV_CLAIMS_PROPERTY,
  type ApproovRequest,
  attachApproovHandshake,
} from './guard/request.js';
export { type ApproovKeyInfo, ApproovKeys } from './module/approov-keys.js';
export { ApproovModule } from './module/approov.module.js';
export { ApproovConfigError } from './module/config-error.js';
export type { ApproovJwksOptions, ApproovKeyOptions } from './module/key-options.js';
export type {
  ApproovMessageSigningOptions,
  ApproovMessageSigningRouteOptions,
} from './module/message-signing-options.js';
export {
  APPROOV_MODULE_OPTIONS,
  type ApproovModuleAsyncOptions,
  type ApproovModuleRootOptions,
} from './module/module-definition.js';
export {
  APPROOV_CONFIG,
  type ApproovConfig,
  type ApproovLogLevel,
  type ApproovModuleOptions,
} from './module/options.js';
export {
  ApproovMemoryReplayStore,
  type ApproovMemoryReplayStoreOptions,
  ApproovReplayStoreFullError,
} from './replay/memory-replay-store.js';
export type { ApproovReplayStore } from './replay/replay-store.js';
export type { ApproovSignatureLabel } from './signing/message-verifier.js';
export type { JwsAlgorithm } from './token/algorithms.js';
export { ApproovTokenVerifier } from './token/token-verifier.js';
