import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApproovGuard, ApproovModule } from 'nestjs-approov';
import { withApproovTelemetry } from 'nestjs-approov/opentelemetry';
import { AppController } from './app.controller.js';
import { EchoGateway } from './echo.gateway.js';
import { HelloResolver, typeDefs } from './hello.resolver.js';
import { sampleAppSecret } from './sample-secret.js';

/** How many requests each device (or, without a verified token, each IP address) may send a minute. */
export const REQUESTS_PER_MINUTE = 60;

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
        // Decisions as OpenTelemetry metrics and span attributes (printed with OTEL=console).
        onResult: withApproovTelemetry(),
      }),
    }),
    GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, typeDefs }),
    // The limit of AppController's routes: per device for verified requests, per IP otherwise.
    ThrottlerModule.forRoot([{ ttl: 60_000, limit: REQUESTS_PER_MINUTE }]),
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
