/**
 * Configured keys (`keys`, `secret`, `ApproovKeys.replace()`) through real apps on both adapters:
 * every algorithm in every way a key can be given, selection by kid, the rotation of the account
 * secret, keys replaced at runtime, keys from a factory, bad keys at startup, and Approov's
 * published vectors with the secret given as a key.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, type DynamicModule, Get, type ModuleMetadata } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  type ApproovClaims as Claims,
  ApproovClaims,
  ApproovConfigError,
  ApproovGuard,
  ApproovKeys,
  type ApproovKeyOptions,
  ApproovModule,
  type ApproovModuleOptions,
  type JwsAlgorithm,
} from 'nestjs-approov';
import { generateApproovSecret } from 'nestjs-approov/testing';
import {
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  type HmacKeyFormat,
  keyIn,
  materialOf,
  newSigner,
  type PublicKeyFormat,
  type Signer,
  signToken,
} from './support/keys.js';
import { VECTOR_REASONS, VectorController } from './support/routes.js';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectRefused,
  handlerCalls,
  type Headers,
  logs,
  TestApp,
} from './support/test-app.js';
import {
  header,
  mint,
  OTHER_SECRET,
  payloadOf,
  SECRET,
  type VectorCase,
  vectors,
} from './support/tokens.js';

@Controller()
class ClaimsController {
  @Get('claims')
  claims(@ApproovClaims() claims: Claims): object {
    handlerCalls.push('claims');
    return { claims };
  }
}

const globalGuard = { provide: APP_GUARD, useExisting: ApproovGuard };

/** An app with `approov` (after `imports`), its controllers behind the global guard. */
const appWith = (
  approov: DynamicModule,
  imports: ModuleMetadata['imports'] = [],
): ModuleMetadata => ({
  imports: [...imports, approov],
  controllers: [ClaimsController, VectorController],
  providers: [globalGuard],
});

const startApp = (adapter: AdapterName, approov: DynamicModule) =>
  TestApp.start(adapter, appWith(approov));

/** Asserts that `token` is accepted and its claims reach the handler. */
async function expectClaimsOf(app: TestApp, token: string): Promise<void> {
  const response = await app.get('/claims', header(token));
  expectAccepted(response, 'claims');
  expect(response.body).toEqual({ claims: payloadOf(token) });
}

const tokenSent = (app: TestApp, token: string) => app.get('/claims', header(token));

/** The error `action` throws, which must be an `ApproovConfigError`. */
function configErrorOf(action: () => unknown): ApproovConfigError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ApproovConfigError);
  return thrown as ApproovConfigError;
}

/** The error that stops an app with `approov` from starting, which must be an `ApproovConfigError`. */
async function startupErrorOf(
  adapter: AdapterName,
  approov: DynamicModule,
): Promise<ApproovConfigError> {
  const thrown = await startApp(adapter, approov).then(
    (app) => app.close(),
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(ApproovConfigError);
  return thrown as ApproovConfigError;
}

/** Asserts that `error` names `option`, says `problem`, and quotes nothing of `keys`. */
function expectNamed(
  error: ApproovConfigError,
  option: string,
  problem: string,
  keys: readonly unknown[],
): void {
  expect(error.option).toBe(option);
  expect(error.message).toContain(`"${option}" ${problem}`);
  for (const fragment of keys.flatMap(materialOf)) expect(error.message).not.toContain(fragment);
}

const ALGORITHMS: readonly JwsAlgorithm[] = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS];
/** The key each algorithm's tokens are signed with. */
const SIGNERS = Object.fromEntries(ALGORITHMS.map((alg) => [alg, newSigner(alg)])) as Record<
  JwsAlgorithm,
  Signer
>;
/** Another key of each algorithm, as an attacker would sign with. */
const STRANGERS = Object.fromEntries(ALGORITHMS.map((alg) => [alg, newSigner(alg)])) as Record<
  JwsAlgorithm,
  Signer
>;

/** Each way a key can be given, with the algorithms it is given for. */
const FORMATS: [HmacKeyFormat | PublicKeyFormat, readonly JwsAlgorithm[]][] = [
  ['base64 text', HMAC_ALGORITHMS],
  ['base64url text', HMAC_ALGORITHMS],
  ['secret KeyObject', HMAC_ALGORITHMS],
  ['PEM', ASYMMETRIC_ALGORITHMS],
  ['JWK object', ASYMMETRIC_ALGORITHMS],
  ['JWK JSON text', ASYMMETRIC_ALGORITHMS],
  ['public KeyObject', ASYMMETRIC_ALGORITHMS],
];

