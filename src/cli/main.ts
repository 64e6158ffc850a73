#!/usr/bin/env node
/**
 * `npx nestjs-approov <command>`: mint example tokens, check a token with the guard's own rules,
 * and compute binding hashes, as Approov's CLI does with `approov token -genExample`, `-check`
 * and `-setDataHashInToken`; and sign a request with message signatures as Approov SDKs do.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { approovBindingHash, checkBinding } from '../binding/token-binding.js';
import type { ApproovFailureReason } from '../guard/reasons.js';
import { isHeaderName } from '../headers/raw-headers.js';
import { createTokenVerifier } from '../module/approov-keys.js';
import { resolveApproovConfig } from '../module/options.js';
import { type ApproovSignatureLabel, LABEL_ALGORITHMS } from '../signing/message-verifier.js';
import { mintApproovToken, signApproovRequest } from '../testing/index.js';
import {
  ALGORITHM_SPECS,
  isJwsAlgorithm,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
} from '../token/algorithms.js';
import { decodeBase64 } from '../token/base64.js';
import type { ClaimsSink } from '../token/token-verifier.js';
import { parseVerificationKey } from '../token/verification-key.js';

/** Exit codes: the token is valid, it is rejected, or the command was used wrongly. */
const VALID = 0;
const REJECTED = 1;
const USAGE = 2;

class UsageError extends Error {}

const SECRET_VARIABLE = 'APPROOV_BASE64_SECRET';
const ACCOUNT_KEY_VARIABLE = 'APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY';

const SECRET_HELP =
  '  --secret <base64>   the account secret (default: $APPROOV_BASE64_SECRET, then ./.env)';

/** The help of --key, --alg and --kid, which `token` and `check` share. */
const keyHelp = (verb: string, key: string, kid: string) =>
  `  --key <file>        ${verb} this key in place of the secret: ${key} as PEM or
                      JWK JSON, or for HS256, HS384 and HS512 a secret as base64 text
  --alg <alg>         the key's algorithm, one of HS256, HS384, HS512, RS256, RS384, RS512,
                      PS256, PS384, PS512, ES256, ES384, ES512, EdDSA. Default: HS256 for a
                      secret, a JWK's alg, else by the key: ES256, ES384 or ES512 by the EC
                      curve, EdDSA for Ed25519 and Ed448; an RSA key needs --alg
  --kid <kid>         ${kid}`;

const HELP: Record<string, string> = {
  main: `Usage: nestjs-approov <command> [options]

Commands:
  token            mint an example token
  check <token>    check a token with the guard's rules and show its claims
  hash <value>...  the pay claim that binds a token to these values
  sign --url <url> sign a request as an Approov SDK does, and print a curl command that sends it

Run nestjs-approov <command> --help for its options.
Exit codes: 0 valid, 1 rejected, 2 usage error.`,
  token: `Usage: nestjs-approov token [options]

Mints an example Approov token, and prints it with a curl command that sends it.

${SECRET_HELP}
${keyHelp(
  'sign with',
  'a private key',
  `put this key id in the token header (default: a JWK's kid, else none);
                      --alg and --kid override a JWK's`,
)}
  --ttl <seconds>     lifetime from now (default 300)
  --expired           mint a token that expired a minute ago
  --claim <k=v>       add a claim; v is read as JSON when it can be (repeatable)
  --bind <value>      bind the token to a header value, in order (repeatable); the curl
                      command then names the headers <binding header 1>, ...: put yours
  --url <url>         the URL in the curl command (default http://localhost:8002/token-check)`,
  check: `Usage: nestjs-approov check <token> [options]

Checks a token as ApproovGuard does, prints its claims and when it expires, and says why it
would be rejected. Exits 0 when valid, 1 when rejected.

${SECRET_HELP}
${keyHelp(
  'verify with',
  'a public key',
  `the key's id: a token that names another kid is rejected as unknown_key
                      (default: a JWK's kid, else none: the key serves any kid)`,
)}
  --bind <value>      also check the binding to these header values, in order (repeatable)
  --clock-tolerance <seconds>  leeway on exp and nbf (default 0)`,
  hash: `Usage: nestjs-approov hash <value>...

Prints the pay claim for binding values, in order: base64 of SHA-256 of the trimmed values,
concatenated.`,
  sign: `Usage: nestjs-approov sign --url <url> [options]

