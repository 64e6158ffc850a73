/** `nestjs-approov/redis`: the replay store shared through the app's own ioredis client. */
export {
  type ApproovRedisClient,
  ApproovRedisReplayStore,
  type ApproovRedisReplayStoreOptions,
  ApproovRedisUnavailableError,
} from '../replay/redis-replay-store.js';
