/**
 * `npm run bench`: requests per second of each route, side by side, on Fastify then Express.
 * The app runs in a child process pinned to CPU 0; autocannon drives it from this process, on
 * CPU 1. Rounds alternate the routes, and each route is compared with `/open` of the same round.
 *
 * Each figure is the median of the rounds, so that a round disturbed by the machine does not
 * decide it. BENCH_SECONDS (default 10), BENCH_ROUNDS (default 5) and BENCH_WARMUP_SECONDS
 * (default 5, per route: Express needs that long to reach its pace) change a run.
 * BENCH_ROUTES (a comma-separated list, such as `/floor-rs256,/protected-rs256`) measures only
 * those routes and `/open`, the reference of every ratio: such a run prints the targets it can
 * judge and writes no results, so that bench/results/http.json stays a full run's.
 *
 * The app runs with the guard's default options and Nest's logger on, its stdout written to a
 * file as in production: each route's row says how many lines a second it wrote there.
 *
 * BENCH_ADAPTERS (`fastify` or `express`) measures on one adapter only.
 * BENCH_SAVE_AS=name writes the results of a run, full or not, to bench/results/name.json.
 *
 * Before each load the app is let settle (`BenchServer.settle()`): the pipelined requests a load
 * leaves queued would otherwise slow the next route, most of all after `/quickstart`.
 *
 * Message signatures expire (`created` + 15 s, and 15 s of tolerance): the signed routes get a
 * request signed afresh right before each load, for the URL the load generator requests, so a
 * load may last at most MAX_SIGNED_LOAD_SECONDS.
 *
 * The replay-checked route (`/protected-signed-replay`, account label, the in-memory store) and
 * its reference, the same route without the replay check (`/protected-signed-fresh`), get a new
 * signature on every request, as an SDK signs each call: a pool of requests signed right before
 * each load, FRESH_PER_SECOND per second of load, each with its own `Approov-TraceID`. When Redis
 * is at hand (REDIS_URL, or a `redis-server` this run starts), both are measured again on an app
 * whose replay store is that Redis, and printed in a table of their own.
 *
 * The routes of first sightings send a token the guard has never seen on every request: the
 * keyset routes (`/protected-rs256`, `/protected-es256` and their floors), `/protected-new` and
 * its floor (HS256, the account secret), and, under attack, `/rejected` and its references
 * `/refused-prebuilt` and `/refused-floor` (HS256 tokens signed with another secret: forged).
 * Each route draws, with a cursor of its own kept from one load to the next, from a pool of
 * tokens signed beforehand, 16 times the app's token cache (CACHE_SIZE). The guard remembers
 * about as many tokens as its cache holds (the cache, and the fingerprints of tokens verified
 * once that admit a token to it on its second request), so a token is long forgotten when the
 * route comes round to it again, 160,000 requests later: every request is a first sighting, as
 * the cache size of the app stays the default (one cache serves all routes, and `/protected`
 * measures its hits).
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { mintApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import {
  ACCOUNT_KEY,
  CACHE_SIZE,
  INSTALL_KEY,
  KEYSET_KIDS,
  type KeysetAlgorithm,
  SECRET,
} from './guards.js';
import {
  type BenchServer,
  environment,
  keysetKeyPairs,
  median,
  mintDistinctTokens,
  pinLoadToCpu1,
  startRedis,
  startServer,
} from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);

const AUTHORIZATION = 'Bearer user-session-token';
const valid = mintApproovToken({ secret: SECRET, ttlSeconds: 3600 });
const bound = mintApproovToken({ secret: SECRET, ttlSeconds: 3600, bind: [AUTHORIZATION] });

/** A signature is valid until 30 s after `created`: a load must end before that. */
const MAX_SIGNED_LOAD_SECONDS = 25;
if (Math.max(SECONDS, WARMUP_SECONDS) > MAX_SIGNED_LOAD_SECONDS) {
  throw new Error(
    `BENCH_SECONDS and BENCH_WARMUP_SECONDS must be at most ${MAX_SIGNED_LOAD_SECONDS}: ` +
      'the signed routes would outlive their signatures',
  );
}

/** How a load sends its requests: the same headers on each, or requests made one by one. */
type LoadRequests = Pick<autocannon.Options, 'headers' | 'requests'>;

