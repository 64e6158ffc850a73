import { Body, Controller, Get, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import {
  ApproovClaims,
  ApproovMessageSigning,
  ApproovTokenBinding,
  SkipApproov,
} from 'nestjs-approov';
import { ApproovThrottlerGuard } from 'nestjs-approov/throttler';

// Rate limits per device: this guard runs after the global ApproovGuard, so it sees the verified
// claims, and requests that Approov refuses never count. On this controller only, as
// @nestjs/throttler's guard needs an HTTP request (docs/rate-limits.md for GraphQL).
@Controller()
@UseGuards(ApproovThrottlerGuard)
export class AppController {
  /** Public: no Approov token needed. */
  @Get()
  @SkipApproov()
  hello(): { message: string } {
    return { message: 'Hello, World!' };
  }

  /** A valid Approov token is enough. */
  @Get('token-check')
  tokenCheck(@ApproovClaims('did') deviceId: string | undefined): {
    message: string;
    did?: string;
  } {
    return { message: 'Approov token accepted', did: deviceId };
  }

  /** The token must also be bound to the `Authorization` header. */
  @Get('token-binding')
  @ApproovTokenBinding('Authorization')
  tokenBinding(): { message: string } {
    return { message: 'Approov token bound to Authorization accepted' };
  }

  /** The token must be bound to `Authorization` then `X-Device-Id`. */
  @Get('token-double-binding')
  @ApproovTokenBinding('Authorization', 'X-Device-Id')
  tokenDoubleBinding(): { message: string } {
    return { message: 'Approov token bound to Authorization and X-Device-Id accepted' };
  }

  /**
   * The request must also carry the install signature an Approov SDK makes (RFC 9421): over the
   * method, the URL, the token and, through `Content-Digest`, the JSON body. The app is created
   * with `rawBody: true` so the guard can check the body's bytes.
   */
  @Post('message-signing')
  @HttpCode(HttpStatus.OK)
  // Each signed request is accepted once: sent again, it is refused as a replay.
  @ApproovMessageSigning({ labels: ['install'], replay: true })
  messageSigning(@Body() body: unknown): { message: string; received: unknown } {
    return { message: 'Approov message signature accepted', received: body };
  }
}
