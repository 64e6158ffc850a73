/**
 * What JWT attack tools send, through a real app on both adapters. Each case: 401 with `{}`, the
 * handler not run, one warning, no token logged; then a valid request, to show the server still
 * answers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { ApproovFailureReason } from 'nestjs-approov';
import { approovBindingHash } from 'nestjs-approov/testing';
import {
  ADAPTERS,
  expectAccepted,
  expectRefused,
  type Headers,
  type TestApp,
} from '../support/test-app.js';
import { header, mint, SECRET } from '../support/tokens.js';
import { b64url, forge, future } from './forge.js';
import { startTargetApp } from './target-app.js';

interface Attack {
  name: string;
  headers: Headers;
  /** Default `/target`. */
  path?: string;
  /** The reason the guard must name; any reason when absent. */
  reason?: ApproovFailureReason;
}

const AUTHORIZATION = 'Bearer user-session';
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const attacker = randomBytes(64);
const valid = mint();
const [validHeader, validPayload, validSignature] = valid.split('.');
const withToken = (token: string, reason?: ApproovFailureReason, name = token.slice(0, 40)) => ({
  name,
  headers: header(token),
  reason,
});

/** A listener that attacks point jku and x5u at: it must never see the app connect. */
let listener: Server;
let listenerConnections = 0;
let listenerUrl = 'http://127.0.0.1:9';

const algorithmAttacks = (): Attack[] => [
  ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => [
    withToken(
      `${forge({ header: { alg } }).split('.').slice(0, 2).join('.')}.`,
      'malformed_token',
      `alg ${alg}, no signature`,
    ),
    withToken(forge({ header: { alg } }), 'unsupported_algorithm', `alg ${alg}, signed`),
  ]),
  withToken(
    forge({ header: { alg: 'HS384' }, hash: 'sha384' }),
    'unsupported_algorithm',
    'HS384 with the secret',
  ),
  withToken(
    forge({ header: { alg: 'HS512' }, hash: 'sha512' }),
    'unsupported_algorithm',
    'HS512 with the secret',
  ),
  ...['RS256', 'ES256', 'PS256', 'EdDSA'].map((alg) =>
    withToken(forge({ header: { alg } }), 'unsupported_algorithm', `${alg} with an HMAC signature`),
  ),
  withToken(forge({ header: { typ: 'JWT' } }), 'unsupported_algorithm', 'alg missing'),
  ...['', 'hs256', 'Hs256', ' HS256', 'HS256 ', 'HS 256'].map((alg) =>
    withToken(forge({ header: { alg } }), 'unsupported_algorithm', `alg ${JSON.stringify(alg)}`),
  ),
  ...[123, null, true, ['HS256'], { alg: 'HS256' }].map((alg) =>
    withToken(forge({ header: { alg } }), 'unsupported_algorithm', `alg ${JSON.stringify(alg)}`),
  ),
  withToken(
    forge({ header: '{"alg":"HS256","alg":"none"}' }),
    'unsupported_algorithm',
    'duplicate alg, last none',
  ),
];

const keyAttacks = (): Attack[] => [
  withToken(forge({ key: '' }), 'bad_signature', 'signed with an empty key'),
  withToken(forge({ key: SECRET }), 'bad_signature', 'signed with the undecoded base64 text'),
  ...['secret', 'password', '123456', 'approov', 'changeme', 'your-256-bit-secret'].map((key) =>
    withToken(forge({ key }), 'bad_signature', `signed with "${key}"`),
  ),
  withToken(
    forge({ header: { alg: 'HS256', jwk: { kty: 'oct', k: b64url(attacker) } }, key: attacker }),
    'bad_signature',
    'embedded jwk of the signing key',
  ),
  ...(['jku', 'x5u'] as const).map((parameter) => ({
    name: `${parameter} pointing at a listener`,
    get headers() {
      return header(
        forge({ header: { alg: 'HS256', [parameter]: `${listenerUrl}/keys` }, key: attacker }),
      );
    },
    reason: 'bad_signature' as const,
  })),
  withToken(
    forge({ header: { alg: 'HS256', x5c: [randomBytes(300).toString('base64')] }, key: attacker }),
    'bad_signature',
    'x5c with a made-up certificate',
  ),
  ...['../../../../etc/passwd', '/dev/null', '; rm -rf /', "' OR '1'='1", '$(id)', '\u0000'].map(
    (kid) =>
      withToken(
        forge({ header: { alg: 'HS256', kid }, key: kid === '/dev/null' ? '' : attacker }),
        // No configured key has the kid, and the secret (which has none) does not verify it.
        'unknown_key',
        `kid ${JSON.stringify(kid)}`,
      ),
  ),
];