/** The headers of a GET of `url`, signed now, as an Approov SDK signs it. */
const signed =
  (label: 'install' | 'account') =>
  (url: string): LoadRequests => ({
    headers: signApproovRequest({
      secret: SECRET,
      method: 'GET',
      url,
      labels: [label],
      installKey: INSTALL_KEY,
      accountKey: ACCOUNT_KEY,
      token: { ttlSeconds: 3600 },
    }).headers,
  });
const always = (headers: Record<string, string>) => (): LoadRequests => ({ headers });

/**
 * Signed requests made per second of a load of the fresh-signature routes: more than the app
 * answers, so that none is sent twice (a replay-checked route would refuse it, and the load fail).
 */
const FRESH_PER_SECOND = 50_000;
const freshAccountKey = createSecretKey(Buffer.from(ACCOUNT_KEY, 'base64url'));

/**
 * Requests to `url`, each with a new `account` signature: the token and `Signature-Input` of one
 * request signed by the library's helper, and for each request the signature of its own
 * `Approov-TraceID`, over a base written as the SDK writes it (checked against the helper's).
 */
function fresh(url: string, seconds: number): LoadRequests {
  const { headers } = signApproovRequest({
    secret: SECRET,
    method: 'GET',
    url,
    headers: { 'Approov-TraceID': '0' },
    labels: ['account'],
    accountKey: ACCOUNT_KEY,
    token: { ttlSeconds: 3600 },
  });
  const token = headers['Approov-Token'];
  const input = headers['Signature-Input'];
  const params = input.slice('account='.length);
  const signatureOf = (traceId: string) => {
    const base =
      `"@method": GET\n"@target-uri": ${url}\n"approov-token": ${token}\n` +
      `"approov-traceid": ${traceId}\n"@signature-params": ${params}`;
    return `account=:${createHmac('sha256', freshAccountKey).update(base).digest('base64')}:`;
  };
  if (signatureOf('0') !== headers['Signature']) {
    throw new Error('bench: the fresh signatures are not written as the SDK writes them');
  }
  const signatures = Array.from({ length: seconds * FRESH_PER_SECOND }, (_, i) =>
    signatureOf(String(i)),
  );
  let next = 0;
  return {
    requests: [
      {
        setupRequest: (request) => {
          const i = next++;
          if (i >= signatures.length) {
            throw new Error(
              `bench: more than ${signatures.length} requests; raise FRESH_PER_SECOND`,
            );
          }
          return {
            ...request,
            headers: {
              ...request.headers,
              'approov-token': token,
              'approov-traceid': String(i),
              'signature-input': input,
              signature: signatures[i],
            },
          };
        },
      },
    ],
  };
}

/** The streams of tokens never seen before: a keyset key's, the account secret's, forged ones. */
type Stream = KeysetAlgorithm | 'HS256' | 'forged';

/** How many tokens each pool holds: 16 times the cache, see above. */
const POOL_SIZE = 16 * CACHE_SIZE;
const pools = new Map<Stream, readonly string[]>();
/** The secret of the forged tokens: not the app's, so every signature is wrong. */
const FORGING_SECRET = randomBytes(64).toString('base64');

/** The signing key of a stream's tokens. */
function signingKeyOf(stream: Stream): Parameters<typeof mintApproovToken>[0] {
  if (stream === 'HS256') return { secret: SECRET };
  if (stream === 'forged') return { secret: FORGING_SECRET };
  return {
    key: { alg: stream, key: keysetKeyPairs()[stream].privateKey, kid: KEYSET_KIDS[stream] },
  };
}

/** The pool of `stream`, signed on first use (about half a minute for RS256) and kept for the run. */
function poolOf(stream: Stream): readonly string[] {
  let pool = pools.get(stream);
  if (pool === undefined) {
    process.stderr.write(`signing ${POOL_SIZE} ${stream} tokens...\n`);
    pool = mintDistinctTokens(POOL_SIZE, signingKeyOf(stream));
    pools.set(stream, pool);
  }
  return pool;
}

/** Requests each with the next token of `stream`'s pool, by a cursor of the route's own. */
function distinct(stream: Stream): () => LoadRequests {
  let next = 0;
  return () => {
    const pool = poolOf(stream);
    return {
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            headers: { ...request.headers, 'approov-token': pool[next++ % pool.length] },
          }),
        },
      ],
    };
  };
}

