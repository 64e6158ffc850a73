import { describe, expect, it } from '@jest/globals';
import { generateApproovKeyPair, generateApproovSecret } from '../testing/index.js';
import { ApproovConfigError } from './config-error.js';
import { resolveKeys, resolveKeySources } from './key-options.js';

const secret = generateApproovSecret();
const ec = generateApproovKeyPair('ES256');
const rsa = generateApproovKeyPair('RS256');
const ecPrivatePem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const rsaPublicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;

/** The `ApproovConfigError` that `action` throws. */
function configErrorOf(action: () => unknown): ApproovConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ApproovConfigError) return error;
    throw error;
  }
  throw new Error('nothing was thrown');
}

/** Asserts that `message` quotes no 12 characters in a row of the key `text`. */
function expectNotQuoted(message: string, text: string): void {
  const body = text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const quoted = Array.from({ length: body.length - 11 }, (_, i) => body.slice(i, i + 12)).filter(
    (run) => message.includes(run),
  );
  expect(quoted).toEqual([]);
}

describe('resolveKeys', () => {
  it('parses keys of every kind, keeping their order, alg and kid', () => {
    const keys = resolveKeys([
      { alg: 'HS256', key: secret },
      { kid: 'rsa-1', alg: 'RS256', key: rsaPublicPem },
      { alg: 'ES256', key: { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1' } },
      { kid: 'ed-1', alg: 'EdDSA', key: generateApproovKeyPair('EdDSA').publicKey },
    ]);
    expect(keys.map(({ alg, kid }) => ({ alg, kid }))).toEqual([
      { alg: 'HS256', kid: undefined },
      { alg: 'RS256', kid: 'rsa-1' },
      { alg: 'ES256', kid: 'ec-1' },
      { alg: 'EdDSA', kid: 'ed-1' },
    ]);
  });

  it('names a bad key by its position and kid, and never quotes its material', () => {
    const error = configErrorOf(() =>
      resolveKeys([
        { kid: 'k1', alg: 'RS256', key: rsaPublicPem },
        { kid: 'k2', alg: 'ES256', key: ecPrivatePem },
      ]),
    );
    expect(error.option).toBe('keys[1] (kid "k2")');
    expect(error.message).toBe(
      'Invalid Approov configuration: "keys[1] (kid "k2")" is a private key: give the public key. ' +
        'Give each key as { kid?, alg, key }: the secret as printed by `approov secret -get base64` for HS256, a public key (PEM, JWK or KeyObject) for the others.',
    );
    expectNotQuoted(error.message, ecPrivatePem);
  });

  it.each([
    ['a secret given for RS256', { kid: 'k', alg: 'RS256', key: secret }, secret],
    ['a short secret', { kid: 'k', alg: 'HS256', key: secret.slice(0, 40) }, secret.slice(0, 40)],
    [
      'a truncated secret',
      { kid: 'k', alg: 'HS512', key: secret.slice(0, 85) },
      secret.slice(0, 85),
    ],
    [
      'a private JWK as JSON text',
      { kid: 'k', alg: 'ES256', key: JSON.stringify(ec.privateKey.export({ format: 'jwk' })) },
      ec.privateKey.export({ format: 'jwk' }).d!,
    ],
    ['a public PEM given for HS256', { kid: 'k', alg: 'HS256', key: rsaPublicPem }, rsaPublicPem],
  ])('refuses %s without quoting it', (_, entry, material) => {
    const error = configErrorOf(() => resolveKeys([entry]));
    expect(error.option).toBe('keys[0] (kid "k")');
    expectNotQuoted(error.message, material);
  });

  it.each([
    ['no kid', undefined, 'keys[0]'],
    ['an empty kid', '', 'keys[0]'],
    ['a kid that is not text', 42, 'keys[0]'],
    ['a kid with a control character', 'k\n1', 'keys[0]'],
    ['a kid of 65 characters', 'k'.repeat(65), 'keys[0]'],
    ['a kid of 64 characters', 'k'.repeat(64), `keys[0] (kid "${'k'.repeat(64)}")`],
  ])('names a bad key with %s by its position', (_, kid, option) => {
    expect(
      configErrorOf(() => resolveKeys([{ kid, alg: 'ES256', key: ecPrivatePem }])).option,
    ).toBe(option);
  });

  it('refuses a duplicate alg and kid, and a fourth key of one alg without a kid', () => {
    const duplicate = configErrorOf(() =>
      resolveKeys([
        { kid: 'a', alg: 'RS256', key: rsaPublicPem },
        { kid: 'a', alg: 'ES256', key: ec.publicKey },
        { kid: 'a', alg: 'RS256', key: rsa.publicKey },
      ]),
    );
    expect(duplicate.option).toBe('keys[2] (kid "a")');
    expect(duplicate.message).toContain('"keys[2] (kid "a")" has the same alg and kid as key 0.');
    const secrets = Array.from({ length: 4 }, () => ({
      alg: 'HS256',
      key: generateApproovSecret(),
    }));
    const fourth = configErrorOf(() => resolveKeys(secrets));
    expect(fourth.option).toBe('keys[3]');
    expect(fourth.message).toContain(
      '"keys[3]" is HS256 key number 4 without a kid; at most 3 are allowed.',
    );
    for (const { key } of secrets) expectNotQuoted(fourth.message, key);
  });

  it('refuses what is not a list, under the option name given', () => {
    for (const keys of [undefined, null, 'keys', { alg: 'HS256', key: secret }]) {
      const error = configErrorOf(() => resolveKeys(keys));
      expect(error.option).toBe('keys');
      expect(error.message).toContain('"keys" must be an array of keys.');
    }
    expect(configErrorOf(() => resolveKeys(secret, 'replace(keys)')).option).toBe('replace(keys)');
    expect(
      configErrorOf(() => resolveKeys([{ alg: 'none', key: secret }], 'replace(keys)')).option,
    ).toBe('replace(keys)[0]');
  });

  it('takes an empty list', () => {
    expect(resolveKeys([])).toEqual([]);
  });
});

describe('resolveKeySources', () => {
  it('makes the secret one HS256 key without a kid', () => {
    const { keys, jwks } = resolveKeySources({ secret });
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ alg: 'HS256', kid: undefined });
    expect(keys[0].key.export()).toEqual(Buffer.from(secret, 'base64'));
    expect(jwks).toBeUndefined();
  });

  it('refuses secret and keys together, without quoting the secret', () => {
    const error = configErrorOf(() =>
      resolveKeySources({ secret, keys: [{ alg: 'HS256', key: secret }] }),
    );
    expect(error.option).toBe('secret');
    expect(error.message).toContain('"secret" is given with "keys"');
    expectNotQuoted(error.message, secret);
  });

  it('refuses no source of keys at all, naming each option that gives keys', () => {
    for (const options of [{}, { secret: undefined, keys: undefined, jwksUrl: undefined }]) {
      const error = configErrorOf(() => resolveKeySources(options));
      expect(error.option).toBe('secret');
      expect(error.message).toBe(
        'Invalid Approov configuration: "secret" is missing. ' +
          'Get the account secret with `approov secret -get base64` (or `-get base64url`) and pass it exactly as printed. ' +
          'Or give keys, or jwksUrl: see docs/keys.md.',
      );
    }
  });

  it('refuses a bad secret under its own name, without quoting it', () => {
    // 40 characters decode to 30 bytes, short of 32 whatever the random secret: 50 would decode to
    // a valid 37-byte secret whenever the last character's spare bits happen to be zero.
    const truncated = secret.slice(0, 40);
    const error = configErrorOf(() => resolveKeySources({ secret: truncated }));
    expect(error.option).toBe('secret');
    expect(error.message).toContain('approov secret -get base64');
    expectNotQuoted(error.message, truncated);
  });

  it('refuses a public key given as the secret, under the name secret', () => {
    const spki = rsa.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const error = configErrorOf(() => resolveKeySources({ secret: spki }));
    expect(error.option).toBe('secret');
    expect(error.message).toContain('"secret" is a public key in DER; HS256 needs the secret.');
    expectNotQuoted(error.message, spki);
  });

  it('refuses empty keys, unless a jwksUrl gives them', () => {
    const error = configErrorOf(() => resolveKeySources({ keys: [] }));
    expect(error.option).toBe('keys');
    expect(error.message).toContain('"keys" is empty');
    expect(resolveKeySources({ keys: [], jwksUrl: 'https://keys.example/jwks.json' }).keys).toEqual(
      [],
    );
  });

  it('refuses a bad key in keys by its position and kid', () => {
    const error = configErrorOf(() =>
      resolveKeySources({
        keys: [
          { alg: 'HS256', key: secret },
          { kid: 'k2', alg: 'RS256', key: ecPrivatePem },
        ],
      }),
    );
    expect(error.option).toBe('keys[1] (kid "k2")');
    expectNotQuoted(error.message, ecPrivatePem);
    expectNotQuoted(error.message, secret);
  });

  it('takes jwksUrl alone, with keys, or with the secret', () => {
    expect(resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json' }).keys).toEqual([]);
    expect(
      resolveKeySources({
        jwksUrl: 'https://keys.example/jwks.json',
        keys: [{ kid: 'r', alg: 'RS256', key: rsaPublicPem }],
      }).keys.map(({ kid }) => kid),
    ).toEqual(['r']);
    expect(
      resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json', secret }).keys,
    ).toHaveLength(1);
  });

  it.each([
    'https://keys.example/jwks.json',
    'https://keys.example:8443/.well-known/jwks.json?v=1',
    'http://localhost/jwks.json',
    'http://localhost:8080/jwks.json',
    'http://127.0.0.1:3000/jwks.json',
    'http://[::1]:3000/jwks.json',
  ])('accepts the jwksUrl %s', (jwksUrl) => {
    expect(resolveKeySources({ jwksUrl }).jwks?.url.href).toBe(new URL(jwksUrl).href);
  });

  it.each([
    ['plain http to another host', 'http://keys.example/jwks.json'],
    ['plain http to a host named like localhost', 'http://localhost.keys.example/jwks.json'],
    ['plain http to another loopback address', 'http://127.0.0.2/jwks.json'],
    ['plain http to a private address', 'http://10.0.0.1/jwks.json'],
    ['another scheme', 'ftp://keys.example/jwks.json'],
    ['a file', 'file:///etc/jwks.json'],
    ['a relative URL', '/jwks.json'],
    ['not a URL', 'keys.example'],
    ['empty text', ''],
    ['a URL object', new URL('https://keys.example/jwks.json')],
    ['a number', 443],
  ])('refuses a jwksUrl that is %s', (_, jwksUrl) => {
    const error = configErrorOf(() => resolveKeySources({ jwksUrl }));
    expect(error.option).toBe('jwksUrl');
    expect(error.message).toContain(
      '"jwksUrl" must be an absolute https URL (http only on localhost)',
    );
  });

  it('applies the jwks defaults', () => {
    expect(resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json' }).jwks).toEqual({
      url: new URL('https://keys.example/jwks.json'),
      timeoutMs: 2000,
      maxBytes: 65_536,
      refreshIntervalMs: 300_000,
      cooldownMs: 30_000,
    });
  });

  const BOUNDS = [
    ['timeoutMs', 100, 60_000],
    ['maxBytes', 1024, 10_485_760],
    ['refreshIntervalSeconds', 10, 86_400],
    ['cooldownSeconds', 1, 3600],
  ] as const;

  it.each(BOUNDS)('takes jwks.%s from %d to %d', (name, min, max) => {
    const settingsOf = (value: number) =>
      resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json', jwks: { [name]: value } })
        .jwks!;
    const scale = name.endsWith('Seconds') ? 1000 : 1;
    const setting = {
      timeoutMs: 'timeoutMs',
      maxBytes: 'maxBytes',
      refreshIntervalSeconds: 'refreshIntervalMs',
      cooldownSeconds: 'cooldownMs',
    }[name] as 'timeoutMs' | 'maxBytes' | 'refreshIntervalMs' | 'cooldownMs';
    expect(settingsOf(min)[setting]).toBe(min * scale);
    expect(settingsOf(max)[setting]).toBe(max * scale);
  });

  it.each(BOUNDS)('refuses jwks.%s below %d, above %d, or not a whole number', (name, min, max) => {
    for (const value of [min - 1, max + 1, min + 0.5, String(min), NaN, Infinity, null]) {
      const error = configErrorOf(() =>
        resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json', jwks: { [name]: value } }),
      );
      expect(error.option).toBe(`jwks.${name}`);
      expect(error.message).toContain(
        `"jwks.${name}" must be a whole number from ${min} to ${max}`,
      );
    }
  });

  it('takes the default of a jwks option given as undefined only: null is refused', () => {
    const url = 'https://keys.example/jwks.json';
    expect(resolveKeySources({ jwksUrl: url, jwks: { cooldownSeconds: undefined } }).jwks).toEqual(
      resolveKeySources({ jwksUrl: url }).jwks,
    );
    const error = configErrorOf(() =>
      resolveKeySources({ jwksUrl: url, jwks: { cooldownSeconds: null } }),
    );
    expect(error.message).toBe(
      'Invalid Approov configuration: "jwks.cooldownSeconds" must be a whole number from 1 to 3600. It defaults to 30.',
    );
  });

  it('refuses an unknown jwks option, naming the known ones', () => {
    const error = configErrorOf(() =>
      resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json', jwks: { timeout: 500 } }),
    );
    expect(error.option).toBe('jwks.timeout');
    expect(error.message).toContain(
      '"jwks.timeout" is not an option. Known options: timeoutMs, maxBytes, refreshIntervalSeconds, cooldownSeconds.',
    );
  });

  it('refuses jwks that is not an object', () => {
    for (const jwks of [null, 5, 'fast']) {
      const error = configErrorOf(() =>
        resolveKeySources({ jwksUrl: 'https://keys.example/jwks.json', jwks }),
      );
      expect(error.option).toBe('jwks');
      expect(error.message).toContain('"jwks" must be an object');
    }
  });

  it('refuses jwks without jwksUrl', () => {
    const error = configErrorOf(() => resolveKeySources({ secret, jwks: { timeoutMs: 500 } }));
    expect(error.option).toBe('jwks');
    expect(error.message).toContain('"jwks" is given without "jwksUrl"');
  });
});
