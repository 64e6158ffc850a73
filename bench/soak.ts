/**
 * `npm run bench:soak`: floods, on Fastify then Express, sampling the app's resident memory every
 * second: 60 s of distinct forged tokens on `/rejected` (every one refused, none remembered), then
 * 60 s of distinct valid tokens on `/protected` (each verified in full, as a large fleet's new
 * tokens are). The verified-token cache and its admission filter are bounded and failures are
 * never remembered, so memory must stay flat: the target is less than 32 MB of growth after the
 * 10 s warm-up in each flood (from the highest sample of the warm-up's last 5 s to the highest of
 * the flood), and no growth in its second half. The app logs as in production (default
 * options, Nest's logger on, stdout to a file): the forged flood must not flood the log.
 *
 * SOAK_SECONDS (default 60) and SOAK_TOKENS (default 1000000, per flood) change the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SECRET } from './guards.js';
import {
  type BenchServer,
  environment,
  mintDistinctTokens,
  pinLoadToCpu1,
  startServer,
} from './harness.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const TOKENS = Number(process.env.SOAK_TOKENS ?? 1_000_000);
const WARMUP_SECONDS = 10;
/** The warm-up's last samples (of one every 500 ms) whose highest is the baseline: 5 s. */
const WARMUP_SAMPLES_KEPT = 10;
const MIB = 2 ** 20;
/** The most a flood may add to the app's resident memory after its warm-up. */
const MAX_GROWTH_MIB = 32;
/** The most the second half of a flood may add to the first half's peak: a plateau. */
const MAX_SECOND_HALF_GROWTH_MIB = 8;

interface Flood {
  readonly name: string;
  readonly route: string;
  readonly status: 200 | 401;
  readonly secret: string;
}
const FLOODS: readonly Flood[] = [
  // Signed with a secret of their own: every signature is wrong.
  { name: 'forged', route: '/rejected', status: 401, secret: randomBytes(64).toString('base64') },
  { name: 'valid', route: '/protected', status: 200, secret: SECRET },
];

/** `TOKENS` distinct tokens signed with `secret`, each naming its own device. */
function mint(secret: string): string[] {
  process.stderr.write(`minting ${TOKENS} tokens...\n`);
  return mintDistinctTokens(TOKENS, { secret });
}

/** Floods `server` with `tokens`, one after the other, and samples its memory each second. */
async function soak(server: BenchServer, flood: Flood, tokens: readonly string[]) {
  let next = 0;
  const run = (seconds: number) =>
    autocannon({
      url: server.url,
      connections: 100,
      pipelining: 10,
      duration: seconds,
      requests: [
        {
          method: 'GET',
          path: flood.route,
          setupRequest: (request) => ({
            ...request,
            headers: { ...request.headers, 'approov-token': tokens[next++ % tokens.length] },
          }),
        },
      ],
    });
  // The resident memory rises and falls with each garbage collection (by about 30 MB on
  // Express): growth is measured from the warm-up's highest sample to the flood's.
  const warmupSamples: number[] = [];
  const warmupSampler = setInterval(() => warmupSamples.push(server.rss()), 500);
  await run(WARMUP_SECONDS);
  clearInterval(warmupSampler);
  const baseline = Math.max(...warmupSamples.slice(-WARMUP_SAMPLES_KEPT));
  const loggedBefore = server.logged();
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(server.rss()), 1000);
  const result = await run(SECONDS);
  clearInterval(sampler);
  const logged = server.logged();
  // Every answer must be the flood's status; a request the app had not answered when the load
  // stopped, or that timed out in its queue, is counted (`unanswered`), not a failure.
  const answered = flood.status === 200 ? result['2xx'] : result['4xx'];
  if (
    answered === 0 ||
    answered !== result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  ) {
    throw new Error(
      `${flood.name}: not every answer was ${flood.status} ` +
        `(2xx ${result['2xx']}, 4xx ${result['4xx']}, 5xx ${result['5xx']})`,
    );
  }
  const half = samples.length >> 1;
  const mib = (bytes: number) => Number((bytes / MIB).toFixed(1));
  const growthMiB = mib(Math.max(...samples) - baseline);
  const secondHalfGrowthMiB = mib(
    Math.max(...samples.slice(half)) - Math.max(...samples.slice(0, half)),
  );
  return {
    route: flood.route,
    requests: result.requests.total,
    unanswered: result.errors,
    requestsPerSecond: Math.round(result.requests.average),
    distinctTokens: Math.min(next, tokens.length),
    warmupPeakMiB: mib(baseline),
    growthMiB,
    secondHalfGrowthMiB,
    flat: growthMiB < MAX_GROWTH_MIB && secondHalfGrowthMiB < MAX_SECOND_HALF_GROWTH_MIB,
    logLinesPerSecond: Number(((logged.lines - loggedBefore.lines) / SECONDS).toFixed(1)),
    logBytes: logged.bytes - loggedBefore.bytes,
    rssMiBEachSecond: samples.map(mib),
  };
}

const tokens = new Map(FLOODS.map((flood) => [flood.name, mint(flood.secret)]));
pinLoadToCpu1();
const results: Record<string, Record<string, Awaited<ReturnType<typeof soak>>>> = {};
for (const adapter of ['fastify', 'express'] as const) {
  const server = await startServer(adapter);
  try {
    for (const flood of FLOODS) {
      const summary = await soak(server, flood, tokens.get(flood.name)!);
      (results[adapter] ??= {})[flood.name] = summary;
      console.log(
        `${adapter}, ${flood.name} tokens on ${flood.route}: ${summary.requests} requests ` +
          `(${summary.requestsPerSecond}/s) with ${summary.distinctTokens} distinct tokens in ` +
          `${SECONDS} s; RSS peak ${summary.warmupPeakMiB} MiB in the warm-up, growth ` +
          `${summary.growthMiB} MiB, second half ${summary.secondHalfGrowthMiB} MiB ` +
          `(${summary.flat ? 'met' : 'MISSED'}: < ${MAX_GROWTH_MIB} MB, and flat); ` +
          `${summary.logLinesPerSecond} log lines/s`,
      );
    }
  } finally {
    await server.stop();
  }
}
const out = fileURLToPath(new URL('../bench/results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(
  `${out}soak.json`,
  `${JSON.stringify({ environment: environment(), seconds: SECONDS, tokensPerFlood: TOKENS, ...results }, null, 2)}\n`,
);
console.log('Written to bench/results/soak.json');
