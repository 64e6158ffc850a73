// The e2e suite of the consumer apps that `npm run test:consumers` creates: the same file runs in
// a Nest 11 CommonJS app and a Nest 12 ES-module app, with nestjs-approov installed from its
// tarball, on Express and Fastify.
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, HttpCode, type INestApplication, Module, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  ApproovTokenBinding,
  SkipApproov,
} from 'nestjs-approov';
import {
  generateApproovSecret,
  mintApproovToken,
  signApproovRequest,
} from 'nestjs-approov/testing';
import request from 'supertest';

const secret = generateApproovSecret();
const calls: string[] = [];

@Controller()
class AppController {
  @Get('public')
  @SkipApproov()
  publicRoute() {
    calls.push('public');
    return { ok: true };
  }

  @Get('protected')
  protectedRoute() {
    calls.push('protected');
    return { ok: true };
  }

  @Get('bound')
  @ApproovTokenBinding('Authorization')
  bound() {
    calls.push('bound');
    return { ok: true };
  }

  @Post('signed')
  @HttpCode(200)
  @ApproovMessageSigning({ labels: ['install'] })
  signed() {
    calls.push('signed');
    return { ok: true };
  }
}

@Module({
  imports: [ApproovModule.forRootAsync({ useFactory: () => Promise.resolve({ secret }) })],
  controllers: [AppController],
  providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
})
class AppModule {}

async function start(adapter: string, guardOn = true): Promise<INestApplication> {
  const builder = Test.createTestingModule({ imports: [AppModule] });
  if (!guardOn) builder.overrideProvider(ApproovGuard).useValue({ canActivate: () => true });
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication(
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: false, rawBody: true },
  );
  await app.listen(0, '127.0.0.1');
  return app;
}

// The optional peers are not installed here: the library above loaded, and works, without them.
it('needs none of its optional peer dependencies', () => {
  for (const peer of ['@opentelemetry/api', '@nestjs/throttler', '@nestjs/terminus', 'ioredis']) {
    expect([peer, existsSync(join(process.cwd(), 'node_modules', peer))]).toEqual([peer, false]);
  }
});

describe.each(['express', 'fastify'])('nestjs-approov in this app (%s)', (adapter) => {
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    app = await start(adapter);
    url = await app.getUrl();
  });
  afterAll(() => app.close());
  beforeEach(() => {
    calls.length = 0;
  });

  it('refuses a request without a token with 401 and {}', async () => {
    const response = await request(url).get('/protected');
    expect([response.status, response.text]).toEqual([401, '{}']);
    expect(calls).toEqual([]);
  });

  it('accepts a minted token', async () => {
    const response = await request(url)
      .get('/protected')
      .set('Approov-Token', mintApproovToken({ secret }));
    expect(response.status).toBe(200);
    expect(calls).toEqual(['protected']);
  });

  it('lets a skipped route through', async () => {
    expect((await request(url).get('/public')).status).toBe(200);
  });

  it('checks token binding', async () => {
    const token = mintApproovToken({ secret, bind: ['Bearer user'] });
    const bound = await request(url)
      .get('/bound')
      .set('Approov-Token', token)
      .set('Authorization', 'Bearer user');
    expect(bound.status).toBe(200);
    const other = await request(url)
      .get('/bound')
      .set('Approov-Token', token)
      .set('Authorization', 'Bearer x');
    expect(other.status).toBe(401);
  });

  it('checks message signatures (structured-headers loads in this module system)', async () => {
    const body = '{"order":1}';
    const { headers } = signApproovRequest({
      secret,
      method: 'POST',
      url: `${url}/signed`,
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const signed = await request(url).post('/signed').set(headers).send(body);
    expect(signed.status).toBe(200);
    expect(calls).toEqual(['signed']);
    const unsigned = await request(url)
      .post('/signed')
      .set('Approov-Token', mintApproovToken({ secret }))
      .send({ order: 1 });
    expect(unsigned.status).toBe(401);
  });

  it('can be turned off in tests by overriding the guard provider', async () => {
    const off = await start(adapter, false);
    try {
      expect((await request(await off.getUrl()).get('/protected')).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});