Signs a request as an Approov SDK does, and prints a curl command, on one line, that sends it: a
new token carrying a new install key's ipk, Content-Length and Content-Digest for a body, and
RFC 9421 Signature-Input and Signature headers over @method, @target-uri, approov-token and the
headers an SDK signs. The signature expires 15 s after it is made (the guard allows 15 s more of
clock drift): send it at once, for example with eval "$(npx nestjs-approov sign --url <url>)".

${SECRET_HELP}
  --url <url>         the absolute http(s) URL the client calls, as the signature covers it
                      (required); percent-encode what is not printable ASCII
  --method <method>   the HTTP method (default POST with --data, GET without)
  --header <'Name: value'>  a header to send (repeatable); the signatures cover Authorization,
                      Content-Type, Approov-TraceID and Approov-Status, as an SDK's do. With
                      --data, give a Content-Type: curl's default one is sent unsigned
  --data <body>       the body, sent byte for byte (curl --data-binary)
  --label <label>     the signature to make, install (ECDSA, with the install key) or account
                      (HMAC, with the account key); repeatable (default install)
  --account-key <base64url>  the account message-signing key, for --label account (default:
                      $APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY, then ./.env); a key that starts
                      with - is given as --account-key=<key>
  --account-key-id <id>  put it in the token as mskid
  --ttl <seconds>     the token's lifetime from now (default 300)`,
};

/** The variable `name` from the environment, or from a .env file in the current folder. */
function fromEnvironment(name: string): string | undefined {
  const value = process.env[name];
  if (value) return value;
  if (existsSync('.env')) {
    for (const line of readFileSync('.env', 'utf8').split(/\r?\n/)) {
      const match = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*(.*?)\\s*$`).exec(line);
      if (match) return match[1].replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return undefined;
}

/** The secret from --secret, the environment, or a .env file in the current folder. */
function secretFrom(flag: string | undefined): string {
  const secret = flag ?? fromEnvironment(SECRET_VARIABLE);
  if (secret !== undefined) return secret;
  throw new UsageError(
    `No secret: pass --secret, or set ${SECRET_VARIABLE} in the environment or ./.env.`,
  );
}

/** The --key, --secret, --alg and --kid of `token` and `check`. */
interface KeyFlags {
  key?: string;
  secret?: string;
  alg?: string;
  kid?: string;
}

/** A key as `mintApproovToken({ key })` and the `keys` option take it. */
interface KeyChoice {
  alg: JwsAlgorithm;
  /** A `KeyObject`, or text: PEM or JWK JSON, or a secret as base64. */
  key: KeyObject | string;
  kid?: string;
}

/** A --key file: its text, and the key in it, a `KeyObject` or, for a secret, its text. */
interface KeyFile {
  readonly name: string;
  readonly text: string;
  readonly key: KeyObject | string;
  /** The JWK the file holds, when it holds one. */
  readonly jwk?: Record<string, unknown>;
}

/** The algorithm of each EC curve (RFC 7518 section 3.4), by Node's name of the curve. */
const CURVE_ALGORITHMS: ReadonlyMap<string, JwsAlgorithm> = new Map(
  JWS_ALGORITHMS.filter((alg) => ALGORITHM_SPECS[alg].curve !== undefined).map((alg) => [
    ALGORITHM_SPECS[alg].curve!,
    alg,
  ]),
);

/**
 * Reads a --key file: a PEM key, a JWK as JSON, or else a secret as base64 text. Errors name the
 * file, never what it holds (OpenSSL's messages are left out for that reason).
 */
function readKeyFile(path: string): KeyFile {
  const name = `--key ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`${name} cannot be read (${(error as NodeJS.ErrnoException).code}).`);
  }
  if (text.startsWith('-----BEGIN ')) {
    const isPrivate = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
    try {
      return { name, text, key: isPrivate ? createPrivateKey(text) : createPublicKey(text) };
    } catch {
      const encrypted = /ENCRYPTED/.test(text) ? ': decrypt it first (openssl pkey)' : '';
      throw new UsageError(`${name} is not a readable PEM key${encrypted}.`);
    }
  }
  if (text.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new UsageError(`${name} is neither PEM nor valid JSON.`);
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      throw new UsageError(`${name} holds JSON that is not a JWK object.`);
    }
    const members = jwk as Record<string, unknown>;
    if (members.kty === 'oct') {
      throw new UsageError(
        `${name} is a secret JWK (kty "oct"): put the secret in the file as base64 text, ` +
          'as `approov secret -get base64` prints it.',
      );
    }
    try {
      const create = Object.hasOwn(members, 'd') ? createPrivateKey : createPublicKey;
      return {
        name,
        text,
        key: create({ key: members as JsonWebKey, format: 'jwk' }),
        jwk: members,
      };
    } catch {
      throw new UsageError(`${name} is not a readable JWK.`);
    }
  }
  return { name, text, key: text };
}

