/**
 * `npm run bench:soak`: 60 s of load on `/protected` (Fastify) with a million distinct valid
 * tokens, sampling the app's resident memory every second. The verified-token cache is bounded,
 * so memory must stop growing: the target is less than 64 MB of growth in all, and a plateau.
 *
 * SOAK_SECONDS (default 60) and SOAK_TOKENS (default 1000000) change the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { mintApproovToken } from 'nestjs-approov/testing';
import { SECRET } from './guards.js';
import { environment, pinLoadToCpu1, startServer } from './harness.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const TOKENS = Number(process.env.SOAK_TOKENS ?? 1_000_000);
const MIB = 2 ** 20;

process.stderr.write(`minting ${TOKENS} tokens...\n`);
const now = Date.now();
const tokens = Array.from({ length: TOKENS }, (_, i) =>
  mintApproovToken({ secret: SECRET, now, ttlSeconds: 3600, claims: { did: `device-${i}` } }),
);

pinLoadToCpu1();
const server = await startServer('fastify');
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
        path: '/protected',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'approov-token': tokens[next++ % TOKENS] },
        }),
      },
    ],
  });

try {
  await run(5);
  const baseline = server.rss();
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(server.rss()), 1000);
  const result = await run(SECONDS);
  clearInterval(sampler);
  if (result.non2xx > 0 || result.errors > 0) throw new Error('some requests were refused');
  const half = samples.length >> 1;
  const peak = Math.max(...samples);
  const firstHalfPeak = Math.max(...samples.slice(0, half));
  const secondHalfPeak = Math.max(...samples.slice(half));
  const summary = {
    seconds: SECONDS,
    distinctTokens: TOKENS,
    requests: result.requests.total,
    tokensSent: next,
    baselineMiB: Number((baseline / MIB).toFixed(1)),
    peakMiB: Number((peak / MIB).toFixed(1)),
    growthMiB: Number(((peak - baseline) / MIB).toFixed(1)),
    secondHalfGrowthMiB: Number(((secondHalfPeak - firstHalfPeak) / MIB).toFixed(1)),
    rssMiBEachSecond: samples.map((rss) => Number((rss / MIB).toFixed(1))),
  };
  const bounded = summary.growthMiB < 64;
  const plateau = summary.secondHalfGrowthMiB < 8;
  console.log(
    `${summary.requests} requests with ${Math.min(next, TOKENS)} distinct tokens in ${SECONDS} s\n` +
      `RSS: ${summary.baselineMiB} MiB after warm-up, peak ${summary.peakMiB} MiB, ` +
      `growth ${summary.growthMiB} MiB (${bounded ? 'met' : 'MISSED'}: < 64 MB), ` +
      `second half ${summary.secondHalfGrowthMiB} MiB (${plateau ? 'met' : 'MISSED'}: stops growing)`,
  );
  const out = fileURLToPath(new URL('../bench/results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(
    `${out}soak.json`,
    `${JSON.stringify({ environment: environment(), ...summary, bounded, plateau }, null, 2)}\n`,
  );
  console.log('Written to bench/results/soak.json');
} finally {
  await server.stop();
}