const signatureAttacks = (): Attack[] => {
  // The last of 43 characters carries 2 bits: its neighbour decodes to the same 32 bytes.
  const last = validSignature.at(-1)!;
  const twin = BASE64URL_ALPHABET.charAt(BASE64URL_ALPHABET.indexOf(last) ^ 1);
  return [
    withToken(`${validHeader}.${validPayload}.`, 'malformed_token', 'empty signature'),
    withToken(`${validHeader}.${validPayload}.null`, 'bad_signature', 'signature "null"'),
    withToken(valid.slice(0, -1), 'bad_signature', 'signature truncated by one'),
    withToken(valid.slice(0, -10), 'bad_signature', 'signature truncated by ten'),
    withToken(`${valid}A`, 'bad_signature', 'signature extended by one'),
    withToken(`${valid}AAAA`, 'bad_signature', 'signature extended by four'),
    withToken(
      `${valid.slice(0, -1)}${twin}`,
      'bad_signature',
      'non-canonical signature, same bytes',
    ),
    withToken(
      `${b64url('{"alg":"ES256","typ":"JWT"}')}.${validPayload}.${b64url(Buffer.alloc(64))}`,
      'unsupported_algorithm',
      'ECDSA psychic signature (all zero)',
    ),
  ];
};

const structureAttacks = (): Attack[] => [
  withToken(`${validHeader}.${validPayload}`, 'malformed_token', '2 segments'),
  withToken(`${valid}.${validSignature}`, 'malformed_token', '4 segments'),
  withToken(`${valid}.a.b`, 'malformed_token', '5 segments'),
  withToken(`.${validPayload}.${validSignature}`, 'malformed_token', 'empty header'),
  withToken(`${validHeader}..${validSignature}`, 'malformed_token', 'empty payload'),
  withToken('..', 'malformed_token', 'only dots'),
  withToken(`${validHeader}=.${validPayload}.${validSignature}`, 'malformed_token', 'padding'),
  ...['+', '/', '*', 'é', '%'].map((char) =>
    withToken(
      `${validHeader}.${validPayload}${char}.${validSignature}`,
      'malformed_token',
      `"${char}" inside`,
    ),
  ),
  withToken(
    `${validHeader}. ${validPayload}.${validSignature}`,
    'malformed_token',
    'a space inside',
  ),
  withToken(
    `${validHeader}.${validPayload}\t.${validSignature}`,
    'malformed_token',
    'a tab inside',
  ),
  ...['not json', '"HS256"', '42', '[{"alg":"HS256"}]', 'null', '\ufeff{"alg":"HS256"}'].map(
    (text) =>
      withToken(forge({ header: text }), 'malformed_token', `header ${JSON.stringify(text)}`),
  ),
  ...['not json', '"text"', '42', `[{"exp":${future()}}]`, 'null', `\ufeff{"exp":${future()}}`].map(
    (text) =>
      withToken(forge({ payload: text }), 'malformed_token', `payload ${JSON.stringify(text)}`),
  ),
  withToken(
    forge({ header: `{"alg":"HS256","x":${'['.repeat(4000)}${']'.repeat(4000)}}`, key: attacker }),
    'bad_signature',
    'header nested 4,000 deep',
  ),
  withToken(
    `${validHeader}.${b64url(randomBytes(6000))}.${validSignature}`,
    'bad_signature',
    '8 KB token',
  ),
  withToken(
    `${validHeader}.${b64url(randomBytes(9000))}.${validSignature}`,
    'bad_signature',
    '12 KB token',
  ),
  withToken(
    forge({ header: { alg: 'HS256', crit: ['b64'], b64: false } }),
    'critical_header',
    'crit and b64 false',
  ),
  withToken(forge({ header: { alg: 'HS256', crit: ['exp'] } }), 'critical_header', 'crit'),
  withToken(
    forge({ header: { alg: 'HS256', b64: false } }),
    'malformed_token',
    'b64 false without crit',
  ),
  withToken(forge({ header: { alg: 'HS256', zip: 'DEF' } }), 'malformed_token', 'zip on a JWS'),
  withToken(forge({ header: { alg: 'HS256', enc: 'A256GCM' } }), 'malformed_token', 'enc of a JWE'),
];

