import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { readRoutePolicy } from '../guard/route-policy.js';
import { APPROOV_CONFIG, type ApproovConfig } from './options.js';

/**
 * Reads the Approov policy of every controller, resolver and gateway method at startup, so that
 * a decorator the configuration cannot serve (the account signature without an account key)
 * stops the app instead of refusing that route's requests.
 */
@Injectable()
export class ApproovRouteCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(APPROOV_CONFIG) private readonly config: ApproovConfig,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    for (const { metatype } of wrappers) {
      if (typeof metatype !== 'function' || metatype.prototype === undefined) continue;
      const prototype = metatype.prototype as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as (...args: unknown[]) => unknown;
        readRoutePolicy(this.reflector, this.config, handler, metatype as never);
      }
    }
  }
}
