import { Inject, Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { APPROOV_CONFIG, type ApproovConfig } from '../module/options.js';
import { describeStoreError } from '../replay/replay-store.js';

/**
 * A `@nestjs/terminus` health indicator of the replay store: `up` when it answers a ping (Redis:
 * a PING within the store's `timeoutMs`; in memory: not full), `down` with the reason otherwise.
 * Add it to the providers of the module that imports `TerminusModule`, and to a readiness check:
 * an instance whose store cannot answer refuses every replay-checked request.
 */
@Injectable()
export class ApproovHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(APPROOV_CONFIG) private readonly config: ApproovConfig,
  ) {}

  /** Pings the replay store; the result is reported under `key`. */
  async isHealthy<const Key extends string = 'approov'>(
    key: Key = 'approov' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.health.check(key);
    const store = this.config.replayStore;
    const replayStore = store.constructor.name;
    try {
      await store.ping?.();
      return indicator.up({ replayStore });
    } catch (error) {
      return indicator.down({ replayStore, message: describeStoreError(error) });
    }
  }
}
