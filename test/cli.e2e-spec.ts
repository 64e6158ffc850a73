/** The real CLI, `dist/esm/cli/main.js` as `npm run build` emits it, run as a child process. */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  type ApproovFailureReason,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
} from 'nestjs-approov';
import { generateApproovKeyPair, generateApproovSecret } from 'nestjs-approov/testing';
import {
  ADAPTERS,
  expectAccepted,
  expectRefused,
  type HttpVerb,
  ran,
  TestApp,
} from './support/test-app.js';
import { SECRET, vectors } from './support/tokens.js';

const CLI = fileURLToPath(new URL('../dist/esm/cli/main.js', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'approov-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs the CLI with `args`, without a secret in the environment unless `env` gives one. */
function cli(args: string[], { env = {}, cwd = folder }: { env?: object; cwd?: string } = {}) {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of ['APPROOV_BASE64_SECRET', 'APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY']) {
    if (!(name in env)) delete environment[name];
  }
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: environment,
    encoding: 'utf8',
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const mint = (...args: string[]) => cli(['token', '--secret', SECRET, ...args]).out.split('\n')[0];

describe('nestjs-approov CLI', () => {
  it('prints help, and exits 2 without a command or with an unknown one', () => {
    expect(cli([])).toMatchObject({ code: 2, out: expect.stringContaining('Commands:') });
    expect(cli(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('Commands:') });
    expect(cli(['mint'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('Unknown command'),
    });
    for (const command of ['token', 'check', 'hash', 'sign']) {
      expect(cli([command, '--help'])).toMatchObject({
        code: 0,
        out: expect.stringContaining(`Usage: nestjs-approov ${command}`),
      });
    }
  });

  it('mints a token and a curl line that sends it; check accepts it and shows its claims', () => {
    const { code, out } = cli([
      'token',
      '--secret',
      SECRET,
      '--claim',
      'did=device-1',
      '--claim',
      'n=5',
    ]);
    expect(code).toBe(0);
    const [token, curl] = out.split('\n');
    expect(curl).toBe(`curl -i http://localhost:8002/token-check -H 'Approov-Token: ${token}'`);
    const checked = cli(['check', token, '--secret', SECRET]);
    expect(checked.code).toBe(0);
    expect(checked.out).toContain('"did": "device-1"');
    expect(checked.out).toContain('"n": 5');
    expect(checked.out).toMatch(/expires in 4 min 5\d s/);
    expect(checked.out.trim().split('\n').at(-1)).toBe('valid');
  });

  it('says why a token is rejected, and exits 1', () => {
    const expired = cli(['check', mint('--expired'), '--secret', SECRET]);
    expect(expired.code).toBe(1);
    expect(expired.out).toMatch(/expired 1 min( \d s)? ago/);
    expect(expired.out).toContain('rejected: expired');
    const other = cli(['check', mint(), '--secret', generateApproovSecret()]);
    expect(other).toMatchObject({ code: 1, out: 'rejected: bad_signature\n' });
    expect(cli(['check', 'garbage', '--secret', SECRET])).toMatchObject({
      code: 1,
      out: 'rejected: malformed_token\n',
    });
    const noExp = cli(['check', mint('--claim', 'exp=null'), '--secret', SECRET]);
    expect(noExp).toMatchObject({ code: 1, out: expect.stringContaining('rejected: invalid_exp') });
  });

  it('binds to several values in order, and checks the binding', () => {
    const token = mint('--bind', 'Bearer myauth_token', '--bind', 'my-device-id');
    const bound = ['--bind', 'Bearer myauth_token', '--bind', 'my-device-id'];
    expect(cli(['check', token, '--secret', SECRET, ...bound]).code).toBe(0);
    const swapped = ['--bind', 'my-device-id', '--bind', 'Bearer myauth_token'];
    expect(cli(['check', token, '--secret', SECRET, ...swapped]).out).toContain(
      'rejected: binding_mismatch',
    );
    expect(cli(['check', mint(), '--secret', SECRET, '--bind', 'x']).out).toContain(
      'rejected: missing_pay',
    );
  });

  it("computes the pay claim of Approov's published vectors", () => {
    expect(cli(['hash', 'Bearer myauth_token', 'my-device-id'])).toMatchObject({
      code: 0,
      out: '71tnS3rSq2lanEWrKz4MoexiOMtv7w0fspfM8BAQKNU=\n',
    });
    expect(cli(['hash']).code).toBe(2);
  });

  it("checks Approov's published tokens like the guard", () => {
    const { quickstarts } = vectors;
    const secret = ['--secret', quickstarts.secret_base64];
    for (const vector of quickstarts.cases.filter((c) => c.token)) {
      const { code } = cli(['check', vector.token!, ...secret]);
      expect({ name: vector.name, code }).toEqual({
        name: vector.name,
        code: vector.expect === 200 ? 0 : 1,
      });
    }
  });

  it('reads the secret from the flag, the environment, then ./.env', () => {
    const token = mint();
    expect(cli(['check', token], { env: { APPROOV_BASE64_SECRET: SECRET } }).code).toBe(0);
    const withDotEnv = mkdtempSync(join(folder, 'dotenv-'));
    writeFileSync(join(withDotEnv, '.env'), `# comment\nAPPROOV_BASE64_SECRET="${SECRET}"\n`);
    expect(cli(['check', token], { cwd: withDotEnv }).code).toBe(0);
    const missing = cli(['check', token]);
    expect(missing).toMatchObject({ code: 2, err: expect.stringContaining('No secret') });
  });

  it('explains a bad secret or flag with exit code 2, without echoing the secret', () => {
    const short = SECRET.slice(0, 24);
    const bad = cli(['token', '--secret', short]);
    expect(bad).toMatchObject({
      code: 2,
      err: expect.stringContaining('"secret" decodes to 18 bytes'),
    });
    expect(bad.err).not.toContain(short);
    expect(cli(['token', '--secret', SECRET, '--ttl', 'soon'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--ttl wants a number'),
    });
    expect(cli(['token', '--bogus'])).toMatchObject({
      code: 2,
      err: expect.stringContaining("'--bogus'"),
    });
  });
});

/** Where a key pair of `alg` is written: the private key and the public key, as PEM and as JWK. */
interface KeyPairFiles {
  privatePem: string;
  privateJwk: string;
  publicPem: string;
  publicJwk: string;
  /** What only the private key holds: no output may contain it. */
  material: string[];
}

/** A new key pair of `alg` in files named after `name`. */
function keyPairFiles(alg: 'ES256' | 'ES384' | 'RS256' | 'EdDSA', name: string): KeyPairFiles {
  const { privateKey, publicKey } = generateApproovKeyPair(alg);
  const file = (suffix: string, text: string) => {
    const path = join(folder, `${name}.${suffix}`);
    writeFileSync(path, text);
    return path;
  };
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    privatePem: file('key.pem', pem),
    privateJwk: file('key.jwk', JSON.stringify(jwk)),
    publicPem: file('pub.pem', publicKey.export({ type: 'spki', format: 'pem' }) as string),
    publicJwk: file('pub.jwk', JSON.stringify(publicKey.export({ format: 'jwk' }))),
    material: [pem.split('\n')[1], jwk.d!],
  };
}

/** The JWS header of `token`. */
const headerOf = (token: string): unknown =>
  JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));

/** Runs `token` with `args` and returns the token, the first line it prints. */
function mintWith(args: string[]): string {
  const { code, out, err } = cli(['token', ...args]);
  expect({ code, err }).toEqual({ code: 0, err: '' });
  return out.split('\n')[0];
}

/** The last line `check` prints for `token` with `args`: `valid` or `rejected: <reason>`. */
function verdict(token: string, args: string[]): string | undefined {
  return cli(['check', token, ...args])
    .out.trim()
    .split('\n')
    .at(-1);
}

describe('nestjs-approov token and check with --key, --alg and --kid', () => {
  // Each test runs the CLI, a process of about a second, a few times.
  jest.setTimeout(60_000);

  it.each([
    // The alg comes from the key: the P-256 curve, Ed25519. An RSA key needs --alg.
    ['ES256', []],
    ['RS256', ['--alg', 'RS256']],
    ['EdDSA', []],
  ])(
    'mints %s tokens with a private key and a kid; check accepts them with the public key',
    (alg, algFlag) => {
      const keys = keyPairFiles(alg as 'ES256' | 'RS256' | 'EdDSA', `mint-${alg}`);
      const kid = ['--kid', 'key-1'];
      for (const privateKey of [keys.privatePem, keys.privateJwk]) {
        const token = mintWith(['--key', privateKey, ...algFlag, ...kid]);
        expect(headerOf(token)).toEqual({ alg, typ: 'JWT', kid: 'key-1' });
        for (const publicKey of [keys.publicPem, keys.publicJwk]) {
          const checked = cli(['check', token, '--key', publicKey, ...algFlag, ...kid]);
          expect(checked).toMatchObject({ code: 0, out: expect.stringMatching(/\nvalid\n$/) });
        }
      }
    },
  );

  it('rejects a token of another key with the same kid, and one that names an unknown kid', () => {
    const keys = keyPairFiles('ES256', 'trusted');
    const attacker = keyPairFiles('ES256', 'attacker');
    const check = ['--key', keys.publicPem, '--kid', 'key-1'];
    const forged = cli([
      'check',
      mintWith(['--key', attacker.privatePem, '--kid', 'key-1']),
      ...check,
    ]);
    expect(forged).toMatchObject({ code: 1, out: 'rejected: bad_signature\n' });
    const unknown = cli([
      'check',
      mintWith(['--key', keys.privatePem, '--kid', 'key-2']),
      ...check,
    ]);
    expect(unknown).toMatchObject({ code: 1, out: 'rejected: unknown_key\n' });
    // A key without a kid serves tokens of its alg whatever kid they name, as in the guard.
    const anyKid = verdict(mintWith(['--key', keys.privatePem, '--kid', 'key-2']), [
      '--key',
      keys.publicPem,
    ]);
    expect(anyKid).toBe('valid');
    // The alg is the key's, never the token's: an RS256 key does not check a PS256 token.
    const rsa = keyPairFiles('RS256', 'pinned');
    const pss = mintWith(['--key', rsa.privatePem, '--alg', 'PS256']);
    expect(verdict(pss, ['--key', rsa.publicPem, '--alg', 'RS256'])).toBe(
      'rejected: unsupported_algorithm',
    );
  });

  it('signs and checks with an HMAC secret and a kid, from a file or --secret', () => {
    const secret = generateApproovSecret();
    const secretFile = join(folder, 'hs512.secret');
    writeFileSync(secretFile, `${secret}\n`);
    const token = mintWith(['--key', secretFile, '--alg', 'HS512', '--kid', 'secret-2']);
    expect(headerOf(token)).toEqual({ alg: 'HS512', typ: 'JWT', kid: 'secret-2' });
    const hs512 = ['--alg', 'HS512', '--kid', 'secret-2'];
    expect(verdict(token, ['--secret', secret, ...hs512])).toBe('valid');
    expect(verdict(token, ['--key', secretFile, ...hs512])).toBe('valid');
    // The --secret short form is one HS256 key.
    expect(verdict(token, ['--secret', secret])).toBe('rejected: unsupported_algorithm');
    const hs256 = mintWith(['--secret', SECRET, '--kid', 'secret-1']);
    expect(headerOf(hs256)).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'secret-1' });
    expect(verdict(hs256, ['--secret', SECRET])).toBe('valid');
    const env = { env: { APPROOV_BASE64_SECRET: SECRET } };
    expect(cli(['check', hs256, '--kid', 'secret-2'], env).out).toBe('rejected: unknown_key\n');
  });

  it('refuses a private key given to check, never printing it', () => {
    const keys = keyPairFiles('ES256', 'private-to-check');
    const token = mintWith(['--key', keys.privatePem]);
    for (const privateKey of [keys.privatePem, keys.privateJwk]) {
      const refused = cli(['check', token, '--key', privateKey]);
      expect(refused).toMatchObject({
        code: 2,
        err: expect.stringContaining(
          `--key ${privateKey} is a private key: check verifies with the public key`,
        ),
      });
      for (const material of keys.material) expect(refused.err).not.toContain(material);
    }
  });

  it('explains a wrong key, alg or kid with exit code 2, without printing the key', () => {
    const ec = keyPairFiles('ES256', 'wrong-use');
    const p384 = keyPairFiles('ES384', 'wrong-curve');
    const rsa = keyPairFiles('RS256', 'no-alg');
    const secretFile = join(folder, 'short.secret');
    const shortSecret = generateApproovSecret().slice(0, 40);
    writeFileSync(secretFile, shortSecret);
    const cases: [string[], string][] = [
      [['token', '--key', ec.privatePem, '--secret', SECRET], 'Give --key or --secret, not both.'],
      [
        ['token', '--key', rsa.privatePem],
        `--key ${rsa.privatePem} is an RSA key: give its --alg.`,
      ],
      [
        ['check', 'x', '--key', rsa.publicPem],
        `--key ${rsa.publicPem} is an RSA key: give its --alg.`,
      ],
      [
        ['token', '--key', p384.privatePem, '--alg', 'ES256'],
        `--key ${p384.privatePem} is on curve secp384r1; ES256 needs prime256v1.`,
      ],
      [
        ['check', 'x', '--key', p384.publicJwk, '--alg', 'ES256'],
        `--key ${p384.publicJwk} is on curve secp384r1; ES256 needs prime256v1.`,
      ],
      [
        ['token', '--key', ec.publicPem],
        `--key ${ec.publicPem} is a public key: token signs with the private key.`,
      ],
      [['token', '--key', ec.privatePem, '--alg', 'es256'], '--alg wants one of HS256, HS384'],
      [['token', '--key', ec.privatePem, '--kid', ''], '--kid wants a key id.'],
      [
        ['token', '--key', ec.privatePem, '--alg', 'HS256'],
        `--key ${ec.privatePem} is a private key; HS256 takes a secret as base64 text.`,
      ],
      [
        ['token', '--key', secretFile, '--alg', 'ES256'],
        `--key ${secretFile} is neither PEM nor JWK; as a secret it serves HS256, HS384 and HS512, not ES256.`,
      ],
      [
        ['token', '--key', secretFile],
        `--key ${secretFile} has a secret that decodes to 30 bytes; an HS256 key needs at least 32`,
      ],
      [
        ['check', 'x', '--secret', SECRET, '--alg', 'ES256'],
        '--alg ES256 needs --key <file>: a secret is for HS256, HS384, HS512.',
      ],
      [
        ['token', '--key', join(folder, 'missing.pem')],
        `--key ${join(folder, 'missing.pem')} cannot be read (ENOENT).`,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, out, err } = cli(args);
      expect({ args, code, out, err: err.split('\n')[0] }).toEqual({
        args,
        code: 2,
        out: '',
        err: expect.stringContaining(message),
      });
      for (const material of [...ec.material, ...p384.material, ...rsa.material, shortSecret]) {
        expect(err).not.toContain(material);
      }
    }
  });
});