/** The algorithm a key file implies: a JWK's alg, HS256 for a secret, ECDSA by curve, EdDSA. */
function algorithmOf(file: KeyFile): JwsAlgorithm {
  if (isJwsAlgorithm(file.jwk?.alg)) return file.jwk.alg;
  if (typeof file.key === 'string') return 'HS256';
  const type = file.key.asymmetricKeyType;
  if (type === 'ed25519' || type === 'ed448') return 'EdDSA';
  const byCurve = CURVE_ALGORITHMS.get(file.key.asymmetricKeyDetails?.namedCurve ?? '');
  if (type === 'ec' && byCurve !== undefined) return byCurve;
  // RS256 or PS256, and which hash: the key does not say.
  throw new UsageError(`${file.name} is an ${type?.toUpperCase()} key: give its --alg.`);
}

/** The algorithm --alg names, spelled as in a JWS header. */
function algorithmFrom(flag: string): JwsAlgorithm {
  if (isJwsAlgorithm(flag)) return flag;
  throw new UsageError(`--alg wants one of ${JWS_ALGORITHMS.join(', ')}.`);
}

/**
 * The key --key, --alg and --kid give, checked as `ApproovModule` checks its `keys`: for `sign`,
 * the private key or secret to sign with; for `verify`, the public key or secret as given. With
 * no --key, the secret with --alg or --kid; `undefined` for the secret alone, its short form.
 */
function keyFrom(flags: KeyFlags, use: 'sign' | 'verify'): KeyChoice | undefined {
  const alg = flags.alg === undefined ? undefined : algorithmFrom(flags.alg);
  if (flags.kid === '') throw new UsageError('--kid wants a key id.');
  if (flags.key === undefined) {
    if (alg === undefined && flags.kid === undefined) return undefined;
    const hmac = alg ?? 'HS256';
    if (ALGORITHM_SPECS[hmac].family !== 'hmac') {
      throw new UsageError(
        `--alg ${hmac} needs --key <file>: a secret is for HS256, HS384, HS512.`,
      );
    }
    const name = flags.secret === undefined ? SECRET_VARIABLE : '--secret';
    return checkedKey(name, { alg: hmac, kid: flags.kid, key: secretFrom(flags.secret) });
  }
  if (flags.secret !== undefined) throw new UsageError('Give --key or --secret, not both.');
  const file = readKeyFile(flags.key);
  const { key } = file;
  if (typeof key !== 'string') {
    if (use === 'sign' && key.type === 'public') {
      throw new UsageError(`${file.name} is a public key: token signs with the private key.`);
    }
    if (use === 'verify' && key.type === 'private') {
      throw new UsageError(
        `${file.name} is a private key: check verifies with the public key ` +
          '(openssl pkey -pubout prints it).',
      );
    }
  }
  const chosen = alg ?? algorithmOf(file);
  const hmac = ALGORITHM_SPECS[chosen].family === 'hmac';
  if (typeof key === 'string' && !hmac) {
    throw new UsageError(
      `${file.name} is neither PEM nor JWK; as a secret it serves HS256, HS384 and HS512, not ${chosen}.`,
    );
  }
  if (typeof key !== 'string' && hmac) {
    throw new UsageError(
      `${file.name} is a ${key.type} key; ${chosen} takes a secret as base64 text.`,
    );
  }
  if (use === 'verify') {
    return checkedKey(file.name, { alg: chosen, kid: flags.kid, key: file.text });
  }
  const jwkKid = typeof file.jwk?.kid === 'string' ? file.jwk.kid : undefined;
  const signing = { alg: chosen, kid: flags.kid ?? jwkKid, key };
  // The public half, checked as a verifying app checks it: type, size, curve.
  checkedKey(file.name, { ...signing, key: typeof key === 'string' ? key : createPublicKey(key) });
  return signing;
}

