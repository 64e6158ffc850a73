/**
 * `@nestjs/jwt` as an independent judge of the verifier: every token the verifier accepts must
 * verify with `JwtService` pinned to the same key and algorithm, with the same payload. The
 * verifier is stricter (canonical base64url, no `crit`, no `b64`, a JSON object payload), so the
 * converse does not hold. Earlier versions verified each HMAC token a second time with
 * `JwtService` on every first sighting; this suite keeps that cross-check, off the request path.
 */
import { describe, expect, it } from '@jest/globals';
import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { vectors } from '../../test/support/tokens.js';
import { ApproovTokenVerifier } from './token-verifier.js';
import { TokenKeySet } from './key-set.js';
import { parseVerificationKey, type VerificationKey } from './verification-key.js';

type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';
const HASHES: Record<HmacAlgorithm, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED ?? (process.env.FUZZ_RANDOM ? undefined : '20261129');
const settings: fc.Parameters<unknown> = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: Number(SEED) }),
};

/** A verifier with one HMAC key and no cache, and `JwtService` pinned as the verifier was. */
function judges(alg: HmacAlgorithm, secret: KeyObject) {
  const verifier = new ApproovTokenVerifier({
    keys: TokenKeySet.of([
      parseVerificationKey({ alg, key: secret }) as VerificationKey,
    ]) as TokenKeySet,
    clockToleranceSeconds: 0,
    cacheSize: 0,
  });
  const jwt = new JwtService({
    secret,
    verifyOptions: {
      algorithms: [alg],
      complete: true,
      ignoreExpiration: true,
      ignoreNotBefore: true,
    },
  });
  /** `JwtService`'s payload of `token`, or `undefined` when it refuses it. */
  const jwtPayload = (token: string): unknown => {
    try {
      return jwt.verify<{ payload: unknown }>(token).payload;
    } catch {
      return undefined;
    }
  };
  /** Fails the test when the verifier accepts a token that `JwtService` refuses. */
  const expectAgreement = (token: string): boolean => {
    const claims = verifier.verifySignature(token);
    if (typeof claims === 'string') return false;
    expect({ token, payload: jwtPayload(token) }).toEqual({ token, payload: claims });
    return true;
  };
  return expectAgreement;
}

const segmentOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `header.payload.signature` with the right HMAC over whatever header and payload segments. */
const signSegments = (alg: HmacAlgorithm, secret: KeyObject, header: string, payload: string) => {
  const input = `${header}.${payload}`;
  return `${input}.${createHmac(HASHES[alg], secret).update(input).digest('base64url')}`;
};

describe('every token the verifier accepts verifies with @nestjs/jwt too', () => {
  it('the published Approov vectors', () => {
    let accepted = 0;
    for (const set of [vectors.quickstarts, vectors.aspnet]) {
      const secret = createSecretKey(Buffer.from(set.secret_base64, 'base64'));
      const expectAgreement = judges('HS256', secret);
      for (const vector of [...set.cases, ...set.binding_cases]) {
        if (vector.token !== null && expectAgreement(vector.token)) accepted += 1;
      }
    }
    // The vectors that expect 401 for their time claims alone still have sound signatures.
    expect(accepted).toBeGreaterThan(10);
  });

  describe.each(['HS256', 'HS384', 'HS512'] as const)('%s', (alg) => {
    const secret = createSecretKey(randomBytes(64));
    const expectAgreement = judges(alg, secret);
    /** A token the verifier accepts, whose variants are tried below. */
    const sound = signSegments(
      alg,
      secret,
      segmentOf({ alg, typ: 'JWT' }),
      segmentOf({ exp: 2e9 }),
    );
    const jsonHeaders = fc.oneof(
      { weight: 3, arbitrary: fc.constant({ alg, typ: 'JWT' }) },
      {
        weight: 3,
        arbitrary: fc.record(
          {
            alg: fc.oneof(fc.constantFrom(alg, 'none', 'HS256', alg.toLowerCase()), fc.jsonValue()),
            typ: fc.constantFrom('JWT', 'jwt', 'JOSE'),
            kid: fc.oneof(fc.string(), fc.jsonValue()),
            crit: fc.jsonValue(),
            b64: fc.boolean(),
            zip: fc.constant('DEF'),
          },
          { requiredKeys: ['alg'] },
        ),
      },
      { weight: 1, arbitrary: fc.jsonValue() },
    );
    const payloads = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({ exp: fc.jsonValue(), did: fc.string(), pay: fc.jsonValue() }),
      },
      { weight: 1, arbitrary: fc.jsonValue() },
    );
    /** Segments as JSON, or arbitrary text: `JwtService` and the verifier must not part ways on it. */
    const segments = (values: fc.Arbitrary<unknown>) =>
      fc.oneof(
        { weight: 4, arbitrary: values.map(segmentOf) },
        {
          weight: 1,
          arbitrary: fc.string().map((text) => Buffer.from(text).toString('base64url')),
        },
      );

    it('headers and payloads of every shape, signed with the right key', () => {
      let accepted = 0;
      fc.assert(
        fc.property(segments(jsonHeaders), segments(payloads), (header, payload) => {
          if (expectAgreement(signSegments(alg, secret, header, payload))) accepted += 1;
        }),
        settings,
      );
      // Both answers explored: some of the generated tokens are sound.
      expect(accepted).toBeGreaterThan(0);
    });

    it('mutations of a sound token: a character changed, added or removed anywhere', () => {
      expect(expectAgreement(sound)).toBe(true);
      const characters = fc.constantFrom(...'ABab019-_.=+/ %'.split(''));
      fc.assert(
        fc.property(
          fc.nat(sound.length),
          fc.constantFrom('replace', 'insert', 'delete'),
          characters,
          (at, edit, character) => {
            const mutated =
              sound.slice(0, at) +
              (edit === 'delete' ? '' : character) +
              sound.slice(edit === 'insert' ? at : at + 1);
            if (mutated !== sound) expectAgreement(mutated);
          },
        ),
        settings,
      );
    });

    it('the signature re-encoded: padded, in base64, or with other trailing bits', () => {
      const [header, payload, signature] = sound.split('.');
      const bytes = Buffer.from(signature, 'base64url');
      const variants = [
        `${signature}=`,
        bytes.toString('base64'),
        // The last character's unused bits set: the same bytes to a lenient decoder.
        signature.slice(0, -1) +
          String.fromCharCode(signature.charCodeAt(signature.length - 1) + 1),
      ];
      // (Base64 of a signature without `-` or `_` is the same text: no variant then.)
      for (const variant of variants.filter((text) => text !== signature)) {
        // Another text is another token, whatever bytes a lenient decoder makes of it.
        expect(expectAgreement(`${header}.${payload}.${variant}`)).toBe(false);
      }
    });
  });
});