@Controller('orders')
class OrdersController {
  @Get()
  list(): object {
    return ran('list');
  }
}

describe.each(ADAPTERS)('nestjs-approov check says what the guard says (%s)', (adapter) => {
  jest.setTimeout(60_000);
  const keys = keyPairFiles('ES256', `guard-${adapter}`);
  const attacker = keyPairFiles('ES256', `guard-attacker-${adapter}`);
  const publicPem = readFileSync(keys.publicPem, 'utf8');
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start(adapter, {
      imports: [ApproovModule.forRoot({ keys: [{ kid: 'key-1', alg: 'ES256', key: publicPem }] })],
      controllers: [OrdersController],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
    });
  });
  afterAll(() => app.close());

  it.each([
    ['valid', ['--key', keys.privatePem, '--kid', 'key-1']],
    ['rejected: bad_signature', ['--key', attacker.privatePem, '--kid', 'key-1']],
    ['rejected: unknown_key', ['--key', keys.privatePem, '--kid', 'key-2']],
    ['rejected: expired', ['--key', keys.privatePem, '--kid', 'key-1', '--expired']],
    ['rejected: unsupported_algorithm', ['--secret', SECRET, '--kid', 'key-1']],
  ])('%s', async (expected, args) => {
    const token = mintWith(args);
    expect(verdict(token, ['--key', keys.publicPem, '--kid', 'key-1'])).toBe(expected);
    const response = await app.get('/orders', { 'Approov-Token': token });
    if (expected === 'valid') expectAccepted(response, 'list');
    else expectRefused(response, expected.slice('rejected: '.length) as ApproovFailureReason);
  });
});

