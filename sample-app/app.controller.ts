import { Controller, Get } from '@nestjs/common';
import { ApproovClaims, ApproovTokenBinding, SkipApproov } from 'nestjs-approov';

@Controller()
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
}
