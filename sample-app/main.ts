// First: with OTEL=console, telemetry must patch `http` before the app loads it.
import './telemetry.js';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { APPROOV_MODULE_OPTIONS, type ApproovModuleOptions } from 'nestjs-approov';
import { AppModule } from './app.module.js';
import { exampleRequests } from './example-requests.js';

const port = Number(process.env.PORT ?? 8002);
const host = process.env.HOST ?? '127.0.0.1';
const adapter =
  process.env.HTTP_ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();

// Message signing checks the body's bytes (POST /message-signing): keep them, on both adapters.
const app = await NestFactory.create(AppModule, adapter, { rawBody: true });
app.useWebSocketAdapter(new WsAdapter(app));
await app.listen(port, host);
console.log(`Approov sample app (${adapter.constructor.name}) listening on http://${host}:${port}`);
// Example tokens are for trying the app out; a production log never shows a token.
if (process.env.NODE_ENV !== 'production') {
  const { secret } = app.get<ApproovModuleOptions>(APPROOV_MODULE_OPTIONS);
  console.log(exampleRequests(`http://localhost:${port}`, secret!));
}