/**
 * The account message-signing key of the app below, and its id (the token's `mskid`). Its first
 * byte is below 0x80 so that its text never starts with `-` (base64url's 62nd character), which the
 * command line would read as a flag: one run in 64 failed before.
 */
const ACCOUNT_KEY = Buffer.concat([Buffer.of(randomBytes(1)[0] & 0x7f), randomBytes(31)]).toString(
  'base64url',
);
const ACCOUNT_KEY_ID = 'account-key-1';

@Controller('signed')
class SignedController {
  @Post('install')
  @HttpCode(200)
  @ApproovMessageSigning({ labels: ['install'] })
  install(@Body() body: unknown): object {
    ran('install');
    return { received: body };
  }

  @Get('install')
  @ApproovMessageSigning({ labels: ['install'] })
  read(): object {
    return ran('read');
  }

  @Post('account')
  @HttpCode(200)
  @ApproovMessageSigning({ labels: ['account'] })
  account(@Body() body: unknown): object {
    ran('account');
    return { received: body };
  }
}

/** Runs `sign` with the secret and `args`; whatever it prints never holds the secret or the key. */
function sign(args: string[], env: object = {}) {
  const result = cli(['sign', '--secret', SECRET, ...args], { env });
  expect(`${result.out}${result.err}`).not.toContain(SECRET);
  expect(`${result.out}${result.err}`).not.toContain(ACCOUNT_KEY);
  return result;
}