/** `key`, or a usage error that names it and says what is wrong, as `keys` checks it. */
function checkedKey(name: string, key: KeyChoice): KeyChoice {
  const problem = parseVerificationKey(key);
  if (typeof problem === 'string') throw new UsageError(`${name} ${problem}.`);
  return key;
}

/** `k=v` claims, with v read as JSON when it parses (numbers, booleans, objects). */
function claimsFrom(pairs: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--claim wants name=value, not "${pair}".`);
    const text = pair.slice(equals + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Plain text.
    }
    claims[pair.slice(0, equals)] = value;
  }
  return claims;
}

/** "in 4 min 59 s" or "5 s ago". */
function relative(seconds: number): string {
  // Whole seconds, never rounded up: 299.6 s left is "4 min 59 s", not "5 min".
  const total = Math.floor(Math.abs(seconds));
  const parts = [
    [Math.floor(total / 86400), 'd'],
    [Math.floor((total % 86400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'min'],
    [total % 60, 's'],
  ] as const;
  const text = parts
    .filter(([amount], index) => amount > 0 || (index === 3 && total === 0))
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(' ');
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function token(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      secret: { type: 'string' },
      key: { type: 'string' },
      alg: { type: 'string' },
      kid: { type: 'string' },
      ttl: { type: 'string' },
      expired: { type: 'boolean' },
      claim: { type: 'string', multiple: true },
      bind: { type: 'string', multiple: true },
      url: { type: 'string' },
    },
  });
  const ttlSeconds = values.expired ? -60 : Number(values.ttl ?? 300);
  if (!Number.isFinite(ttlSeconds)) throw new UsageError('--ttl wants a number of seconds.');
  const bind = values.bind ?? [];
  const key = keyFrom(values, 'sign');
  const minted = mintApproovToken({
    ...(key === undefined ? { secret: secretFrom(values.secret) } : { key }),
    ttlSeconds,
    bind: bind.length > 0 ? bind : undefined,
    claims: claimsFrom(values.claim ?? []),
  });
  const url = values.url ?? 'http://localhost:8002/token-check';
  const bindingHeaders = bind.map(
    (value, index) => ` -H '<binding header ${index + 1}>: ${value}'`,
  );
  console.log(minted);
  console.log(`curl -i ${url} -H 'Approov-Token: ${minted}'${bindingHeaders.join('')}`);
  return VALID;
}

function check(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      secret: { type: 'string' },
      key: { type: 'string' },
      alg: { type: 'string' },
      kid: { type: 'string' },
      bind: { type: 'string', multiple: true },
      'clock-tolerance': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('check wants exactly one token.');
  const key = keyFrom(values, 'verify');
  const config = resolveApproovConfig({
    ...(key === undefined ? { secret: secretFrom(values.secret) } : { keys: [key] }),
    clockToleranceSeconds: Number(values['clock-tolerance'] ?? 0),
  });
  const verifier = createTokenVerifier(config);
  const sink: ClaimsSink = {};
  let reason: ApproovFailureReason | undefined = verifier.check(positionals[0].trim(), sink);
  const bind = values.bind ?? [];
  if (reason === undefined && bind.length > 0) {
    // Values as the guard receives them: the bytes of the header, one character each.
    const names = bind.map((_, index) => `binding-${index}`);
    const rawHeaders = bind.flatMap((value, index) => [
      names[index],
      Buffer.from(value, 'utf8').toString('latin1'),
    ]);
    reason = checkBinding(sink.claims!, rawHeaders, names, config.allowMissingPay);
  }
  const { claims } = sink;
  if (claims !== undefined) {
    console.log(JSON.stringify(claims, null, 2));
    if (typeof claims.exp === 'number') {
      const seconds = claims.exp - Date.now() / 1000;
      const when = new Date(claims.exp * 1000).toISOString();
      console.log(`${seconds > 0 ? 'expires' : 'expired'} ${relative(seconds)} (${when})`);
    }
  }
  if (reason === undefined) {
    console.log(bind.length > 0 ? 'valid, and bound to the given values' : 'valid');
    return VALID;
  }
  console.log(`rejected: ${reason}`);
  return REJECTED;
}

function hash(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new UsageError('hash wants at least one value.');
  console.log(approovBindingHash(positionals));
  return VALID;
}

/** Headers `sign` writes itself, or that would make curl send other bytes than those signed. */
const HEADERS_SIGN_SETS: Readonly<Record<string, string>> = {
  'approov-token': 'sign adds the token',
  'content-length': 'sign adds it for --data',
  'content-digest': 'sign adds it for --data',
  'signature-input': 'sign adds it',
  signature: 'sign adds it',
  host: 'the host comes from --url',
  'transfer-encoding': 'sign sends the body with a Content-Length',
};

/**
 * The `--url`, checked so that curl sends what is signed: http or https, no user info (curl moves
 * it to `Authorization`), no fragment (never sent), only printable ASCII, and a path of at least
 * `/` (curl sends `/?q` for `?q`).
 */
function signedUrl(text: string): string {
  const parts = /^(https?):\/\/([^/?#@]+)([/?][^#]*)?$/i.exec(text);
  if (parts === null || !/^[\x21-\x7e]+$/.test(text)) {
    throw new UsageError(
      '--url wants an absolute http or https URL, without user:password@ or #fragment, and ' +
        'with anything but printable ASCII percent-encoded: https://api.example.com/orders?id=7.',
    );
  }
  const [, scheme, authority, target = '/'] = parts;
  return `${scheme}://${authority}${target.startsWith('/') ? target : `/${target}`}`;
}