/** The key sets below: two HS256 secrets and two ES256 key pairs, each with a kid. */
const hsA = newSigner('HS256');
const hsB = newSigner('HS256');
const esA = newSigner('ES256');
const esB = newSigner('ES256');
/** The account secret as a signer, for tokens with a kid. */
const accountSecret: Signer = { alg: 'HS256', secret: SECRET };
const NEW_SECRET = generateApproovSecret();

/** An RSA-PSS key pair restricted to `hash` (for the message and MGF1) and a salt of at least `saltBytes`. */
const restrictedPss = (hash: string, saltBytes: number) =>
  generateKeyPairSync('rsa-pss', {
    modulusLength: 2048,
    hashAlgorithm: hash,
    mgf1HashAlgorithm: hash,
    // A number, as Node takes it: @types/node declares it as a string.
    saltLength: saltBytes as unknown as string,
  });

/** Bad keys, each at index 1 after a good one unless said otherwise, and the error they cause. */
const BAD_KEY_OPTIONS: [string, unknown, string, string][] = [
  [
    'a private key as PEM',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'ES256',
        key: esA.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      },
    ],
    'keys[1] (kid "keyset-1")',
    'is a private key: give the public key',
  ],
  [
    'a private JWK',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'EdDSA',
        key: newSigner('EdDSA').privateKey.export({ format: 'jwk' }),
      },
    ],
    'keys[1] (kid "keyset-1")',
    'is a private key: give the public key',
  ],
  [
    'a private KeyObject',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'ES256', key: esA.privateKey },
    ],
    'keys[1] (kid "keyset-1")',
    'is a private key: give the public key',
  ],
  [
    'a secret given for RS256',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'RS256', key: OTHER_SECRET },
    ],
    'keys[1] (kid "keyset-1")',
    'is neither a PEM nor a JWK public key; RS256 needs a public key, not a secret',
  ],
  [
    'a secret JWK given for ES256',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'ES256',
        key: createSecretKey(randomBytes(32)).export({ format: 'jwk' }),
      },
    ],
    'keys[1] (kid "keyset-1")',
    'is a secret (kty "oct"); ES256 needs a public key',
  ],
  [
    'an RSA key of 1024 bits',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'RS256',
        key: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
          type: 'spki',
          format: 'pem',
        }),
      },
    ],
    'keys[1] (kid "keyset-1")',
    'is an RSA key of 1024 bits; at least 2048 are needed',
  ],
  [
    'a P-384 key given for ES256',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'ES256', key: keyIn('PEM', SIGNERS.ES384) },
    ],
    'keys[1] (kid "keyset-1")',
    'is on curve secp384r1; ES256 needs prime256v1',
  ],
  [
    'an EC key given for EdDSA',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'EdDSA', key: keyIn('PEM', esA) },
    ],
    'keys[1] (kid "keyset-1")',
    'is an EC key; EdDSA needs an Ed25519 or Ed448 key',
  ],
  [
    'an RSA-PSS key restricted to SHA-256, given for PS512',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'PS512',
        key: restrictedPss('sha256', 32).publicKey.export({ type: 'spki', format: 'pem' }),
      },
    ],
    'keys[1] (kid "keyset-1")',
    "is an RSA-PSS key restricted to other parameters than PS512's (sha512, salt of 64 bytes)",
  ],
  [
    'an RSA-PSS key restricted to a salt longer than the hash',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'PS256', key: restrictedPss('sha256', 33).publicKey },
    ],
    'keys[1] (kid "keyset-1")',
    "is an RSA-PSS key restricted to other parameters than PS256's (sha256, salt of 32 bytes)",
  ],
  [
    'a public key in base64 DER given as an HS256 secret',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'hs-1',
        alg: 'HS256',
        key: esA.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      },
    ],
    'keys[1] (kid "hs-1")',
    'is a public key in DER; HS256 needs the secret',
  ],
  [
    'a secret given as the alg, swapped with the key',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'hs-1', alg: NEW_SECRET, key: 'HS256' },
    ],
    'keys[1] (kid "hs-1")',
    'has an alg that is no algorithm name; it must be one of HS256',
  ],
  [
    'an HS512 secret of 32 bytes',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'hs-1', alg: 'HS512', key: randomBytes(32).toString('base64') },
    ],
    'keys[1] (kid "hs-1")',
    'has a secret that decodes to 32 bytes; an HS512 key needs at least 64',
  ],
  [
    'a JWK for another alg',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'ES256',
        key: { ...esA.publicKey.export({ format: 'jwk' }), alg: 'ES384' },
      },
    ],
    'keys[1] (kid "keyset-1")',
    'is a JWK with alg "ES384", not ES256',
  ],
  [
    'a kid other than its JWK kid',
    [
      { alg: 'HS256', key: SECRET },
      {
        kid: 'keyset-1',
        alg: 'ES256',
        key: { ...esA.publicKey.export({ format: 'jwk' }), kid: 'keyset-2' },
      },
    ],
    'keys[1] (kid "keyset-1")',
    'has a kid that differs from the kid of its JWK',
  ],
  [
    'an unknown alg',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'none', key: OTHER_SECRET },
    ],
    'keys[1] (kid "keyset-1")',
    'has alg "none"; it must be one of HS256',
  ],
  [
    'two keys with one alg and kid (the second is named)',
    [
      { alg: 'HS256', key: SECRET },
      { kid: 'keyset-1', alg: 'ES256', key: keyIn('PEM', esA) },
      { kid: 'keyset-1', alg: 'ES256', key: keyIn('PEM', esB) },
    ],
    'keys[2] (kid "keyset-1")',
    'has the same alg and kid as key 1',
  ],
  [
    'a fourth HS256 key without a kid',
    [SECRET, OTHER_SECRET, hsA.secret, hsB.secret].map((key) => ({ alg: 'HS256', key })),
    'keys[3]',
    'is HS256 key number 4 without a kid; at most 3 are allowed',
  ],
  ['an empty list', [], 'keys', 'is empty'],
];

