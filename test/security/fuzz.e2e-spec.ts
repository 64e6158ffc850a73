/**
 * Property-based tests through a real app on both adapters: arbitrary header values, arbitrary
 * JSON headers and payloads signed with the right secret, and mutations of valid tokens.
 *
 * `npm test` runs a few hundred cases with a fixed seed; `npm run fuzz` runs many more with a
 * random seed, and fast-check prints the seed and path of any failure to replay it
 * (FUZZ_SEED=<seed> FUZZ_RUNS=<n> npm run fuzz).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ADAPTERS, handlerCalls, type TestApp } from '../support/test-app.js';
import { header, mint } from '../support/tokens.js';
import { forge } from './forge.js';
import { startTargetApp } from './target-app.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED ?? (process.env.FUZZ_RANDOM ? undefined : '20261128');
const settings: fc.Parameters<unknown> = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: Number(SEED) }),
};

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Values Node's HTTP client can send in a header: no control characters but tab. */
const headerValue = fc
  .string({ unit: fc.integer({ min: 0x09, max: 0xff }).map((code) => String.fromCharCode(code)) })
  .filter((value) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value));
const segment = fc.string({ unit: fc.constantFrom(...BASE64URL.split('')), maxLength: 60 });
const jwtShaped = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'));

const now = () => Date.now() / 1000;
/** Claims around the rules: exp and nbf near now mostly, else of any type. */
const timeClaim = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -600, max: 600 }).map((s) => Math.floor(now()) + s) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue() },
);
/** Mostly Approov-like payloads and headers, so that both answers are explored. */
const payloads = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { exp: timeClaim, nbf: timeClaim, did: fc.string(), pay: fc.jsonValue() },
      { requiredKeys: ['exp'] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const headers = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ alg: 'HS256', typ: 'JWT' }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        alg: fc.oneof(fc.constantFrom('HS256', 'none', 'HS512', 'RS256'), fc.jsonValue()),
        typ: fc.constant('JWT'),
        crit: fc.jsonValue(),
        kid: fc.string(),
        b64: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue() },
);

/** Whether a token with this header and payload may be accepted now, by the rules. */
function followsTheRules(jwsHeader: unknown, payload: unknown, at: number): boolean {
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(jwsHeader) || !isObject(payload)) return false;
  if (jwsHeader.alg !== 'HS256' || ['crit', 'b64', 'zip', 'enc'].some((k) => k in jwsHeader)) {
    return false;
  }
  const { exp, nbf } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp) || !(exp > at)) return false;
  return !('nbf' in payload) || (typeof nbf === 'number' && Number.isFinite(nbf) && nbf <= at);
}

describe.each(ADAPTERS)('fuzzing (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTargetApp(adapter);
  });
  afterAll(() => app.close());

  it('answers any header value with 401, never a 5xx, and never runs the handler', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(headerValue, jwtShaped), async (value) => {
        const response = await app.get('/target', header(value));
        expect(response.status).toBe(401);
        expect(response.text).toBe('{}');
        expect(handlerCalls).toEqual([]);
      }),
      settings,
    );
  });

  it('accepts a signed token only when its header and claims follow every rule', async () => {
    const answers = { 200: 0, 401: 0 };
    await fc.assert(
      fc.asyncProperty(headers, payloads, async (jwsHeader, payload) => {
        const token = forge({
          header: JSON.stringify(jwsHeader),
          payload: JSON.stringify(payload),
        });
        const before = now();
        const response = await app.get('/target', header(token));
        expect([200, 401]).toContain(response.status);
        answers[response.status as 200 | 401]++;
        if (response.status === 200) {
          expect(followsTheRules(jwsHeader, payload, before)).toBe(true);
          expect(handlerCalls).toEqual(['target']);
        } else {
          expect(handlerCalls).toEqual([]);
        }
      }),
      settings,
    );
    // Both answers were explored: the property did not hold vacuously.
    expect(answers[200]).toBeGreaterThan(0);
    expect(answers[401]).toBeGreaterThan(0);
  });

  it('never accepts a mutated token, unless the mutation changed nothing', async () => {
    const valid = mint({ ttlSeconds: 3600 });
    const mutation = fc.record({
      index: fc.nat({ max: valid.length }),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      char: fc.constantFrom(...`${BASE64URL}.=+/ `.split('')),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ index, kind, char }) => {
        const keep = kind === 'insert' ? index : index + 1;
        const mutated = `${valid.slice(0, index)}${kind === 'delete' ? '' : char}${valid.slice(keep)}`;
        const response = await app.get('/target', header(mutated));
        // White space around a header value is not part of it (RFC 9110 section 5.5).
        const received = mutated.replace(/^[ \t]+|[ \t]+$/g, '');
        expect(response.status).toBe(received === valid ? 200 : 401);
      }),
      settings,
    );
  });
});