/** What curl sends for a printed command. */
interface CurlRequest {
  method: HttpVerb;
  /** The request target, as written in the URL. */
  path: string;
  headers: [string, string][];
  body?: string;
}

/** The arguments a printed command line gives curl, as bash parses it. */
function curlArguments(line: string): string[] {
  const script = `curl() { printf '%s\\0' "$@"; }\n${line}`;
  const { status, stdout } = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(status).toBe(0);
  return stdout.split('\0').slice(0, -1);
}

/** The request that curl makes of `args` (the options `sign` prints). */
function curlRequest(args: readonly string[]): CurlRequest {
  const request: CurlRequest = { method: 'get', path: '', headers: [] };
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    if (arg === '-X') request.method = args[++index].toLowerCase() as HttpVerb;
    else if (arg === '-H') {
      const header = args[++index];
      const colon = header.indexOf(':');
      // curl sends the UTF-8 bytes the terminal wrote; Node's client sends one per character.
      const value = Buffer.from(header.slice(colon + 1).trim(), 'utf8').toString('latin1');
      request.headers.push([header.slice(0, colon), value]);
    } else if (arg === '--data-binary' || arg === '--data-raw') request.body = args[++index];
    else if (/^https?:\/\//.test(arg)) request.path = arg.replace(/^https?:\/\/[^/]*/, '');
    else expect(['-i', '--globoff', '--path-as-is']).toContain(arg);
  }
  return request;
}

