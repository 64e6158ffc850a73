/** `nestjs-approov/terminus`: the replay store's health, for `@nestjs/terminus` readiness checks. */
export { ApproovHealthIndicator } from '../integrations/approov-health.indicator.js';