/**
 * The keys of a list given as `keys`, and its algs (where a secret can be swapped in), for the
 * check that no error quotes them.
 */
const keysOf = (list: unknown): unknown[] =>
  Array.isArray(list)
    ? list.flatMap((entry: { key?: unknown; alg?: unknown }) => [entry.key, entry.alg])
    : [];

/** The valid vectors expire from 2033 on: a fixed clock keeps this suite true. */
const FROZEN_NOW_MS = Date.UTC(2026, 0, 1);

/** One of Approov's vectors, as sent to one route. */
interface VectorRequest {
  readonly name: string;
  readonly route: 'check' | 'bound' | 'doubleBound';
  readonly expect: 200 | 401;
  readonly headers: Headers;
}

const vectorRequest = (
  route: VectorRequest['route'],
  vector: VectorCase,
  binding: Headers = {},
): VectorRequest => ({
  name: vector.name,
  route,
  expect: vector.expect,
  headers: vector.token === null ? binding : { ...binding, 'Approov-Token': vector.token },
});

/** Each published secret with its vectors, sent to the routes the vectors suite sends them to. */
const VECTOR_SETS: [string, string, VectorRequest[]][] = [
  [
    'quickstarts',
    vectors.quickstarts.secret_base64,
    [
      ...vectors.quickstarts.cases.map((vector) => vectorRequest('check', vector)),
      ...vectors.quickstarts.binding_cases.map((vector) =>
        vectorRequest(
          'bound',
          vector,
          vector.authorization == null ? {} : { Authorization: vector.authorization },
        ),
      ),
    ],
  ],
  [
    'ASP.NET',
    vectors.aspnet.secret_base64,
    [
      ...vectors.aspnet.cases.map((vector) => vectorRequest('check', vector)),
      ...vectors.aspnet.binding_cases.map((vector) =>
        vectorRequest('doubleBound', vector, vectors.aspnet.binding_values),
      ),
    ],
  ],
];

