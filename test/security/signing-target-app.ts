import { randomBytes } from 'node:crypto';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  HttpCode,
  Injectable,
  Patch,
  Post,
  Put,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApproovGuard, ApproovMessageSigning, ApproovModule } from 'nestjs-approov';
import { type AdapterName, ran, TestApp } from '../support/test-app.js';
import { SECRET } from '../support/tokens.js';

/** The account message-signing key of the app: 32 random bytes, base64url. */
export const ACCOUNT_KEY = randomBytes(32).toString('base64url');

/** A request as the app received it, read before `ApproovGuard` runs. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target as received: path and query. */
  readonly url: string;
  /** Header names and values, alternating, as Node's parser gave them. */
  readonly rawHeaders: readonly string[];
  /** The body's bytes as the app kept them; `undefined` when no body parser kept them. */
  readonly body: Buffer | undefined;
}

/** The last request that reached the app's guards; the suites clear it before each request. */
export const received: { last?: ReceivedRequest } = {};

/**
 * The first global guard: records what the server received, as `ApproovGuard` will read it, so
 * that the suites can check their model of the wire against it.
 */
@Injectable()
class ReceivedRecorder implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{
      raw?: ReceivedRequest & { rawHeaders: string[] };
      method: string;
      url: string;
      rawHeaders: string[];
      rawBody?: unknown;
    }>();
    // Fastify's request wraps Node's; Express's is Node's.
    const raw = request.raw ?? request;
    received.last = {
      method: raw.method,
      url: raw.url,
      rawHeaders: [...raw.rawHeaders],
      body: Buffer.isBuffer(request.rawBody) ? request.rawBody : undefined,
    };
    return true;
  }
}

/**
 * Signed routes for POST, PUT and PATCH (so that a changed method still finds a handler):
 * `/install/:item` requires the install signature (the module's setting), `/both/:item` the
 * install and the account signatures.
 */
@Controller()
class SignedController {
  @Post('install/:item')
  @HttpCode(200)
  installPost(): object {
    return ran('install');
  }

  @Put('install/:item')
  @HttpCode(200)
  installPut(): object {
    return ran('install');
  }

  @Patch('install/:item')
  @HttpCode(200)
  installPatch(): object {
    return ran('install');
  }

  @Post('both/:item')
  @HttpCode(200)
  @ApproovMessageSigning({ labels: ['install', 'account'] })
  bothPost(): object {
    return ran('both');
  }

  @Put('both/:item')
  @HttpCode(200)
  @ApproovMessageSigning({ labels: ['install', 'account'] })
  bothPut(): object {
    return ran('both');
  }

  @Patch('both/:item')
  @HttpCode(200)
  @ApproovMessageSigning({ labels: ['install', 'account'] })
  bothPatch(): object {
    return ran('both');
  }
}

/**
 * Starts the signing target app on `adapter`, with raw bodies kept. On Fastify, a catch-all
 * content-type parser keeps the body of any media type (Fastify answers 415 itself otherwise,
 * before any guard), so that every request the suites send reaches the guards; Express lets
 * requests of an unknown media type through without a body.
 */
export const startSigningTargetApp = (adapter: AdapterName) =>
  TestApp.start(
    adapter,
    {
      imports: [
        ApproovModule.forRoot({ secret: SECRET, messageSigning: { accountKey: ACCOUNT_KEY } }),
      ],
      controllers: [SignedController],
      providers: [
        { provide: APP_GUARD, useClass: ReceivedRecorder },
        { provide: APP_GUARD, useExisting: ApproovGuard },
      ],
    },
    {
      rawBody: true,
      configure: (app) => {
        if (adapter !== 'fastify') return;
        (app as NestFastifyApplication)
          .getHttpAdapter()
          .getInstance()
          .addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
            (request as { rawBody?: unknown }).rawBody = body;
            done(null, body);
          });
      },
    },
  );
