import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  createHmac,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { keyOf, setOf } from '../../test/support/keys.js';
import { generateApproovKeyPair, mintApproovToken } from '../testing/index.js';
import { checkJws } from './jws.js';
import type { TokenKeySet } from './key-set.js';
import { ApproovTokenVerifier, type ClaimsSink } from './token-verifier.js';

const NOW = 1_800_000_000;

const verifierOf = (keys: TokenKeySet) =>
  new ApproovTokenVerifier({ keys, clockToleranceSeconds: 0, cacheSize: 100 });

const segment = (text: string | Buffer) => Buffer.from(text).toString('base64url');

/** A compact JWS of the exact header and payload texts, signed HS256 with the raw `key` bytes. */
function hs256Jws(header: string, payload: string, key: Buffer): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/**
 * RFC 7515 appendix A, as printed there: the compact serializations and the keys' public members
 * (A.1's `k` is the secret itself).
 */
const RFC7515 = {
  /** The payload of A.1 to A.3, with the RFC's CRLF line breaks. */
  payload: '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
  exp: 1_300_819_380,
  A1: {
    token:
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
      '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
      '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    jwk: {
      kty: 'oct',
      k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
    },
  },
  A2: {
    token:
      'eyJhbGciOiJSUzI1NiJ9' +
      '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
      '.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5' +
      'jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L0' +
      '7Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipU' +
      'TI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw',
    jwk: {
      kty: 'RSA',
      n:
        'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4Q' +
        'lL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYU' +
        'sLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmou' +
        'dF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
      e: 'AQAB',
    },
  },
  A3: {
    token:
      'eyJhbGciOiJFUzI1NiJ9' +
      '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
      '.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q',
    jwk: {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
  },
  A4: {
    token:
      'eyJhbGciOiJFUzUxMiJ9' +
      '.UGF5bG9hZA' +
      '.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwF' +
      'KdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn',
    jwk: {
      kty: 'EC',
      crv: 'P-521',
      x: 'AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk',
      y: 'ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2',
    },
  },
} as const;

/** The RFC's keys as the options would take them: A.1's secret as its base64url `k` text. */
const RFC_KEYS = {
  A1: keyOf('HS256', RFC7515.A1.jwk.k),
  A2: keyOf('RS256', RFC7515.A2.jwk),
  A3: keyOf('ES256', RFC7515.A3.jwk),
  A4: keyOf('ES512', RFC7515.A4.jwk),
};
const RFC_CASES = [
  ['A.1 (HS256)', RFC7515.A1.token, RFC_KEYS.A1],
  ['A.2 (RS256)', RFC7515.A2.token, RFC_KEYS.A2],
  ['A.3 (ES256)', RFC7515.A3.token, RFC_KEYS.A3],
  ['A.4 (ES512)', RFC7515.A4.token, RFC_KEYS.A4],
] as const;

describe('checkJws: RFC 7515 appendix A', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads the vectors as the RFC prints them', () => {
    const [header, payload] = RFC7515.A1.token.split('.');
    expect(Buffer.from(header, 'base64url').toString()).toBe('{"typ":"JWT",\r\n "alg":"HS256"}');
    expect(Buffer.from(payload, 'base64url').toString()).toBe(RFC7515.payload);
    expect(RFC7515.A2.token.split('.')[1]).toBe(payload);
    expect(RFC7515.A3.token.split('.')[1]).toBe(payload);
    expect(Buffer.from(RFC7515.A4.token.split('.')[1], 'base64url').toString()).toBe('Payload');
    expect(
      createPublicKey({ key: RFC7515.A2.jwk, format: 'jwk' }).asymmetricKeyDetails,
    ).toMatchObject({ modulusLength: 2048 });
  });

  it.each(RFC_CASES)('verifies %s with its key, and with no other', (_, token, key) => {
    const everyKey = setOf(...Object.values(RFC_KEYS));
    expect(checkJws(token, setOf(key))).toBe(key);
    expect(checkJws(token, everyKey)).toBe(key);
    const others = Object.values(RFC_KEYS).filter((other) => other !== key);
    expect(checkJws(token, setOf(...others))).toBe('unsupported_algorithm');
  });

  it.each(RFC_CASES)('refuses %s with one payload character changed', (_, token, key) => {
    const [header, payload, signature] = token.split('.');
    const changed = `${payload.slice(0, 3)}${payload[3] === 'A' ? 'B' : 'A'}${payload.slice(4)}`;
    expect(checkJws(`${header}.${changed}.${signature}`, setOf(key))).toBe('bad_signature');
  });

  it('takes the A.1 secret as a KeyObject made from its JWK too', () => {
    const key = keyOf('HS256', createSecretKey(Buffer.from(RFC7515.A1.jwk.k, 'base64url')));
    expect(checkJws(RFC7515.A1.token, setOf(key))).toBe(key);
  });

  it.each(RFC_CASES.slice(0, 3))(
    'accepts %s through ApproovTokenVerifier.check before its exp, and refuses it as expired from then on',
    (_, token, key) => {
      const verifier = verifierOf(setOf(key));
      const clock = jest.spyOn(Date, 'now').mockReturnValue((RFC7515.exp - 1) * 1000);
      const sink: ClaimsSink = {};
      expect(verifier.check(token, sink)).toBeUndefined();
      expect(sink.claims).toEqual({
        iss: 'joe',
        exp: RFC7515.exp,
        'http://example.com/is_root': true,
      });
      clock.mockReturnValue(RFC7515.exp * 1000);
      const expired: ClaimsSink = {};
      expect(verifier.check(token, expired)).toBe('expired');
      expect(expired.claims).toEqual(sink.claims);
      clock.mockReturnValue(Date.UTC(2030, 0));
      expect(verifier.check(token, {})).toBe('expired');
    },
  );

  it('refuses A.4 through ApproovTokenVerifier.check: its payload is the text "Payload", not claims', () => {
    const verifier = verifierOf(setOf(RFC_KEYS.A4));
    jest.spyOn(Date, 'now').mockReturnValue((RFC7515.exp - 1) * 1000);
    const sink: ClaimsSink = {};
    expect(verifier.check(RFC7515.A4.token, sink)).toBe('malformed_token');
    expect(sink.claims).toBeUndefined();
  });
});

