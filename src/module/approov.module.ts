import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ApproovGuard } from '../guard/approov.guard.js';
import {
  APPROOV_TRANSPORT_EXCEPTIONS,
  ApproovRefusals,
  loadTransportExceptions,
  type TransportExceptions,
} from '../guard/refusals.js';
import { MessageSignatureVerifier } from '../signing/message-verifier.js';
import { ApproovTokenVerifier } from '../token/token-verifier.js';
import { ApproovKeys, createTokenVerifier } from './approov-keys.js';
import { APPROOV_MODULE_OPTIONS, ApproovConfigurableModule } from './module-definition.js';
import { APPROOV_CONFIG, type ApproovConfig, resolveApproovConfig } from './options.js';
import { ApproovRouteCheck } from './route-check.js';

/**
 * Provides `ApproovGuard` with the account secret. Import it once, in the root module, with
 * `ApproovModule.forRoot({ secret })` or `ApproovModule.forRootAsync({ ... })`; it is global
 * unless `isGlobal: false`. Bad options stop the app at startup.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: APPROOV_CONFIG, inject: [APPROOV_MODULE_OPTIONS], useFactory: resolveApproovConfig },
    { provide: APPROOV_TRANSPORT_EXCEPTIONS, useFactory: loadTransportExceptions },
    {
      provide: ApproovRefusals,
      inject: [APPROOV_CONFIG, APPROOV_TRANSPORT_EXCEPTIONS],
      useFactory: (config: ApproovConfig, exceptions: TransportExceptions) =>
        new ApproovRefusals(config, exceptions),
    },
    {
      provide: ApproovTokenVerifier,
      inject: [APPROOV_CONFIG],
      useFactory: createTokenVerifier,
    },
    ApproovKeys,
    {
      provide: MessageSignatureVerifier,
      inject: [APPROOV_CONFIG],
      useFactory: (config: ApproovConfig) =>
        new MessageSignatureVerifier(config.messageSigning.accountKey, config.cacheSize),
    },
    ApproovGuard,
    ApproovRouteCheck,
  ],
  exports: [
    APPROOV_CONFIG,
    ApproovTokenVerifier,
    ApproovKeys,
    MessageSignatureVerifier,
    ApproovRefusals,
    ApproovGuard,
  ],
})
export class ApproovModule extends ApproovConfigurableModule {}
