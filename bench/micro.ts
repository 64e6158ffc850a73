/**
 * `npm run bench:micro`: token verification alone, in operations per second, side by side:
 * ApproovTokenVerifier (a cache hit, a miss, a forged token), the hand-written floor, and
 * @nestjs/jwt with a Buffer secret and with a KeyObject. Then message signatures: ApproovGuard
 * on a signed request (the token a cache hit), with the install and with the account
 * signature, against the signed floor (the token floor and one `crypto.verify`).
 */
import { createSecretKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JwtService } from '@nestjs/jwt';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  ApproovTokenVerifier,
} from 'nestjs-approov';
import { mintApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Bench } from 'tinybench';
import {
  ACCOUNT_KEY,
  type FloorRequest,
  floorVerify,
  floorVerifySigned,
  INSTALL_KEY,
  SECRET,
} from './guards.js';
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

/** The handlers the guard checks (never called): signing off, as in the HTTP bench, then on per handler. */
@ApproovMessageSigning(false)
class SignedRoutes {
  tokenOnly(this: void) {}

  @ApproovMessageSigning({ labels: ['install'] })
  install(this: void) {}

  @ApproovMessageSigning({ labels: ['account'] })
  account(this: void) {}
}
const handlers = SignedRoutes.prototype;

const guard = await NestFactory.createApplicationContext(
  ApproovModule.forRoot({
    secret: SECRET,
    logLevel: false,
    messageSigning: { accountKey: ACCOUNT_KEY },
  }),
  { logger: false },
).then((context) => context.get(ApproovGuard));

/** A request as Express gives it to a guard: what ApproovGuard and the signed floor read. */
interface BenchRequest extends FloorRequest {
  readonly protocol: string;
  readonly host: string;
  readonly rawHeaders: string[];
}

const HOST = 'api.example.com';
const PATH = '/orders?id=7';

/** A GET signed now (signatures expire: each task phase signs afresh). */
function signedRequest(label: 'install' | 'account'): BenchRequest {
  const { headers } = signApproovRequest({
    secret: SECRET,
    method: 'GET',
    url: `http://${HOST}${PATH}`,
    labels: [label],
    installKey: INSTALL_KEY,
    accountKey: ACCOUNT_KEY,
    token: { ttlSeconds: 3600 },
  });
  const sent = { Host: HOST, ...headers };
  return {
    method: 'GET',
    url: PATH,
    protocol: 'http',
    host: HOST,
    headers: Object.fromEntries(Object.entries(sent).map(([n, v]) => [n.toLowerCase(), v])),
    rawHeaders: Object.entries(sent).flat(),
  };
}
const requests = { install: signedRequest('install'), account: signedRequest('account') };
const resign = () => {
  requests.install = signedRequest('install');
  requests.account = signedRequest('account');
};

/** The guard's verdict on `request` for `handler`, as Nest asks for it on each request. */
const guarded = (request: BenchRequest, handler: () => void) =>
  guard.canActivate(new ExecutionContextHost([request, {}, () => {}], SignedRoutes, handler));

const signing = {
  'ApproovGuard, token only (cache hit)': () => guarded(requests.install, handlers.tokenOnly),
  'ApproovGuard, install signature': () => guarded(requests.install, handlers.install),
  'ApproovGuard, account signature': () => guarded(requests.account, handlers.account),
  'floor, token + install signature (one crypto.verify)': () =>
    floorVerifySigned('install', requests.install),
  'floor, token + account signature (one HMAC)': () =>
    floorVerifySigned('account', requests.account),
  'floor (hand-written HS256), same token': () =>
    floorVerify(requests.install.headers['approov-token'] as string),
};
const SIGNED_FLOOR = 'floor, token + install signature (one crypto.verify)';
// Every check must pass before it is timed (the guard throws its refusal).
for (const [name, check] of Object.entries(signing)) {
  if (check() !== true) throw new Error(`${name}: refused a valid request`);
}

const bench = new Bench({ time: 2000, warmup: true });
bench
  .add('ApproovTokenVerifier, valid, cache hit', () => cached.check(token, {}))
  .add('ApproovTokenVerifier, valid, no cache', () => uncached.check(token, {}))
  .add('ApproovTokenVerifier, forged', () => cached.check(forged, {}))
  .add('floor (hand-written HS256), valid', () => floorVerify(token))
  .add('@nestjs/jwt, KeyObject secret, valid', () => tryVerify(withKeyObject, token))
  .add('@nestjs/jwt, KeyObject secret, forged', () => tryVerify(withKeyObject, forged))
  .add('@nestjs/jwt, Buffer secret (quickstart), valid', () => tryVerify(withBuffer, token));
for (const [name, check] of Object.entries(signing)) {
  bench.add(name, check, { beforeAll: resign });
}
await bench.run();

/** The statistics of a task that completed; a benchmark that failed stops the run. */
function statisticsOf(task: (typeof bench.tasks)[number]) {
  const { result } = task;
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
  return result;
}
/** The rows of `names`, with their throughput divided by `reference`'s. */
function rowsOf(names: readonly string[], reference: string) {
  const referenceOps = statisticsOf(bench.getTask(reference)!).throughput.mean;
  return names.map((name) => {
    const { throughput, latency } = statisticsOf(bench.getTask(name)!);
    return {
      task: name,
      opsPerSecond: Math.round(throughput.mean),
      microsecondsPerOp: Number((latency.mean * 1000).toFixed(2)),
      ratioToFloor: Number((throughput.mean / referenceOps).toFixed(2)),
    };
  });
}
const signingNames = Object.keys(signing);
const rows = rowsOf(
  bench.tasks.map((task) => task.name).filter((name) => !signingNames.includes(name)),
  'floor (hand-written HS256), valid',
);
const signingRows = rowsOf(signingNames, SIGNED_FLOOR);

function print(title: string, ratio: string, table: typeof rows): void {
  console.log(`\n${title}\n`);
  console.log(`| verification | ops/s | µs/op | ops/s ÷ ${ratio} |`);
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of table) {
    console.log(
      `| ${row.task} | ${row.opsPerSecond} | ${row.microsecondsPerOp} | ${row.ratioToFloor} |`,
    );
  }
}
print('Tokens', 'floor', rows);
print('Message signatures (a request through the guard)', 'signed floor', signingRows);
const out = fileURLToPath(new URL('../bench/results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(
  `${out}micro.json`,
  `${JSON.stringify({ environment: environment(), rows, signingRows }, null, 2)}\n`,
);
console.log('\nWritten to bench/results/micro.json');
