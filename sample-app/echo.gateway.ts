import type { IncomingMessage } from 'node:http';
import { UseGuards } from '@nestjs/common';
import {
  MessageBody,
  type OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { ApproovClaims, ApproovGuard, attachApproovHandshake } from 'nestjs-approov';

/**
 * A WebSocket gateway (the `ws` adapter) at `/ws`: each message needs the valid Approov token
 * the client sent in its handshake, in the `Approov-Token` header or, for browsers, the
 * `approov_token` query parameter.
 */
@WebSocketGateway({ path: '/ws' })
@UseGuards(ApproovGuard)
export class EchoGateway implements OnGatewayConnection {
  handleConnection(client: object, request: IncomingMessage): void {
    // ws clients do not keep their handshake: the guard reads its headers from here.
    attachApproovHandshake(client, request);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown, @ApproovClaims('did') deviceId: string | undefined) {
    return { event: 'echo', data: { data, did: deviceId ?? null } };
  }
}