describe('checkJws: algorithm confusion', () => {
  const rsa = generateApproovKeyPair('RS256');
  const ec = generateApproovKeyPair('ES256');
  const accountSecret = keyOf('HS256', randomBytes(64).toString('base64'));

  /** Each way the public key can be configured, and the bytes an attacker would HMAC with. */
  const forms = (publicKey: KeyObject): [string, unknown, Buffer][] => {
    const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const jwkText = JSON.stringify(publicKey.export({ format: 'jwk' }));
    return [
      ['PEM text', pem, Buffer.from(pem)],
      ['PEM text without its last line break', pem, Buffer.from(pem.trimEnd())],
      ['DER bytes', publicKey, publicKey.export({ format: 'der', type: 'spki' })],
      ['JWK JSON text', jwkText, Buffer.from(jwkText)],
    ];
  };

  describe.each([
    ['RS256', rsa.publicKey],
    ['ES256', ec.publicKey],
  ] as const)('with an %s public key', (alg, publicKey) => {
    it.each(forms(publicKey))(
      'refuses an HS256 token keyed with the public key as %s',
      (_, configured, hmacKey) => {
        const publicOnly = keyOf(alg, configured);
        const forged = mintApproovToken({
          key: { alg: 'HS256', key: createSecretKey(hmacKey) },
          now: NOW * 1000,
        });
        const onlyPublic = setOf(publicOnly);
        const withSecret = setOf(accountSecret, publicOnly);
        expect(checkJws(forged, onlyPublic)).toBe('unsupported_algorithm');
        expect(checkJws(forged, withSecret)).toBe('bad_signature');
        expect(verifierOf(onlyPublic).check(forged, {}, NOW)).toBe('unsupported_algorithm');
        expect(verifierOf(withSecret).check(forged, {}, NOW)).toBe('bad_signature');
      },
    );

    it("refuses an HS256 token naming the public key's kid", () => {
      const named = keyOf(alg, publicKey, 'key-1');
      const pem = publicKey.export({ format: 'pem', type: 'spki' });
      const forged = mintApproovToken({
        key: { alg: 'HS256', key: createSecretKey(Buffer.from(pem)), kid: 'key-1' },
        now: NOW * 1000,
      });
      expect(checkJws(forged, setOf(named))).toBe('unsupported_algorithm');
      expect(checkJws(forged, setOf(accountSecret, named))).toBe('unknown_key');
    });
  });
});