describe.each(ADAPTERS)('configured keys (%s)', (adapter) => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe.each(FORMATS)('keys given as %s', (format, algorithms) => {
    let app: TestApp;
    beforeAll(async () => {
      const keys = algorithms.map((alg) => ({ alg, key: keyIn(format, SIGNERS[alg]) }));
      app = await startApp(adapter, ApproovModule.forRoot({ keys }));
    });
    afterAll(() => app.close());

    it.each(algorithms)('accepts a %s token and hands its claims to the handler', async (alg) => {
      await expectClaimsOf(app, signToken(SIGNERS[alg], { claims: { did: `${alg} device` } }));
    });

    it.each(algorithms)('refuses a %s token signed by another key', async (alg) => {
      expectRefused(await tokenSent(app, signToken(STRANGERS[alg])), 'bad_signature');
    });
  });

  describe('RSA-PSS keys', () => {
    /** Restricted to PS256's own parameters, with a shorter salt allowed: it verifies PS256. */
    const restrictedToPs256: Signer = { alg: 'PS256', ...restrictedPss('sha256', 20) };
    const unrestricted: Signer = {
      alg: 'PS512',
      ...generateKeyPairSync('rsa-pss', { modulusLength: 2048 }),
    };
    let app: TestApp;
    beforeAll(async () => {
      const keys: ApproovKeyOptions[] = [
        { kid: 'pss-256', alg: 'PS256', key: keyIn('PEM', restrictedToPs256) },
        { kid: 'pss-512', alg: 'PS512', key: keyIn('public KeyObject', unrestricted) },
      ];
      app = await startApp(adapter, ApproovModule.forRoot({ keys }));
    });
    afterAll(() => app.close());

    it('accept the tokens of a key restricted to the alg, and of an unrestricted one', async () => {
      await expectClaimsOf(app, signToken(restrictedToPs256, { kid: 'pss-256' }));
      await expectClaimsOf(app, signToken(unrestricted, { kid: 'pss-512' }));
    });

    it('refuse tokens signed by another key: bad_signature', async () => {
      expectRefused(
        await tokenSent(app, signToken(STRANGERS.PS256, { kid: 'pss-256' })),
        'bad_signature',
      );
      const stranger: Signer = {
        alg: 'PS512',
        ...generateKeyPairSync('rsa-pss', { modulusLength: 2048 }),
      };
      expectRefused(await tokenSent(app, signToken(stranger, { kid: 'pss-512' })), 'bad_signature');
    });
  });

  describe('keys with a kid', () => {
    let app: TestApp;
    beforeAll(async () => {
      const keys: ApproovKeyOptions[] = [
        { kid: 'hs-a', alg: 'HS256', key: hsA.secret },
        { kid: 'hs-b', alg: 'HS256', key: hsB.secret },
        { kid: 'es-a', alg: 'ES256', key: keyIn('PEM', esA) },
        // Named by the kid of its JWK, as a key set serves it.
        { alg: 'ES256', key: { ...esB.publicKey.export({ format: 'jwk' }), kid: 'es-b' } },
      ];
      app = await startApp(adapter, ApproovModule.forRoot({ keys }));
    });
    afterAll(() => app.close());

    it.each([
      ['hs-a', hsA],
      ['hs-b', hsB],
      ['es-a', esA],
      ['es-b', esB],
    ] as const)('accepts a token naming kid %s signed by its key', async (kid, signer) => {
      await expectClaimsOf(app, signToken(signer, { kid }));
    });

    it.each([
      ['hs-a', hsB],
      ['es-a', esB],
      ['es-b', esA],
    ] as const)(
      'refuses a token naming kid %s signed by another configured key: bad_signature',
      async (kid, signer) => {
        expectRefused(await tokenSent(app, signToken(signer, { kid })), 'bad_signature');
      },
    );

    it('refuses a token naming a kid no key has: unknown_key', async () => {
      expectRefused(await tokenSent(app, signToken(hsA, { kid: 'hs-c' })), 'unknown_key');
      expectRefused(await tokenSent(app, signToken(esA, { kid: 'es-c' })), 'unknown_key');
    });

    it("looks the kid up among the keys of the token's alg only: unknown_key", async () => {
      expectRefused(await tokenSent(app, signToken(esA, { kid: 'hs-a' })), 'unknown_key');
    });

    it('refuses a token without a kid when every key of its alg has one: unknown_key', async () => {
      expectRefused(await tokenSent(app, signToken(hsA)), 'unknown_key');
      expectRefused(await tokenSent(app, signToken(esA)), 'unknown_key');
    });

    it('refuses a token whose alg no key has: unsupported_algorithm', async () => {
      for (const alg of ['HS384', 'RS256', 'ES384', 'EdDSA'] as const) {
        const token = signToken(SIGNERS[alg], { kid: alg.startsWith('HS') ? 'hs-a' : 'es-a' });
        expectRefused(await tokenSent(app, token), 'unsupported_algorithm');
      }
    });
  });

  describe('a key without a kid beside keys with one', () => {
    let app: TestApp;
    beforeAll(async () => {
      const keys: ApproovKeyOptions[] = [
        { alg: 'HS256', key: SECRET },
        { kid: 'es-a', alg: 'ES256', key: keyIn('public KeyObject', esA) },
      ];
      app = await startApp(adapter, ApproovModule.forRoot({ keys }));
    });
    afterAll(() => app.close());

    it('serves the tokens of its alg whatever kid they name', async () => {
      await expectClaimsOf(app, mint());
      await expectClaimsOf(app, signToken(accountSecret, { kid: 'retired' }));
    });

    it('refuses a token it does not verify: unknown_key when it names a kid', async () => {
      const forged: Signer = { alg: 'HS256', secret: OTHER_SECRET };
      expectRefused(await tokenSent(app, signToken(forged, { kid: 'retired' })), 'unknown_key');
      expectRefused(await tokenSent(app, signToken(forged)), 'bad_signature');
    });

    it('does not serve another alg', async () => {
      expectRefused(await tokenSent(app, signToken(esA)), 'unknown_key');
      await expectClaimsOf(app, signToken(esA, { kid: 'es-a' }));
    });
  });

  describe('rotating the account secret', () => {
    it('accepts tokens of both secrets while they overlap, and of the new one only after', async () => {
      await TestApp.run(
        adapter,
        appWith(ApproovModule.forRoot({ secret: SECRET })),
        async (app) => {
          const keys = app.app.get(ApproovKeys);
          const oldToken = mint({ claims: { did: 'old' } });
          const newToken = mint({ secret: NEW_SECRET, claims: { did: 'new' } });
          await expectClaimsOf(app, oldToken);
          expectRefused(await tokenSent(app, newToken), 'bad_signature');

          // The new secret is added to `keys` beside the old one, and deployed, before it changes
          // in Approov: tokens of either are accepted.
          keys.replace([
            { alg: 'HS256', key: SECRET },
            { alg: 'HS256', key: NEW_SECRET },
          ]);
          expect(keys.list()).toStrictEqual([
            { kid: undefined, alg: 'HS256', source: 'configured' },
            { kid: undefined, alg: 'HS256', source: 'configured' },
          ]);
          await expectClaimsOf(app, oldToken);
          await expectClaimsOf(app, mint());
          await expectClaimsOf(app, newToken);

          // Once the secret has changed in Approov and the last tokens of the old one have
          // expired, the old secret is removed: its tokens are refused, even one accepted before.
          keys.replace([{ alg: 'HS256', key: NEW_SECRET }]);
          expectRefused(await tokenSent(app, oldToken), 'bad_signature');
          expectRefused(await tokenSent(app, mint()), 'bad_signature');
          await expectClaimsOf(app, newToken);
          await expectClaimsOf(app, mint({ secret: NEW_SECRET }));
        },
      );
    });
  });

  describe('ApproovKeys.replace', () => {
    let app: TestApp;
    let keys: ApproovKeys;
    beforeAll(async () => {
      app = await startApp(adapter, ApproovModule.forRoot({ secret: SECRET }));
      keys = app.app.get(ApproovKeys);
    });
    afterAll(() => app.close());

    it.each(BAD_KEY_OPTIONS)(
      'refuses %s, naming it, and keeps the keys in use',
      async (_, list, option, problem) => {
        const accepted = mint();
        await expectClaimsOf(app, accepted);
        const error = configErrorOf(() => keys.replace(list as ApproovKeyOptions[]));
        expectNamed(error, option, problem, keysOf(list));
        expect(keys.list()).toStrictEqual([{ kid: undefined, alg: 'HS256', source: 'configured' }]);
        await expectClaimsOf(app, accepted);
        await expectClaimsOf(app, mint());
        // A refused list is not installed in part: its good keys are not in use either.
        expectRefused(await tokenSent(app, mint({ secret: OTHER_SECRET })), 'bad_signature');
        expectRefused(await tokenSent(app, signToken(hsA)), 'bad_signature');
      },
    );
  });

  describe('ApproovKeys.list', () => {
    it('describes each key in use by kid, alg and source, without its material', async () => {
      await TestApp.run(
        adapter,
        appWith(ApproovModule.forRoot({ secret: SECRET })),
        async (app) => {
          const keys = app.app.get(ApproovKeys);
          expect(keys.list()).toStrictEqual([
            { kid: undefined, alg: 'HS256', source: 'configured' },
          ]);
          const replacement: ApproovKeyOptions[] = [
            { kid: 'hs-a', alg: 'HS256', key: hsA.secret },
            { alg: 'HS256', key: SECRET },
            { kid: 'es-a', alg: 'ES256', key: keyIn('JWK object', esA) },
            { alg: 'EdDSA', key: keyIn('public KeyObject', SIGNERS.EdDSA) },
          ];
          keys.replace(replacement);
          const listed = keys.list();
          expect(listed).toStrictEqual([
            { kid: 'hs-a', alg: 'HS256', source: 'configured' },
            { kid: undefined, alg: 'HS256', source: 'configured' },
            { kid: 'es-a', alg: 'ES256', source: 'configured' },
            { kid: undefined, alg: 'EdDSA', source: 'configured' },
          ]);
          const text = JSON.stringify(listed);
          for (const fragment of keysOf(replacement).flatMap(materialOf)) {
            expect(text).not.toContain(fragment);
          }
          await expectClaimsOf(app, signToken(hsA, { kid: 'hs-a' }));
          await expectClaimsOf(app, signToken(esA, { kid: 'es-a' }));
          await expectClaimsOf(app, signToken(SIGNERS.EdDSA));
        },
      );
    });
  });

  describe('keys from a forRootAsync factory', () => {
    /** ConfigModule with the keys as the environment would give them, without touching process.env. */
    const configModule = ConfigModule.forRoot({
      ignoreEnvFile: true,
      ignoreEnvVars: true,
      load: [
        () => ({
          APPROOV_BASE64_SECRET: SECRET,
          APPROOV_KEYSET_KID: 'keyset-1',
          APPROOV_KEYSET_PUBLIC_KEY: keyIn('PEM', esA),
        }),
      ],
    });

    it('verifies tokens with the keys a factory reads from ConfigService', async () => {
      const approov = ApproovModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        useFactory: (config: ConfigService): ApproovModuleOptions => ({
          keys: [
            { alg: 'HS256', key: config.getOrThrow<string>('APPROOV_BASE64_SECRET') },
            {
              kid: config.getOrThrow<string>('APPROOV_KEYSET_KID'),
              alg: 'ES256',
              key: config.getOrThrow<string>('APPROOV_KEYSET_PUBLIC_KEY'),
            },
          ],
        }),
      });
      await TestApp.run(adapter, appWith(approov, [configModule]), async (app) => {
        await expectClaimsOf(app, mint());
        await expectClaimsOf(app, signToken(esA, { kid: 'keyset-1' }));
        expectRefused(await tokenSent(app, mint({ secret: OTHER_SECRET })), 'bad_signature');
        expectRefused(await tokenSent(app, signToken(esB, { kid: 'keyset-1' })), 'bad_signature');
      });
    });
  });

  describe.each([
    ['forRoot', (options: unknown) => ApproovModule.forRoot(options as ApproovModuleOptions)],
    [
      'forRootAsync',
      (options: unknown) =>
        ApproovModule.forRootAsync({
          useFactory: () => Promise.resolve(options as ApproovModuleOptions),
        }),
    ],
  ])('bad keys given to %s', (_, approovWith) => {
    it.each(BAD_KEY_OPTIONS)('stop the app at startup: %s', async (_, list, option, problem) => {
      const error = await startupErrorOf(adapter, approovWith({ keys: list }));
      expectNamed(error, option, problem, keysOf(list));
    });

    it('stop the app when given with secret', async () => {
      const error = await startupErrorOf(
        adapter,
        approovWith({ secret: SECRET, keys: [{ alg: 'HS256', key: NEW_SECRET }] }),
      );
      expectNamed(error, 'secret', 'is given with "keys"', [SECRET, NEW_SECRET]);
    });
  });

  describe.each(VECTOR_SETS)(
    "Approov's published vectors (%s), the secret given as keys",
    (_, secret, requests) => {
      let bySecret: TestApp;
      let byKeys: TestApp;
      beforeAll(async () => {
        bySecret = await startApp(adapter, ApproovModule.forRoot({ secret }));
        byKeys = await startApp(
          adapter,
          ApproovModule.forRoot({ keys: [{ alg: 'HS256', key: secret }] }),
        );
      });
      afterAll(async () => {
        await bySecret.close();
        await byKeys.close();
      });

      it.each(requests)(
        '$name on /$route answers $expect, as with secret',
        async ({ name, route, expect: status, headers }) => {
          jest.spyOn(Date, 'now').mockReturnValue(FROZEN_NOW_MS);
          // The refusal's whole log line (reason and details) must be the one `secret` logs.
          await bySecret.get(`/${route}`, headers);
          const logged = [...logs.lines];
          const response = await byKeys.get(`/${route}`, headers);
          if (status === 200) {
            expectAccepted(response, route);
          } else {
            expectRefused(response, VECTOR_REASONS[name]);
            expect(logs.lines).toEqual(logged);
          }
        },
      );
    },
  );
});
