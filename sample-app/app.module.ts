import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { ApproovGuard, ApproovModule } from 'nestjs-approov';
import { AppController } from './app.controller.js';
import { EchoGateway } from './echo.gateway.js';
import { HelloResolver, typeDefs } from './hello.resolver.js';
import { sampleAppSecret } from './sample-secret.js';

@Module({
  imports: [
    // The same path from the TypeScript sources and from their build in dist-sample/.
    ConfigModule.forRoot({
      envFilePath: fileURLToPath(new URL('../sample-app/.env', import.meta.url)),
    }),
    ApproovModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        secret: sampleAppSecret(config.get('APPROOV_BASE64_SECRET'), config.get('NODE_ENV')),
        // Browsers cannot set WebSocket headers: let them put the token in the handshake URL.
        allowQueryToken: 'approov_token',
      }),
    }),
    GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, typeDefs }),
  ],
  controllers: [AppController],
  providers: [
    // First guard of the app: Approov runs before rate limiting and authentication.
    { provide: APP_GUARD, useExisting: ApproovGuard },
    HelloResolver,
    EchoGateway,
  ],
})
export class AppModule {}
