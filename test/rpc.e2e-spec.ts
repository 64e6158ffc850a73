import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ClientProxyFactory,
  type ClientProxy,
  MessagePattern,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { ApproovGuard, ApproovModule, SkipApproov } from 'nestjs-approov';
import { firstValueFrom } from 'rxjs';
import { handlerCalls, logs } from './support/test-app.js';
import { SECRET } from './support/tokens.js';

@Controller()
class RpcController {
  @MessagePattern('sum')
  sum(numbers: number[]): number {
    handlerCalls.push('sum');
    return numbers.reduce((total, n) => total + n, 0);
  }

  @MessagePattern('health')
  @SkipApproov()
  health(): string {
    handlerCalls.push('health');
    return 'ok';
  }
}

/** A free port on loopback, for the TCP transport, which cannot report the port it took. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('microservice messages (TCP)', () => {
  let microservice: INestMicroservice;
  let client: ClientProxy;
  beforeAll(async () => {
    const port = await freePort();
    const moduleRef = await Test.createTestingModule({
      imports: [ApproovModule.forRoot({ secret: SECRET })],
      controllers: [RpcController],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
    })
      .setLogger(logs)
      .compile();
    microservice = moduleRef.createNestMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    microservice.useLogger(logs);
    await microservice.listen();
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await microservice.close();
  });
  const send = (pattern: string, data: unknown) => {
    handlerCalls.length = 0;
    logs.clear();
    return firstValueFrom(client.send(pattern, data));
  };

  it('refuses a message to a handler that is not skipped: there is no token to read', async () => {
    await expect(send('sum', [1, 2])).rejects.toEqual({ status: 'error', message: 'Unauthorized' });
    expect(handlerCalls).toEqual([]);
    expect(logs.lines).toEqual([
      expect.stringContaining('rejected: unsupported_context (RPC sum)'),
    ]);
  });

  it('answers a message to a handler marked @SkipApproov()', async () => {
    await expect(send('health', {})).resolves.toBe('ok');
    expect(handlerCalls).toEqual(['health']);
  });
});