const claimAttacks = (): Attack[] => [
  withToken(forge({ payload: {} }), 'missing_exp', 'no exp'),
  ...[String(future()), true, null, [future()], { exp: future() }].map((exp) =>
    withToken(forge({ payload: { exp } }), 'invalid_exp', `exp ${JSON.stringify(exp)}`),
  ),
  withToken(forge({ payload: { exp: 0 } }), 'expired', 'exp 0'),
  withToken(forge({ payload: { exp: -future() } }), 'expired', 'exp negative'),
  withToken(forge({ payload: '{"exp":1e999}' }), 'invalid_exp', 'exp 1e999 (Infinity)'),
  withToken(forge({ payload: `{"exp":1${'0'.repeat(400)}}` }), 'invalid_exp', 'exp of 401 digits'),
  withToken(
    forge({ payload: { exp: future(), nbf: future() } }),
    'not_yet_valid',
    'nbf in the future',
  ),
  withToken(
    forge({ payload: `{"exp":${future()},"exp":"soon"}` }),
    'invalid_exp',
    'duplicate exp, last bad',
  ),
  withToken(
    forge({ payload: `{"__proto__":{"exp":${future()}}}` }),
    'missing_exp',
    '__proto__ exp',
  ),
  withToken(
    forge({ payload: `{"constructor":{"prototype":{"exp":${future()}}}}` }),
    'missing_exp',
    'constructor.prototype exp',
  ),
  {
    name: '__proto__ pay',
    path: '/bound',
    headers: {
      ...header(
        forge({
          payload: `{"exp":${future()},"__proto__":{"pay":"${approovBindingHash([AUTHORIZATION])}"}}`,
        }),
      ),
      Authorization: AUTHORIZATION,
    },
    reason: 'missing_pay',
  },
];

const bound = (pay: unknown, headers: Headers = { Authorization: AUTHORIZATION }) =>
  ({ ...header(forge({ payload: { exp: future(), pay } })), ...headers }) as Headers;

const bindingAttacks = (): Attack[] => {
  const hash = approovBindingHash([AUTHORIZATION]);
  const attack = (name: string, headers: Headers, reason: ApproovFailureReason): Attack => ({
    name,
    path: '/bound',
    headers,
    reason,
  });
  return [
    ...[123, true, null, [hash], { hash }].map((pay) =>
      attack(`pay ${JSON.stringify(pay)}`, bound(pay), 'invalid_pay'),
    ),
    ...[
      ['base64url', Buffer.from(hash, 'base64').toString('base64url')],
      ['hex', Buffer.from(hash, 'base64').toString('hex')],
      ['unpadded', hash.replace(/=+$/, '')],
      ['lower-cased', hash.toLowerCase()],
      ['trailing space', `${hash} `],
      ['leading space', ` ${hash}`],
      ['of length 0', ''],
      ['of length 1', 'A'],
      ['of length 43', 'A'.repeat(43)],
      ['of length 45', 'A'.repeat(45)],
      ['of length 4096', 'A'.repeat(4096)],
      ['of 44 non-ASCII characters', 'é'.repeat(44)],
      ['with one non-ASCII character', `${hash.slice(0, 43)}Ł`],
      ['with an emoji', `${hash.slice(0, 42)}😀`],
    ].map(([name, pay]) => attack(`pay ${name}`, bound(pay), 'binding_mismatch')),
    attack(
      'the hash of the empty string with an empty header',
      bound(createHash('sha256').update('').digest('base64'), { Authorization: '' }),
      'missing_binding_header',
    ),
    ...['bearer user-session', 'Bearer  user-session', 'user-session', 'Bearer user-session.'].map(
      (value) =>
        attack(
          `Authorization ${JSON.stringify(value)}`,
          bound(hash, { Authorization: value }),
          'binding_mismatch',
        ),
    ),
    attack(
      'Authorization sent twice',
      bound(hash, { Authorization: [AUTHORIZATION, AUTHORIZATION] }),
      'duplicate_binding_header',
    ),
    attack(
      'Authorization comma-joined',
      bound(hash, { Authorization: `${AUTHORIZATION}, ${AUTHORIZATION}` }),
      'binding_mismatch',
    ),
    attack(
      'the value in a cookie',
      bound(hash, { Cookie: `authorization=${AUTHORIZATION}` }),
      'missing_binding_header',
    ),
    {
      name: 'the value in the query string',
      path: `/bound?authorization=${encodeURIComponent(AUTHORIZATION)}`,
      headers: bound(hash, {}),
      reason: 'missing_binding_header',
    },
  ];
};