/** Each route, and how a load of it sends requests, given the URL requested and the seconds. */
const ROUTES: Record<string, (url: string, seconds: number) => LoadRequests> = {
  '/open': always({}),
  '/noop': always({}),
  '/floor': always({ 'approov-token': valid }),
  '/protected': always({ 'approov-token': valid }),
  '/protected-bound': always({ 'approov-token': bound, authorization: AUTHORIZATION }),
  '/refused-prebuilt': distinct('forged'),
  '/rejected': distinct('forged'),
  '/refused-floor': distinct('forged'),
  '/floor-new': distinct('HS256'),
  '/protected-new': distinct('HS256'),
  '/quickstart': always({ 'approov-token': valid }),
  '/floor-signed': signed('install'),
  '/floor-signed-account': signed('account'),
  '/protected-signed': signed('install'),
  '/protected-signed-account': signed('account'),
  '/protected-signed-fresh': fresh,
  '/protected-signed-replay': fresh,
  '/floor-rs256': distinct('RS256'),
  '/protected-rs256': distinct('RS256'),
  '/floor-es256': distinct('ES256'),
  '/protected-es256': distinct('ES256'),
};
const EXPECTED_STATUS: Record<string, number> = {
  '/refused-prebuilt': 401,
  '/rejected': 401,
  '/refused-floor': 401,
};

/** The routes of this run: all, or `/open` and those of BENCH_ROUTES. */
const SELECTED = process.env.BENCH_ROUTES?.split(',').map((route) => route.trim());
for (const route of SELECTED ?? []) {
  if (!Object.hasOwn(ROUTES, route)) {
    throw new Error(
      `BENCH_ROUTES: no route ${route}; the routes: ${Object.keys(ROUTES).join(',')}`,
    );
  }
}
const MEASURED = Object.keys(ROUTES).filter(
  (route) => SELECTED === undefined || route === '/open' || SELECTED.includes(route),
);
/** The routes measured again with the replay store in Redis, when there is one. */
const REDIS_ROUTES = ['/open', '/protected-signed-fresh', '/protected-signed-replay'].filter(
  (route) => MEASURED.includes(route),
);

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Lines the app wrote to its log a second, during the load. */
  logLines: number;
}

/** Loads `route` for `seconds` once the app is idle, with headers made for this load. */
async function load(server: BenchServer, route: string, seconds: number) {
  await server.settle();
  const url = `${server.url}${route}`;
  const requests = ROUTES[route](url, seconds);
  // The last load's requests are garbage now: collected here, not by the load generator mid-load
  // (a pool of signed requests is tens of megabytes, and the load after it would lose ~10%).
  globalThis.gc?.();
  const loggedBefore = server.logged().lines;
  const result = await autocannon({
    url,
    ...requests,
    connections: 100,
    pipelining: 10,
    duration: seconds,
  });
  return Object.assign(result, { logLines: (server.logged().lines - loggedBefore) / seconds });
}

/**
 * Fails the run unless every answer of a load had the route's expected status and, for a
 * warm-up, no request failed (a measured round may time a request out on a busy machine).
 */
function checkAnswers(
  adapter: string,
  route: string,
  result: Awaited<ReturnType<typeof load>>,
  phase: 'warm-up' | 'round',
): void {
  const expected = EXPECTED_STATUS[route] ?? 200;
  const answered = expected === 200 ? result['2xx'] : result['4xx'];
  if (
    answered === 0 ||
    (phase === 'warm-up' && result.errors > 0) ||
    result.non2xx !== (expected === 200 ? 0 : result.requests.total)
  ) {
    throw new Error(
      `${adapter} ${route}: not every answer was ${expected} ` +
        `(2xx ${result['2xx']}, 4xx ${result['4xx']}, errors ${result.errors})`,
    );
  }
}

/** The adapters of this run: both, or those of BENCH_ADAPTERS (`fastify`, `express`). */
const ADAPTERS = process.env.BENCH_ADAPTERS?.split(',').map((adapter) => adapter.trim()) ?? [
  'fastify',
  'express',
];
for (const adapter of ADAPTERS) {
  if (adapter !== 'fastify' && adapter !== 'express') {
    throw new Error(`BENCH_ADAPTERS: no adapter ${adapter}; the adapters: fastify,express`);
  }
}

/**
 * Measures `routes` on `adapter`, with the replay store in the Redis at `redisUrl` if given; an
 * empty table for an adapter that BENCH_ADAPTERS leaves out.
 */
