import { Controller, Get, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApproovGuard, ApproovModule, ApproovTokenBinding } from 'nestjs-approov';
import { type AdapterName, ran, TestApp } from '../support/test-app.js';
import { SECRET } from '../support/tokens.js';

/** The app the security suites attack: a token-checked route and a bound one. */
@Controller()
class TargetController {
  @Get('target')
  target(): object {
    return ran('target');
  }

  @Get('bound')
  @ApproovTokenBinding('Authorization')
  bound(): object {
    return ran('bound');
  }

  @Post('bound')
  @ApproovTokenBinding('Authorization')
  boundPost(): object {
    return ran('boundPost');
  }
}

/** Starts the target app on `adapter`, with the guard as APP_GUARD. */
export const startTargetApp = (adapter: AdapterName) =>
  TestApp.start(adapter, {
    imports: [ApproovModule.forRoot({ secret: SECRET })],
    controllers: [TargetController],
    providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
  });
