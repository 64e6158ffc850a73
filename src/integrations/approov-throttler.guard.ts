import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ApproovRequest } from '../guard/request.js';

/** Prefixes a device's key, so that no `did` can ever name the same limit as an IP address. */
const DEVICE_TRACKER_PREFIX = 'approov-did:';

/**
 * `@nestjs/throttler`'s `ThrottlerGuard`, counting each device apart: a request that passed every
 * Approov check is tracked by its token's `did` (device id), so that the devices behind one IP
 * address (a carrier's NAT, an office) each get the whole limit, and a device that changes
 * networks keeps one count. Any other request is tracked by its IP address, as `ThrottlerGuard`
 * does: on a route with `@SkipApproov()`, with a verified token without a `did`, or failed and let
 * through by monitor mode (its claims, even when exposed, are not trusted). The rest is
 * `@nestjs/throttler`'s own: limits, named throttlers, `@Throttle()`, `@SkipThrottle()`, storage,
 * headers and the 429.
 *
 * Register it after `ApproovGuard`, as the second `APP_GUARD` (global guards run in the order of
 * their providers) or after it in one `@UseGuards(ApproovGuard, ApproovThrottlerGuard)`: the
 * claims must be on the request before it reads them, and a request that Approov refuses then
 * never reaches the throttler's storage. A `getTracker` in the `ThrottlerModule` options or in
 * `@Throttle()` replaces this one. For HTTP routes, as `ThrottlerGuard`; GraphQL resolvers need a
 * subclass that overrides `getRequestResponse` (docs/rate-limits.md).
 */
@Injectable()
export class ApproovThrottlerGuard extends ThrottlerGuard {
  /** `approov-did:<did>` for a verified request with a `did`; otherwise the client's IP address. */
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    // `req` is what ThrottlerGuard reads with `switchToHttp()`: on a GraphQL resolver, nothing,
    // which ThrottlerGuard fails on as it does without Approov (docs/rate-limits.md).
    const { approovVerified, approovClaims } = (req ?? {}) as ApproovRequest;
    // The claims' types are not checked when the token is verified: only a non-empty text names
    // a device.
    const did = approovClaims?.did;
    if (approovVerified === true && typeof did === 'string' && did !== '') {
      return DEVICE_TRACKER_PREFIX + did;
    }
    return super.getTracker(req);
  }
}