async function measure(
  adapter: 'fastify' | 'express',
  routes: readonly string[] = MEASURED,
  redisUrl?: string,
) {
  if (!ADAPTERS.includes(adapter)) return {};
  const server = await startServer(adapter, redisUrl);
  try {
    for (const route of routes) {
      checkAnswers(adapter, route, await load(server, route, WARMUP_SECONDS), 'warm-up');
    }
    const rounds: Record<string, Sample>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const samples: Record<string, Sample> = {};
      for (const route of routes) {
        const result = await load(server, route, SECONDS);
        // Checked in every round too: a signature that expired mid-load would count 401s.
        checkAnswers(adapter, route, result, 'round');
        samples[route] = {
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          logLines: result.logLines,
        };
        process.stderr.write(
          `${adapter} round ${round + 1} ${route}: ${Math.round(result.requests.average)} req/s\n`,
        );
      }
      rounds.push(samples);
    }
    return Object.fromEntries(
      routes.map((route) => {
        const of = (pick: (sample: Sample, open: Sample) => number) =>
          median(rounds.map((samples) => pick(samples[route], samples['/open'])));
        return [
          route,
          {
            rps: Math.round(of((s) => s.rps)),
            p50Ms: of((s) => s.p50),
            p99Ms: of((s) => s.p99),
            ratioToOpen: Number(of((s, open) => s.rps / open.rps).toFixed(3)),
            addedMicroseconds: Number(of((s, open) => 1e6 / s.rps - 1e6 / open.rps).toFixed(1)),
            roundRps: rounds.map((samples) => Math.round(samples[route].rps)),
            logLinesPerSecond: Number(of((s) => s.logLines).toFixed(1)),
          },
        ];
      }),
    );
  } finally {
    await server.stop();
  }
}

type Table = Awaited<ReturnType<typeof measure>>;

function print(adapter: string, table: Table): void {
  if (Object.keys(table).length === 0) return;
  console.log(`\n${adapter} (medians of ${ROUNDS} rounds of ${SECONDS} s)`);
  console.log('| route | req/s | p50 ms | p99 ms | R = route / open | µs added | log lines/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [route, row] of Object.entries(table)) {
    console.log(
      `| ${route} | ${row.rps} | ${row.p50Ms} | ${row.p99Ms} | ${row.ratioToOpen.toFixed(2)} | ${row.addedMicroseconds} | ${row.logLinesPerSecond} |`,
    );
  }
}

/**
 * Each target, `met` or `MISSED`, with the ratio it is about and the least it asks. A target that
 * reads a route this run did not measure (see BENCH_ROUTES) is left out.
 */
