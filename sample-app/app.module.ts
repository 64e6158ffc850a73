import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ApproovGuard, ApproovModule } from 'nestjs-approov';
import { AppController } from './app.controller.js';
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
      }),
    }),
  ],
  controllers: [AppController],
  // First guard of the app: Approov runs before rate limiting and authentication.
  providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
})
export class AppModule {}