/** `--header 'Name: value'`s, by name as given; values trimmed as the server reads them. */
function headersFrom(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, Math.max(colon, 0)).trim();
    const value = line.slice(colon + 1).trim();
    if (!isHeaderName(name) || value === '') {
      throw new UsageError(
        `--header wants 'Name: value' with a non-empty value, such as 'Content-Type: application/json'.`,
      );
    }
    // Node rejects control characters; curl sends what the terminal wrote, in UTF-8.
    if (hasControlCharacter(value)) {
      throw new UsageError(`--header ${name}: a header value cannot hold control characters.`);
    }
    const lower = name.toLowerCase();
    const reserved = HEADERS_SIGN_SETS[lower];
    if (reserved !== undefined) throw new UsageError(`--header ${name}: ${reserved}.`);
    if (seen.has(lower)) throw new UsageError(`--header ${name} is given twice: give it once.`);
    seen.add(lower);
    headers[name] = value;
  }
  return headers;
}

/** The `--label`s, in order, once each; `install` when none is given. */
function labelsFrom(given: readonly string[]): ApproovSignatureLabel[] {
  const known = Object.keys(LABEL_ALGORITHMS);
  for (const label of given) {
    if (!known.includes(label)) {
      throw new UsageError(`--label wants ${known.join(' or ')}, not "${label}".`);
    }
  }
  if (new Set(given).size !== given.length) throw new UsageError('--label: give each label once.');
  return given.length === 0 ? ['install'] : (given as ApproovSignatureLabel[]);
}

/** HMAC-SHA256 wants a key of at least its output size, as `ApproovModule` requires. */
const MIN_ACCOUNT_KEY_BYTES = 32;

/** The account key from --account-key, the environment or ./.env, checked but never quoted. */
function accountKeyFrom(flag: string | undefined): string {
  const key = (flag ?? fromEnvironment(ACCOUNT_KEY_VARIABLE))?.trim();
  if (key === undefined || key === '') {
    throw new UsageError(
      `--label account needs the account message-signing key: pass --account-key, or set ` +
        `${ACCOUNT_KEY_VARIABLE} in the environment or ./.env ` +
        '(`approov secret -messageSigningKey get-base64url` prints it).',
    );
  }
  const where = flag === undefined ? ACCOUNT_KEY_VARIABLE : '--account-key';
  const bytes = decodeBase64(key);
  if (typeof bytes === 'string') throw new UsageError(`${where} ${bytes}.`);
  if (bytes.length < MIN_ACCOUNT_KEY_BYTES) {
    throw new UsageError(
      `${where} decodes to ${bytes.length} bytes; the account key has at least ${MIN_ACCOUNT_KEY_BYTES}.`,
    );
  }
  return key;
}

/** Whether `text` holds a C0 control character or DEL, which a header or one line cannot. */
const hasControlCharacter = (text: string): boolean =>
  [...text].some((char) => char < ' ' || char === '\x7f');

/** How ANSI-C quotes write the characters that need it. */
const ANSI_C_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * `value` as one shell word: single-quoted, a `'` written `'\''`; a value with control characters
 * (a body with new lines) in ANSI-C quotes, `$'...'` (bash, zsh, ksh), so the command stays one
 * line.
 */
