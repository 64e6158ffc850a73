import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ApproovModuleOptions } from './options.js';

export const {
  ConfigurableModuleClass: ApproovConfigurableModule,
  MODULE_OPTIONS_TOKEN: APPROOV_MODULE_OPTIONS,
  OPTIONS_TYPE: APPROOV_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: APPROOV_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ApproovModuleOptions>({ moduleName: 'Approov' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createApproovOptions')
  // Global by default: one secret per app, and the guard usable in every feature module.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/** What `ApproovModule.forRoot()` takes: the options, and `isGlobal` (default `true`). */
export type ApproovModuleRootOptions = typeof APPROOV_OPTIONS_TYPE;
/**
 * What `ApproovModule.forRootAsync()` takes: `imports`, `inject` and one of `useFactory`,
 * `useClass` or `useExisting` (a class with `createApproovOptions()`), and `isGlobal`.
 */
export type ApproovModuleAsyncOptions = typeof APPROOV_ASYNC_OPTIONS_TYPE;