describe('checkJws: keys the token names, embeds or points to', () => {
  const pairs = {
    RS256: generateApproovKeyPair('RS256'),
    ES256: generateApproovKeyPair('ES256'),
    EdDSA: generateApproovKeyPair('EdDSA'),
  };
  const attackers = {
    RS256: generateApproovKeyPair('RS256'),
    ES256: generateApproovKeyPair('ES256'),
    EdDSA: generateApproovKeyPair('EdDSA'),
  };
  const secret = randomBytes(64).toString('base64');
  const attackerSecret = randomBytes(64).toString('base64');
  const keys = {
    HS256: keyOf('HS256', secret, 'kid-HS256'),
    RS256: keyOf('RS256', pairs.RS256.publicKey, 'kid-RS256'),
    ES256: keyOf('ES256', pairs.ES256.publicKey, 'kid-ES256'),
    EdDSA: keyOf('EdDSA', pairs.EdDSA.publicKey, 'kid-EdDSA'),
  };
  const set = setOf(...Object.values(keys));
  const signing = {
    HS256: [secret, attackerSecret],
    RS256: [pairs.RS256.privateKey, attackers.RS256.privateKey],
    ES256: [pairs.ES256.privateKey, attackers.ES256.privateKey],
    EdDSA: [pairs.EdDSA.privateKey, attackers.EdDSA.privateKey],
  } as const;
  const mint = (alg: keyof typeof keys, key: KeyObject | string, kid?: string, header?: object) =>
    mintApproovToken({
      key: { alg, key, kid },
      now: NOW * 1000,
      ...(header && { header: { alg, typ: 'JWT', kid, ...header } }),
    });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each(Object.keys(keys) as (keyof typeof keys)[])(
    'verifies %s tokens naming the key, and refuses those signed by an attacker key with its kid',
    (alg) => {
      const [good, attacker] = signing[alg];
      expect(checkJws(mint(alg, good, `kid-${alg}`), set)).toBe(keys[alg]);
      expect(checkJws(mint(alg, attacker, `kid-${alg}`), set)).toBe('bad_signature');
      expect(checkJws(mint(alg, good, 'unknown'), set)).toBe('unknown_key');
      expect(checkJws(mint(alg, attacker, 'unknown'), set)).toBe('unknown_key');
      expect(checkJws(mint(alg, good), set)).toBe('unknown_key');
      const otherAlg = alg === 'ES256' ? 'RS256' : 'ES256';
      expect(checkJws(mint(alg, good, `kid-${otherAlg}`), set)).toBe('unknown_key');
    },
  );

  it('never uses a jwk, jku, x5u or x5c from the header, and fetches nothing', () => {
    const fetch = jest.spyOn(globalThis, 'fetch');
    const attacker = attackers.ES256;
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    const der = attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const url = 'https://attacker.example/keys.json';
    const headers = [
      { jwk },
      { jku: url },
      { x5u: url },
      { x5c: [der] },
      { jwk, jku: url, x5c: [der] },
    ];
    const withKidless = setOf(keys.ES256, keyOf('ES256', pairs.ES256.publicKey));
    for (const header of headers) {
      expect(checkJws(mint('ES256', attacker.privateKey, 'kid-ES256', header), set)).toBe(
        'bad_signature',
      );
      expect(checkJws(mint('ES256', attacker.privateKey, undefined, header), set)).toBe(
        'unknown_key',
      );
      expect(checkJws(mint('ES256', attacker.privateKey, undefined, header), withKidless)).toBe(
        'bad_signature',
      );
      expect(checkJws(mint('ES256', pairs.ES256.privateKey, 'kid-ES256', header), set)).toBe(
        keys.ES256,
      );
    }
    const octJwk = { kty: 'oct', k: Buffer.from(attackerSecret, 'base64').toString('base64url') };
    expect(checkJws(mint('HS256', attackerSecret, 'kid-HS256', { jwk: octJwk }), set)).toBe(
      'bad_signature',
    );
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe('checkJws: the header', () => {
  const secretBytes = randomBytes(64);
  const account = keyOf('HS256', secretBytes.toString('base64'));
  const set = setOf(account);
  const payload = JSON.stringify({ exp: NOW + 60 });
  /** Signed with the configured secret: only the header can make these fail. */
  const signed = (header: string) => hs256Jws(header, payload, secretBytes);

  it('verifies a sound header, in any member order, with other members ignored', () => {
    for (const header of [
      '{"alg":"HS256","typ":"JWT"}',
      '{"typ":"JWT","alg":"HS256"}',
      '{"alg":"HS256"}',
      '{ "alg" : "HS256" , "cty" : "JWT", "x": {"y": [1]} }',
      '{"alg":"HS256","kid":"any kid"}',
    ]) {
      expect(checkJws(signed(header), set)).toBe(account);
    }
  });

  it.each([
    ['alg none, signed', '{"alg":"none"}', 'unsupported_algorithm'],
    ['no alg', '{"typ":"JWT"}', 'unsupported_algorithm'],
    ['alg a number', '{"alg":256}', 'unsupported_algorithm'],
    ['alg null', '{"alg":null}', 'unsupported_algorithm'],
    ['alg a list', '{"alg":["HS256"]}', 'unsupported_algorithm'],
    ['alg an object', '{"alg":{"name":"HS256"}}', 'unsupported_algorithm'],
    ['alg in lower case', '{"alg":"hs256"}', 'unsupported_algorithm'],
    ['alg with a space', '{"alg":"HS256 "}', 'unsupported_algorithm'],
    ['alg only in __proto__', '{"__proto__":{"alg":"HS256"}}', 'unsupported_algorithm'],
    ['a last duplicate alg none', '{"alg":"HS256","alg":"none"}', 'unsupported_algorithm'],
    ['kid a number', '{"alg":"HS256","kid":1}', 'malformed_token'],
    ['kid null', '{"alg":"HS256","kid":null}', 'malformed_token'],
    ['kid a list', '{"alg":"HS256","kid":["a"]}', 'malformed_token'],
    ['kid an object', '{"alg":"HS256","kid":{}}', 'malformed_token'],
    ['crit', '{"alg":"HS256","crit":["exp"],"exp":1}', 'critical_header'],
    ['an empty crit', '{"alg":"HS256","crit":[]}', 'critical_header'],
    ['b64', '{"alg":"HS256","b64":false}', 'malformed_token'],
    ['zip', '{"alg":"HS256","zip":"DEF"}', 'malformed_token'],
    ['enc', '{"alg":"HS256","enc":"A128GCM"}', 'malformed_token'],
    ['a list header', '["alg","HS256"]', 'malformed_token'],
    ['a null header', 'null', 'malformed_token'],
    ['a text header', '"HS256"', 'malformed_token'],
    ['a header that is not JSON', '{alg:HS256}', 'malformed_token'],
    ['a header with trailing text', '{"alg":"HS256"}x', 'malformed_token'],
    ['a header with a byte-order mark', '\ufeff{"alg":"HS256"}', 'malformed_token'],
  ])('refuses a header with %s, though the signature is sound', (_, header, failure) => {
    expect(checkJws(signed(header), set)).toBe(failure);
  });

  it('reads the last of duplicate members, as RFC 7515 section 4 allows', () => {
    expect(checkJws(signed('{"alg":"none","alg":"HS256"}'), set)).toBe(account);
  });

  it('refuses alg none without a signature as malformed', () => {
    const unsecured = `${segment('{"alg":"none"}')}.${segment(payload)}.`;
    expect(checkJws(unsecured, set)).toBe('malformed_token');
  });

  it("refuses Approov's own header when no HS256 key is configured", () => {
    const token = signed('{"alg":"HS256","typ":"JWT"}');
    expect(checkJws(token, setOf(keyOf('ES256', generateApproovKeyPair('ES256').publicKey)))).toBe(
      'unsupported_algorithm',
    );
  });

  it('refuses compact serializations of the wrong shape', () => {
    const token = signed('{"alg":"HS256"}');
    const [header, body, signature] = token.split('.');
    for (const malformed of [
      '',
      '.',
      '..',
      `${header}.${body}`,
      `${token}.`,
      `${token}.${signature}`,
      `.${body}.${signature}`,
      `${header}..${signature}`,
      `${header}.${body}.`,
      `${header}=.${body}.${signature}`,
      `${header}.${body}=.${signature}`,
      `${header}.${body}.${signature}=`,
      `${header}.${body}.+${signature.slice(1)}`,
      `${header}.${body}./${signature.slice(1)}`,
      ` ${token}`,
      `${token}\n`,
      `${header}.${body}.${signature.slice(0, 10)} ${signature.slice(10)}`,
    ]) {
      expect(checkJws(malformed, set)).toBe('malformed_token');
    }
  });
});

describe('checkJws: headers of verified tokens', () => {
  const { publicKey, privateKey } = generateApproovKeyPair('ES256');
  const attacker = generateApproovKeyPair('ES256');
  const mintWith = (key: KeyObject) =>
    mintApproovToken({ key: { alg: 'ES256', key, kid: 'es' }, now: NOW * 1000 });

  it('remembers the header of a verified token, parsed, and reuses it', () => {
    const keys = setOf(keyOf('ES256', publicKey, 'es'));
    const token = mintWith(privateKey);
    const headerSegment = token.split('.')[0];
    expect(keys.verifiedHeader(headerSegment)).toBeUndefined();
    expect(checkJws(token, keys)).toBe(keys.keys[0]);
    expect(keys.verifiedHeader(headerSegment)).toEqual({ alg: 'ES256', kid: 'es' });
    expect(checkJws(mintWith(privateKey), keys)).toBe(keys.keys[0]);
    expect(checkJws(mintWith(attacker.privateKey), keys)).toBe('bad_signature');
  });

  it('never remembers the header of a token that fails', () => {
    const keys = setOf(keyOf('ES256', publicKey, 'es'));
    const forged = mintWith(attacker.privateKey);
    expect(checkJws(forged, keys)).toBe('bad_signature');
    expect(keys.verifiedHeader(forged.split('.')[0])).toBeUndefined();
  });
});
