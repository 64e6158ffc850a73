// The key set suite of the consumer apps that `npm run test:consumers` creates: an app whose keys
// come from a JWKS URL, which loads `jose` (an ES module) on demand. The Nest 11 CommonJS app runs
// it with --experimental-vm-modules, as docs/keys.md tells CommonJS jest users on Node < 24.9.
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ApproovGuard, ApproovKeys, ApproovModule } from 'nestjs-approov';
import { generateApproovKeyPair, mintApproovToken } from 'nestjs-approov/testing';
import request from 'supertest';

const signing = generateApproovKeyPair('ES256');
const stranger = generateApproovKeyPair('ES256');
const jwks = JSON.stringify({
  keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: 'app-2026', alg: 'ES256' }],
});
let server: Server;
let jwksUrl: string;
let calls = 0;

@Controller()
class AppController {
  @Get('protected')
  protectedRoute() {
    calls++;
    return { ok: true };
  }
}

async function start(adapter: string): Promise<INestApplication> {
  @Module({
    imports: [ApproovModule.forRoot({ jwksUrl })],
    controllers: [AppController],
    providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication(
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  return app;
}

beforeAll(async () => {
  server = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe.each(['express', 'fastify'])('keys from a JWKS URL in this app (%s)', (adapter) => {
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    app = await start(adapter);
    url = await app.getUrl();
  });
  afterAll(() => app.close());
  beforeEach(() => {
    calls = 0;
  });

  it('fetched the key set at startup', () => {
    expect(app.get(ApproovKeys).list()).toEqual([
      { kid: 'app-2026', alg: 'ES256', source: 'jwks' },
    ]);
  });

  it('accepts a token signed with a key of the set', async () => {
    const token = mintApproovToken({
      key: { alg: 'ES256', key: signing.privateKey, kid: 'app-2026' },
    });
    const response = await request(url).get('/protected').set('Approov-Token', token);
    expect(response.status).toBe(200);
    expect(calls).toBe(1);
  });

  it('refuses a token signed with another key under the same kid', async () => {
    const token = mintApproovToken({
      key: { alg: 'ES256', key: stranger.privateKey, kid: 'app-2026' },
    });
    const response = await request(url).get('/protected').set('Approov-Token', token);
    expect([response.status, response.text]).toEqual([401, '{}']);
    expect(calls).toBe(0);
  });
});
