/**
 * `npm run bench:micro`: token verification alone, in operations per second, side by side:
 * ApproovTokenVerifier (a cache hit, a miss, a forged token), the hand-written floor, and
 * @nestjs/jwt with a Buffer secret and with a KeyObject.
 */
import { createSecretKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JwtService } from '@nestjs/jwt';
import { ApproovModule, ApproovTokenVerifier } from 'nestjs-approov';
import { mintApproovToken } from 'nestjs-approov/testing';
import { NestFactory } from '@nestjs/core';
import { Bench } from 'tinybench';
import { floorVerify, SECRET } from './guards.js';
import { environment } from './harness.js';

const token = mintApproovToken({ secret: SECRET, ttlSeconds: 3600, claims: { did: 'device' } });
const forged = `${token.slice(0, -4)}AAAA`;
const secretBytes = Buffer.from(SECRET, 'base64');
const key = createSecretKey(secretBytes);

/** The verifier as the module builds it, with `cacheSize`. */
async function verifierWith(cacheSize: number): Promise<ApproovTokenVerifier> {
  const context = await NestFactory.createApplicationContext(
    ApproovModule.forRoot({ secret: SECRET, cacheSize }),
    { logger: false },
  );
  return context.get(ApproovTokenVerifier);
}
const cached = await verifierWith(10_000);
const uncached = await verifierWith(0);

const withBuffer = new JwtService({ secret: secretBytes });
const withKeyObject = new JwtService({ secret: key });
const tryVerify = (jwt: JwtService, jws: string) => {
  try {
    return jwt.verify<object>(jws, { algorithms: ['HS256'] });
  } catch {
    return undefined;
  }
};

const bench = new Bench({ time: 2000, warmup: true });
bench
  .add('ApproovTokenVerifier, valid, cache hit', () => cached.check(token, {}))
  .add('ApproovTokenVerifier, valid, no cache', () => uncached.check(token, {}))
  .add('ApproovTokenVerifier, forged', () => cached.check(forged, {}))
  .add('floor (hand-written HS256), valid', () => floorVerify(token))
  .add('@nestjs/jwt, KeyObject secret, valid', () => tryVerify(withKeyObject, token))
  .add('@nestjs/jwt, KeyObject secret, forged', () => tryVerify(withKeyObject, forged))
  .add('@nestjs/jwt, Buffer secret (quickstart), valid', () => tryVerify(withBuffer, token));
await bench.run();

/** The statistics of a task that completed; a benchmark that failed stops the run. */
function statisticsOf(task: (typeof bench.tasks)[number]) {
  const { result } = task;
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
  return result;
}
const floorOps = statisticsOf(bench.getTask('floor (hand-written HS256), valid')!).throughput.mean;
const rows = bench.tasks.map((task) => {
  const { throughput, latency } = statisticsOf(task);
  return {
    task: task.name,
    opsPerSecond: Math.round(throughput.mean),
    microsecondsPerOp: Number((latency.mean * 1000).toFixed(2)),
    ratioToFloor: Number((throughput.mean / floorOps).toFixed(2)),
  };
});
console.log('| verification | ops/s | µs/op | ops/s ÷ floor |');
console.log('| --- | ---: | ---: | ---: |');
for (const row of rows) {
  console.log(
    `| ${row.task} | ${row.opsPerSecond} | ${row.microsecondsPerOp} | ${row.ratioToFloor} |`,
  );
}
const out = fileURLToPath(new URL('../bench/results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(
  `${out}micro.json`,
  `${JSON.stringify({ environment: environment(), rows }, null, 2)}\n`,
);
console.log('\nWritten to bench/results/micro.json');
