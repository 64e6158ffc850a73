/** `nestjs-approov/throttler`: per-device rate limits with `@nestjs/throttler`, by the verified `did`. */
export { ApproovThrottlerGuard } from '../integrations/approov-throttler.guard.js';
