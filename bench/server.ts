/**
 * The benchmarked app, run in a child process: `node server.js <fastify|express>`. It listens on
 * a free loopback port and sends it to the parent.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  ApproovTokenBinding,
} from 'nestjs-approov';
import {
  ACCOUNT_KEY,
  FloorGuard,
  FloorSignedGuard,
  NoopGuard,
  QuickstartGuard,
  SECRET,
} from './guards.js';

const ANSWER = { ok: true };

// The module's `messageSigning` (needed for the account key) would require the install signature
// on every route: it is turned off here, and each signed route turns it on with its own settings.
@Controller()
@ApproovMessageSigning(false)
class BenchController {
  @Get('open')
  open() {
    return ANSWER;
  }

  @Get('noop')
  @UseGuards(NoopGuard)
  noop() {
    return ANSWER;
  }

  @Get('floor')
  @UseGuards(FloorGuard)
  floor() {
    return ANSWER;
  }

  @Get('protected')
  @UseGuards(ApproovGuard)
  protectedRoute() {
    return ANSWER;
  }

  @Get('protected-bound')
  @UseGuards(ApproovGuard)
  @ApproovTokenBinding('Authorization')
  protectedBound() {
    return ANSWER;
  }

  @Get('rejected')
  @UseGuards(ApproovGuard)
  rejected() {
    return ANSWER;
  }

  @Get('quickstart')
  @UseGuards(QuickstartGuard)
  quickstart() {
    return ANSWER;
  }

  @Get('floor-signed')
  @UseGuards(new FloorSignedGuard('install'))
  floorSigned() {
    return ANSWER;
  }

  @Get('floor-signed-account')
  @UseGuards(new FloorSignedGuard('account'))
  floorSignedAccount() {
    return ANSWER;
  }

  @Get('protected-signed')
  @UseGuards(ApproovGuard)
  @ApproovMessageSigning({ labels: ['install'] })
  protectedSigned() {
    return ANSWER;
  }

  @Get('protected-signed-account')
  @UseGuards(ApproovGuard)
  @ApproovMessageSigning({ labels: ['account'] })
  protectedSignedAccount() {
    return ANSWER;
  }
}

@Module({
  // The log line per rejection is left out: it would measure the logger, not the guard.
  imports: [
    ApproovModule.forRoot({
      secret: SECRET,
      logLevel: false,
      messageSigning: { accountKey: ACCOUNT_KEY },
    }),
  ],
  controllers: [BenchController],
})
class BenchModule {}

const adapter = process.argv[2] === 'express' ? new ExpressAdapter() : new FastifyAdapter();
const app = await NestFactory.create(BenchModule, adapter, { logger: false });
await app.listen(0, '127.0.0.1');
const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
process.send?.({ port });