const httpAttacks = (): Attack[] => [
  ...['Approov_Token', 'ApproovToken', 'X-Approov-Token', 'Approov-Tokens', 'Approov-Toke'].map(
    (name) => ({
      name: `header named ${name}`,
      headers: { [name]: valid },
      reason: 'missing_token' as const,
    }),
  ),
  {
    name: 'token twice, both valid',
    headers: { 'Approov-Token': [valid, mint()] },
    reason: 'duplicate_token',
  },
  withToken(`${valid}, ${mint()}`, 'malformed_token', 'two tokens comma-joined'),
  withToken(`Bearer ${valid}`, 'malformed_token', 'a Bearer prefix, none configured'),
  {
    name: 'token in Authorization only',
    headers: { Authorization: `Bearer ${valid}` },
    reason: 'missing_token',
  },
  {
    name: 'token in a cookie',
    headers: { Cookie: `Approov-Token=${valid}` },
    reason: 'missing_token',
  },
  {
    name: 'token in the query string',
    path: `/target?Approov-Token=${valid}`,
    headers: {},
    reason: 'missing_token',
  },
];

const CLASSES: [string, () => Attack[]][] = [
  ['algorithm', algorithmAttacks],
  ['key', keyAttacks],
  ['signature', signatureAttacks],
  ['structure and encoding', structureAttacks],
  ['claims', claimAttacks],
  ['binding', bindingAttacks],
  ['HTTP', httpAttacks],
];

beforeAll(async () => {
  listener = createServer((socket) => {
    listenerConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

describe.each(ADAPTERS)('attacks (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTargetApp(adapter);
  });
  afterAll(() => app.close());

  /** Sends the attack, checks the refusal, then that a good request still gets through. */
  async function expectAttackRefused({ path = '/target', headers, reason }: Attack) {
    expectRefused(await app.get(path, headers), reason);
    expectAccepted(await app.get('/target', header(mint())), 'target');
  }

  describe.each(CLASSES)('%s attacks', (_, attacks) => {
    it.each(attacks())('$name', expectAttackRefused);
  });

  it('refuses the binding value moved to the body', async () => {
    const token = forge({ payload: { exp: future(), pay: approovBindingHash([AUTHORIZATION]) } });
    const response = await app.post('/bound', { authorization: AUTHORIZATION }, header(token));
    expectRefused(response, 'missing_binding_header');
  });

  describe('with a frozen clock', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('refuses a token whose exp is exactly now', async () => {
      const exp = future();
      const token = forge({ payload: { exp } });
      jest.spyOn(Date, 'now').mockReturnValue(exp * 1000);
      expectRefused(await app.get('/target', header(token)), 'expired');
    });
  });

  it('never fetches a key from a URL in the header', async () => {
    const before = listenerConnections;
    for (const parameter of ['jku', 'x5u']) {
      const token = forge({
        header: { alg: 'HS256', [parameter]: `${listenerUrl}/keys` },
        key: attacker,
      });
      expectRefused(await app.get('/target', header(token)), 'bad_signature');
    }
    // Our own connection is accepted after any the app would have opened.
    const accepted = new Promise((resolve) => listener.once('connection', resolve));
    connect(Number(new URL(listenerUrl).port), '127.0.0.1').on('error', () => undefined);
    await accepted;
    expect(listenerConnections - before).toBe(1);
  });

  it('refuses any one changed character, in any segment', async () => {
    for (let index = 0; index < valid.length; index++) {
      if (valid[index] === '.') continue;
      const replacement = BASE64URL_ALPHABET[(BASE64URL_ALPHABET.indexOf(valid[index]) + 17) % 64];
      const mutated = `${valid.slice(0, index)}${replacement}${valid.slice(index + 1)}`;
      expectRefused(await app.get('/target', header(mutated)));
    }
  });

  it("answers oversized headers with Node's 431, and stays up", async () => {
    const response = await app.get('/target', header(`${valid}${'A'.repeat(20_000)}`));
    expect(response.status).toBe(431);
    expectAccepted(await app.get('/target', header(mint())), 'target');
  });

  it('still accepts a valid token after the whole attack run', async () => {
    expectAccepted(await app.get('/target', header(valid)), 'target');
    const token = mint({ bind: [AUTHORIZATION] });
    expectAccepted(
      await app.get('/bound', { ...header(token), Authorization: AUTHORIZATION }),
      'bound',
    );
  });
});