function checkTargets(
  fastify: Table,
  express: Table,
  inRedis: { fastify?: Table; express?: Table },
): string[] {
  // NaN for a route not measured: the targets that read it are left out.
  const r = (table: Table, route: string) => (route in table ? table[route].ratioToOpen : NaN);
  const rps = (table: Table, route: string) => (route in table ? table[route].rps : NaN);
  // A route against its floor: the median of their ratios within each round, as the two were
  // loaded one after the other, so that drift between rounds (Express's above all) cancels out.
  const vsFloor = (table: Table | undefined, route: string, floor: string) =>
    table !== undefined && route in table && floor in table
      ? median(
          table[route].roundRps.map((routeRps, round) => routeRps / table[floor].roundRps[round]),
        )
      : NaN;
  const targets: [name: string, ratio: number, least: number][] = [
    ['Fastify R(/protected) >= 0.80', r(fastify, '/protected'), 0.8],
    ['Fastify R(/protected) >= R(/floor)', r(fastify, '/protected') / r(fastify, '/floor'), 1],
    ['Fastify R(/protected-bound) >= 0.75', r(fastify, '/protected-bound'), 0.75],
    ['Fastify R(/rejected) >= 0.50', r(fastify, '/rejected'), 0.5],
    [
      'Fastify /protected >= 10x /quickstart',
      rps(fastify, '/protected') / rps(fastify, '/quickstart'),
      10,
    ],
    ['Express R(/protected) >= 0.90', r(express, '/protected'), 0.9],
  ];
  for (const [adapter, table] of [
    ['Fastify', fastify],
    ['Express', express],
  ] as const) {
    targets.push(
      [
        `${adapter} /rejected >= 0.80 x /refused-prebuilt, forged tokens, logger on (median of per-round ratios)`,
        vsFloor(table, '/rejected', '/refused-prebuilt'),
        0.8,
      ],
      [
        // Not the target: how close any check that verifies each forged token's HMAC can
        // come to the prebuilt refusal, and what the guard adds to that minimal check.
        `${adapter} /refused-floor >= 0.80 x /refused-prebuilt, the minimal HMAC check (reference)`,
        vsFloor(table, '/refused-floor', '/refused-prebuilt'),
        0.8,
      ],
      [
        `${adapter} /rejected >= 0.90 x /refused-floor, forged tokens (reference)`,
        vsFloor(table, '/rejected', '/refused-floor'),
        0.9,
      ],
      [
        `${adapter} /protected-new >= 0.80 x /floor-new, a new valid token each request (median of per-round ratios)`,
        vsFloor(table, '/protected-new', '/floor-new'),
        0.8,
      ],
      [
        `${adapter} R(/protected-signed) >= 0.90 x R(/floor-signed)`,
        r(table, '/protected-signed') / r(table, '/floor-signed'),
        0.9,
      ],
      [
        `${adapter} R(/protected-signed-account) >= 0.80 x R(/protected)`,
        r(table, '/protected-signed-account') / r(table, '/protected'),
        0.8,
      ],
      [
        // Not the target: the same comparison as the install route's, against the
        // account route's own floor (one HMAC), to show what the guard adds to the crypto.
        `${adapter} R(/protected-signed-account) >= 0.90 x R(/floor-signed-account) (reference)`,
        r(table, '/protected-signed-account') / r(table, '/floor-signed-account'),
        0.9,
      ],
      [
        `${adapter} /protected-rs256 >= 0.90 x /floor-rs256 (median of per-round ratios)`,
        vsFloor(table, '/protected-rs256', '/floor-rs256'),
        0.9,
      ],
      [
        `${adapter} /protected-es256 >= 0.90 x /floor-es256 (median of per-round ratios)`,
        vsFloor(table, '/protected-es256', '/floor-es256'),
        0.9,
      ],
      [
        `${adapter} /protected-signed-replay >= 0.95 x /protected-signed-fresh, memory store (median of per-round ratios)`,
        vsFloor(table, '/protected-signed-replay', '/protected-signed-fresh'),
        0.95,
      ],
      [
        `${adapter} /protected-signed-replay >= 0.60 x /protected-signed-fresh, Redis store (median of per-round ratios)`,
        vsFloor(
          adapter === 'Fastify' ? inRedis.fastify : inRedis.express,
          '/protected-signed-replay',
          '/protected-signed-fresh',
        ),
        0.6,
      ],
    );
  }
  return targets
    .filter(([, ratio]) => !Number.isNaN(ratio))
    .map(
      ([name, ratio, least]) =>
        `${ratio >= least ? 'met   ' : 'MISSED'} ${name}: ${ratio.toFixed(3)} (at least ${least.toFixed(2)})`,
    );
}

pinLoadToCpu1();
const fastify = await measure('fastify');
print('Fastify', fastify);
const express = await measure('express');
print('Express', express);
const inRedis: { fastify?: Table; express?: Table } = {};
const redis = REDIS_ROUTES.includes('/protected-signed-replay') ? await startRedis() : undefined;
if (redis !== undefined) {
  try {
    inRedis.fastify = await measure('fastify', REDIS_ROUTES, redis.url);
    print('Fastify, replay store in Redis', inRedis.fastify);
    inRedis.express = await measure('express', REDIS_ROUTES, redis.url);
    print('Express, replay store in Redis', inRedis.express);
  } finally {
    await redis.stop();
  }
}
const targets = checkTargets(fastify, express, inRedis);
console.log(`\nTargets:\n${targets.join('\n')}`);
const saveAs = process.env.BENCH_SAVE_AS ?? (SELECTED === undefined ? 'http' : undefined);
if (saveAs !== undefined) {
  const results = {
    environment: environment(),
    seconds: SECONDS,
    rounds: ROUNDS,
    fastify,
    express,
    replayStoreInRedis: inRedis,
    targets,
  };
  const out = fileURLToPath(new URL('../bench/results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}${saveAs}.json`, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWritten to bench/results/${saveAs}.json`);
} else {
  console.log(
    '\nBENCH_ROUTES chose the routes: nothing written, http.json keeps the last full run',
  );
}
