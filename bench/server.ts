/**
 * The benchmarked app, run in a child process: `node server.js <fastify|express>`, with the
 * keyset's public keys in its environment (see `startServer()`), and a Redis URL when its replay
 * store is to be Redis. It listens on a free loopback port and sends it to the parent.
 */
import 'reflect-metadata';
import { createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  ApproovTokenBinding,
} from 'nestjs-approov';
import { ApproovRedisReplayStore } from 'nestjs-approov/redis';
import {
  ACCOUNT_KEY,
  BENCH_REDIS_URL_VARIABLE,
  CACHE_SIZE,
  FloorGuard,
  FloorKeysetGuard,
  FloorRefusalGuard,
  FloorSignedGuard,
  KEYSET_KIDS,
  KEYSET_PUBLIC_KEYS_VARIABLE,
  type KeysetAlgorithm,
  NoopGuard,
  PrebuiltRefusalGuard,
  QuickstartGuard,
  SECRET,
} from './guards.js';

const ANSWER = { ok: true };

/** The Redis of the replay-checked route, when the load generator gives one. */
const redisUrl = process.env[BENCH_REDIS_URL_VARIABLE];
// Commands of concurrent requests share a write, as docs/replay.md recommends.
const redis =
  redisUrl === undefined ? undefined : new Redis(redisUrl, { enableAutoPipelining: true });
if (redis !== undefined) await once(redis, 'ready');

/** The keyset's public keys (PEM), from the load generator, which signs with their private keys. */
const publicKeys = JSON.parse(process.env[KEYSET_PUBLIC_KEYS_VARIABLE] ?? 'null') as Record<
  KeysetAlgorithm,
  string
> | null;
if (publicKeys === null) {
  throw new Error(`${KEYSET_PUBLIC_KEYS_VARIABLE} is not set: start the app with startServer()`);
}
/** The floors' keys, parsed once, at startup. */
const floorRsaKey = createPublicKey(publicKeys.RS256);
const floorEcKey = createPublicKey(publicKeys.ES256);

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

  @Get('refused-prebuilt')
  @UseGuards(PrebuiltRefusalGuard)
  refusedPrebuilt() {
    return ANSWER;
  }

  @Get('rejected')
  @UseGuards(ApproovGuard)
  rejected() {
    return ANSWER;
  }

  @Get('refused-floor')
  @UseGuards(FloorRefusalGuard)
  refusedFloor() {
    return ANSWER;
  }

  // The floor and the guard of `/protected`, fed a token never seen before on every request.
  @Get('floor-new')
  @UseGuards(FloorGuard)
  floorNew() {
    return ANSWER;
  }

  @Get('protected-new')
  @UseGuards(ApproovGuard)
  protectedNew() {
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

  // The same route as `/protected-signed-account`, fed a new signature on every request, as an
  // SDK signs each call: the reference of the replay-checked route below.
  @Get('protected-signed-fresh')
  @UseGuards(ApproovGuard)
  @ApproovMessageSigning({ labels: ['account'] })
  protectedSignedFresh() {
    return ANSWER;
  }

  // In the replay store of this app: in memory, or Redis when BENCH_REDIS_URL is set.
  @Get('protected-signed-replay')
  @UseGuards(ApproovGuard)
  @ApproovMessageSigning({ labels: ['account'], replay: true })
  protectedSignedReplay() {
    return ANSWER;
  }

  @Get('floor-rs256')
  @UseGuards(new FloorKeysetGuard('RS256', floorRsaKey))
  floorRs256() {
    return ANSWER;
  }

  // Here and on `/protected-es256`, the guard of `/protected`: only the tokens differ (signed
  // with a keyset key, each new to the guard).
  @Get('protected-rs256')
  @UseGuards(ApproovGuard)
  protectedRs256() {
    return ANSWER;
  }

  @Get('floor-es256')
  @UseGuards(new FloorKeysetGuard('ES256', floorEcKey))
  floorEs256() {
    return ANSWER;
  }

  @Get('protected-es256')
  @UseGuards(ApproovGuard)
  protectedEs256() {
    return ANSWER;
  }
}

// The default options of the guard (a failure line at `warn`, at most `logRate` a second) and
// Nest's own logger, as an app runs in production: a flood of forged tokens measures the logging
// too. The load generator sends the app's stdout to a file.
@Module({
  imports: [
    ApproovModule.forRoot({
      // The account secret (the HS256 routes) and two keyset keys, as an app with both has them.
      keys: [
        { alg: 'HS256', key: SECRET },
        { kid: KEYSET_KIDS.RS256, alg: 'RS256', key: publicKeys.RS256 },
        { kid: KEYSET_KIDS.ES256, alg: 'ES256', key: publicKeys.ES256 },
      ],
      cacheSize: CACHE_SIZE,
      messageSigning: { accountKey: ACCOUNT_KEY },
      // A timeout of a second, not 50 ms: the load generator keeps ~1,000 requests queued on an
      // app at full CPU, beside Redis on the load generator's CPU; a claim then waits longer than
      // 50 ms now and then, which would measure refusals instead of the round trip.
      ...(redis !== undefined && {
        replayStore: new ApproovRedisReplayStore(redis, { timeoutMs: 1000 }),
      }),
    }),
  ],
  controllers: [BenchController],
})
class BenchModule {}

const adapter = process.argv[2] === 'express' ? new ExpressAdapter() : new FastifyAdapter();
const app = await NestFactory.create(BenchModule, adapter);
await app.listen(0, '127.0.0.1');
const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
process.send?.({ port });