function shellQuote(value: string): string {
  if (!hasControlCharacter(value)) return `'${value.replace(/'/g, `'\\''`)}'`;
  const escaped = [...value].map(
    (char) =>
      ANSI_C_ESCAPES[char] ??
      (hasControlCharacter(char) ? `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}` : char),
  );
  return `$'${escaped.join('')}'`;
}

/** A one-line curl command that sends exactly the bytes that were signed (`method` is a token). */
function curlCommand(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
): string {
  const words = ['curl', '-i'];
  // Brackets and braces are curl's URL globbing; dot segments curl would squash.
  if (/[[\]{}]/.test(url)) words.push('--globoff');
  const path = url.replace(/^[a-z]+:\/\/[^/]*/i, '').split('?')[0];
  if (/\/\.\.?(?:\/|$)/.test(path)) words.push('--path-as-is');
  words.push('-X', method, shellQuote(url));
  for (const [name, value] of Object.entries(headers)) {
    words.push('-H', shellQuote(`${name}: ${value}`));
  }
  if (body !== undefined) {
    // --data-binary reads a file for a body that starts with @; --data-raw never does.
    words.push(body.startsWith('@') ? '--data-raw' : '--data-binary', shellQuote(body));
  }
  return words.join(' ');
}

function signRequest(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      secret: { type: 'string' },
      url: { type: 'string' },
      method: { type: 'string' },
      header: { type: 'string', multiple: true },
      data: { type: 'string' },
      label: { type: 'string', multiple: true },
      'account-key': { type: 'string' },
      'account-key-id': { type: 'string' },
      ttl: { type: 'string' },
    },
  });
  if (values.url === undefined) {
    throw new UsageError('sign wants --url <url>, the URL the request goes to.');
  }
  const url = signedUrl(values.url);
  const method = (values.method ?? (values.data === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z][A-Z0-9_-]*$/.test(method)) {
    throw new UsageError('--method wants an HTTP method, such as POST.');
  }
  const headers = headersFrom(values.header ?? []);
  const labels = labelsFrom(values.label ?? []);
  const ttlSeconds = Number(values.ttl ?? 300);
  if (!Number.isSafeInteger(ttlSeconds)) {
    throw new UsageError('--ttl wants a whole number of seconds.');
  }
  const accountKeyId = values['account-key-id'];
  if (accountKeyId === '') throw new UsageError('--account-key-id wants a key id.');
  const accountKey = labels.includes('account') ? accountKeyFrom(values['account-key']) : undefined;
  const { headers: signed } = signApproovRequest({
    secret: secretFrom(values.secret),
    method,
    url,
    headers,
    body: values.data,
    labels,
    accountKey,
    accountKeyId,
    token: { ttlSeconds },
  });
  console.log(curlCommand(method, url, signed, values.data));
  return VALID;
}

const COMMANDS: Record<string, (args: string[]) => number> = {
  token,
  check,
  hash,
  sign: signRequest,
};

/**
 * The secrets `args` and the environment give: no message may quote them, even a message of
 * code that does not know them.
 */
function secretsIn(args: readonly string[]): string[] {
  const secrets = [process.env[SECRET_VARIABLE], process.env[ACCOUNT_KEY_VARIABLE]];
  args.forEach((arg, index) => {
    for (const flag of ['--secret', '--account-key']) {
      if (arg === flag) secrets.push(args[index + 1]);
      else if (arg.startsWith(`${flag}=`)) secrets.push(arg.slice(flag.length + 1));
    }
  });
  return secrets.map((secret) => secret?.trim() ?? '').filter((secret) => secret.length >= 8);
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
function run(argv: readonly string[]): number {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(HELP.main);
    return command === undefined ? USAGE : VALID;
  }
  const handler = COMMANDS[command];
  if (handler === undefined) {
    console.error(`Unknown command "${command}".\n\n${HELP.main}`);
    return USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[command]);
    return VALID;
  }
  try {
    return handler(args);
  } catch (error) {
    // Bad flags, a missing or invalid secret: say what is wrong, never the secret itself.
    let message = error instanceof Error ? error.message : String(error);
    for (const secret of secretsIn(args)) message = message.split(secret).join('<hidden>');
    console.error(`${message}\n\n${HELP[command]}`);
    return USAGE;
  }
}

process.exitCode = run(process.argv.slice(2));