/** Sends what a printed command sends. */
function sendPrinted(app: TestApp, line: string) {
  const { method, path, headers, body } = curlRequest(curlArguments(line));
  return app.sendRaw(method, path, headers, body);
}

describe.each(ADAPTERS)('nestjs-approov sign (%s)', (adapter) => {
  // Each test runs the CLI, a process of about a second, a few times.
  jest.setTimeout(60_000);
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start(
      adapter,
      {
        imports: [
          ApproovModule.forRoot({
            secret: SECRET,
            messageSigning: { accountKey: ACCOUNT_KEY, accountKeyId: ACCOUNT_KEY_ID },
          }),
        ],
        controllers: [SignedController],
        providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
      },
      { rawBody: true },
    );
  });
  afterAll(() => app.close());

  it('prints one curl line whose install signature, body included, the guard accepts', async () => {
    // A quote, a new line and UTF-8: the printed command keeps each byte, on one line.
    const body = `{"note":"it's signed, ünïcode too",\n"n":1}`;
    const { code, out } = sign([
      '--url',
      `${app.address}/signed/install`,
      '--header',
      'Content-Type: application/json',
      '--data',
      body,
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/^curl -i -X POST '[^\n]+\n$/);
    const request = curlRequest(curlArguments(out));
    expect(request.headers.map(([name]) => name)).toEqual([
      'Content-Type',
      'Approov-Token',
      'Content-Length',
      'Content-Digest',
      'Signature-Input',
      'Signature',
    ]);
    expect(request.body).toBe(body);
    const response = await sendPrinted(app, out);
    expectAccepted(response, 'install');
    expect(response.body).toEqual({ received: JSON.parse(body) });
  });

  it('signs a GET with its query, brackets and a header that needs quoting', async () => {
    const { code, out } = sign([
      '--url',
      `${app.address}/signed/install?ids[]=1&q=a%20b`,
      '--header',
      "Authorization: Bearer it's-ü",
    ]);
    expect(code).toBe(0);
    expect(out).toContain(' --globoff -X GET ');
    expectAccepted(await sendPrinted(app, out), 'read');
  });

  it('makes the account signature with the key and key id, from the flags or the environment', async () => {
    const url = `${app.address}/signed/account`;
    const data = ['--header', 'Content-Type: application/json', '--data', '{"n":1}'];
    const byFlags = sign([
      ...['--url', url, ...data, '--label', 'account'],
      ...['--account-key', ACCOUNT_KEY, '--account-key-id', ACCOUNT_KEY_ID],
    ]);
    expect(byFlags.code).toBe(0);
    expect(byFlags.out).toContain("'Signature: account=:");
    expectAccepted(await sendPrinted(app, byFlags.out), 'account');
    // Both signatures, the key from the environment: each route checks the one it requires.
    const both = ['--label', 'install', '--label', 'account', '--account-key-id', ACCOUNT_KEY_ID];
    const env = { APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY: ACCOUNT_KEY };
    const toAccount = sign(['--url', url, ...data, ...both], env);
    expectAccepted(await sendPrinted(app, toAccount.out), 'account');
    const toInstall = sign(['--url', `${app.address}/signed/install`, ...data, ...both], env);
    expectAccepted(await sendPrinted(app, toInstall.out), 'install');
    // Without --account-key-id the token has no mskid, which the app requires.
    const noKeyId = sign(['--url', url, ...data, '--label', 'account'], env);
    expectRefused(await sendPrinted(app, noKeyId.out), 'mskid_mismatch');
  });

  it('signs the URL given: another one is refused', async () => {
    const { out } = sign(['--url', `${app.address}/signed/install?x=1`]);
    const { headers } = curlRequest(curlArguments(out));
    expectRefused(await app.sendRaw('get', '/signed/install?x=2', headers), 'signature_mismatch');
  });

  // curl is on every machine that runs CI: .ci/run's smoke test needs it too.
  it('prints a command that curl itself sends, accepted', async () => {
    const { out } = sign([
      '--url',
      `${app.address}/signed/install`,
      '--header',
      'Content-Type: application/json',
      '--data',
      `{"note":"it's sent by curl"}`,
    ]);
    const { stdout } = await promisify(execFile)('bash', ['-c', `${out.trim()} --silent`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200 /);
    expect(stdout).toContain(`{"received":{"note":"it's sent by curl"}}`);
  });
});

describe('nestjs-approov sign, used wrongly', () => {
  const url = ['--url', 'http://localhost:8002/orders'];

  it('exits 2 without --url, or with a bad URL, header, label or ttl', () => {
    expect(sign([])).toMatchObject({ code: 2, err: expect.stringContaining('sign wants --url') });
    expect(sign(['--url', 'localhost:8002/orders'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--url wants an absolute http or https URL'),
    });
    expect(sign([...url, '--header', 'no colon'])).toMatchObject({
      code: 2,
      err: expect.stringContaining("--header wants 'Name: value'"),
    });
    expect(sign([...url, '--header', 'Signature: x'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--header Signature: sign adds it'),
    });
    expect(sign([...url, '--label', 'device'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--label wants install or account'),
    });
    expect(sign([...url, '--ttl', 'soon'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--ttl wants a whole number'),
    });
  });

  it('says what is wrong with the secret or the account key, never quoting them', () => {
    const account = [...url, '--label', 'account'];
    expect(sign(account)).toMatchObject({
      code: 2,
      err: expect.stringContaining('APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY'),
    });
    const short = ACCOUNT_KEY.slice(0, 20);
    const shortKey = sign([...account, '--account-key', short]);
    expect(shortKey).toMatchObject({
      code: 2,
      err: expect.stringContaining('--account-key decodes to 15 bytes'),
    });
    expect(shortKey.err).not.toContain(short);
    // A key that starts with - reads as a flag: the error still hides it.
    const dashed = `-${ACCOUNT_KEY.slice(1)}`;
    const flagLike = sign([...account, '--account-key', dashed]);
    expect(flagLike.code).toBe(2);
    expect(flagLike.err).not.toContain(dashed);
    const badSecret = cli(['sign', ...url, '--secret', SECRET.slice(0, 24)]);
    expect(badSecret).toMatchObject({ code: 2, err: expect.stringContaining('"secret"') });
    expect(badSecret.err).not.toContain(SECRET.slice(0, 24));
    expect(cli(['sign', ...url])).toMatchObject({
      code: 2,
      err: expect.stringContaining('No secret'),
    });
  });
});
