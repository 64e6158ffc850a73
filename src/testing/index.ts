import {
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { type BareItem, type InnerList, type Item, serializeDictionary } from 'structured-headers';
import { approovBindingHash } from '../binding/token-binding.js';
import { approovSecretKey } from '../module/key-options.js';
import { ALGORITHM_SPECS, type JwsAlgorithm } from '../token/algorithms.js';
import { decodeApproovSecret, type HmacAlgorithm } from '../token/secret.js';
import { LABEL_ALGORITHMS } from '../signing/message-verifier.js';
import { signatureBase } from '../signing/signature-base.js';
import { type SignedRequest, splitAbsoluteUri } from '../signing/signed-request.js';

export { approovBindingHash } from '../binding/token-binding.js';

/** What `mintApproovToken()` signs. */
export interface MintApproovTokenOptions {
  /** The account secret, base64 or base64url, as given to `ApproovModule`. Give it or `key`. */
  secret?: string;
  /**
   * The key to sign with in place of the account secret: for HS256, HS384 and HS512 a secret as
   * base64 text (or a secret `KeyObject`); for the others a private key (`KeyObject` or PEM
   * text). The header becomes `{ alg, typ: 'JWT', kid }` (no `kid` when it has none).
   */
  key?: { alg: JwsAlgorithm; key: KeyObject | string; kid?: string };
  /**
   * Seconds from `now` to `exp`; negative for an expired token. Ignored when `claims` sets `exp`.
   * @default 300
   */
  ttlSeconds?: number;
  /** Binding header values, in the route's order: `pay` becomes their hash. */
  bind?: readonly string[];
  /** Claims to add or override; a claim set to `undefined` is left out (`{ exp: undefined }`). */
  claims?: Record<string, unknown>;
  /**
   * The JWS header to sign, for tests of hostile headers. The signature is made with the secret or
   * `key`, whatever the header's `alg` says.
   * @default { alg: 'HS256', typ: 'JWT' }, or the header of `key`
   */
  header?: Record<string, unknown>;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now()
   */
  now?: number;
}

const encodeSegment = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Mints an Approov token as the Approov cloud would, signed with the account secret (HS256) or
 * another key, for tests and examples. Never use it to issue tokens to clients: only Approov's
 * attestation makes a token worth trusting.
 */
export function mintApproovToken(options: MintApproovTokenOptions): string {
  const { ttlSeconds = 300, now = Date.now() } = options;
  const claims = {
    exp: Math.floor(now / 1000) + ttlSeconds,
    ...(options.bind && { pay: approovBindingHash(options.bind) }),
    ...options.claims,
  };
  const { alg, key, kid } = options.key ?? {
    alg: 'HS256' as const,
    key: approovSecretKey(options.secret),
  };
  const header = options.header ?? { alg, typ: 'JWT', ...(kid !== undefined && { kid }) };
  const signingInput = `${encodeSegment(header)}.${encodeSegment(claims)}`;
  return `${signingInput}.${signJws(signingInput, alg, key).toString('base64url')}`;
}

/** The JWS signature of `signingInput` with `key` by `alg` (RFC 7518 section 3). */
function signJws(signingInput: string, alg: JwsAlgorithm, key: KeyObject | string): Buffer {
  const spec = ALGORITHM_SPECS[alg];
  const data = Buffer.from(signingInput, 'latin1');
  if (spec.family === 'hmac') {
    const secret = key instanceof KeyObject ? key : decodeApproovSecret(key, alg as HmacAlgorithm);
    if (typeof secret === 'string') throw new TypeError(`The ${alg} secret ${secret}.`);
    return createHmac(spec.hash!, secret).update(data).digest();
  }
  const privateKey = key instanceof KeyObject ? key : createPrivateKey(key);
  switch (spec.family) {
    case 'ecdsa':
      return sign(spec.hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'rsa-pss':
      return sign(spec.hash, data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: spec.hashBytes,
      });
    default:
      return sign(spec.hash ?? null, data, privateKey);
  }
}

/**
 * A new key pair for an asymmetric `alg` (RSA of 2048 bits, the algorithm's EC curve, Ed25519),
 * for tests of key sets: give the public key to `keys` (or a JWK of it to a JWKS server) and the
 * private key to `mintApproovToken({ key })`.
 */
export function generateApproovKeyPair(alg: Exclude<JwsAlgorithm, HmacAlgorithm>): {
  publicKey: KeyObject;
  privateKey: KeyObject;
} {
  const spec = ALGORITHM_SPECS[alg];
  switch (spec.family) {
    case 'ecdsa':
      return generateKeyPairSync('ec', { namedCurve: spec.curve! });
    case 'eddsa':
      return generateKeyPairSync('ed25519');
    case 'hmac':
      throw new TypeError(`${alg} takes a secret: use generateApproovSecret().`);
    default:
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

/** A new random secret of 64 bytes in base64, like an Approov account's, for tests. */
export function generateApproovSecret(): string {
  return randomBytes(64).toString('base64');
}

/** An installation key pair as an Approov SDK holds it: the private key, and the token's `ipk`. */
export interface ApproovInstallKey {
  readonly privateKey: KeyObject;
  /** The public key as base64 DER SPKI, as Approov puts it in the token's `ipk` claim. */
  readonly ipk: string;
}

/** A new EC P-256 installation key pair, for tests. */
export function generateApproovInstallKey(): ApproovInstallKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, ipk: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
}

/** What `signApproovRequest()` signs. */
export interface SignApproovRequestOptions {
  /** The account secret: the request's token is minted with it. */
  secret: string;
  method: string;
  /** The URL the client calls, as the signature's `@target-uri` covers it. */
  url: string;
  /** Headers to send and sign besides the ones this adds. */
  headers?: Record<string, string>;
  /** The body, sent as is; `Content-Digest` (sha-256) and `Content-Length` are added for it. */
  body?: string | Buffer;
  /**
   * The signatures to make: `install` with `installKey`, `account` with `accountKey`.
   * @default ['install']
   */
  labels?: readonly ('install' | 'account')[];
  /**
   * The installation key pair; its `ipk` goes into the token.
   * @default a new one
   */
  installKey?: ApproovInstallKey;
  /** The account message-signing key, base64url; required for the `account` label. */
  accountKey?: string;
  /** Goes into the token as `mskid`. */
  accountKeyId?: string;
  /** Options of the minted token: lifetime, binding values, more claims. */
  token?: Omit<MintApproovTokenOptions, 'secret' | 'now'>;
  /**
   * The clock, in milliseconds since the epoch: the token's and the signature's `created`.
   * @default Date.now()
   */
  now?: number;
}

/** The headers of a signed request, and the key that signed it. */
export interface SignedApproovRequest {
  /** Every header to send: the given ones, `Approov-Token`, and the signature headers. */
  readonly headers: Record<string, string>;
  readonly installKey: ApproovInstallKey;
}

/** The headers Approov SDKs sign when a request has them, in the SDKs' order. */
const SDK_SIGNED_HEADERS = [
  'approov-traceid',
  'approov-status',
  'authorization',
  'content-length',
  'content-type',
  'content-digest',
];
/** How long after `created` an SDK's signature expires. */
const SDK_SIGNATURE_LIFETIME_SECONDS = 15;

/**
 * Mints a token and signs a request with RFC 9421 message signatures as Approov SDKs do, for an
 * app's own e2e tests: `@method`, `@target-uri`, `approov-token`, then the SDK's headers that
 * the request has, `created` now and `expires` 15 seconds later. Never use it outside tests.
 */
export function signApproovRequest(options: SignApproovRequestOptions): SignedApproovRequest {
  const {
    labels = ['install'],
    installKey = generateApproovInstallKey(),
    now = Date.now(),
  } = options;
  const token = mintApproovToken({
    ...options.token,
    secret: options.secret,
    now,
    claims: {
      ipk: installKey.ipk,
      ...(options.accountKeyId !== undefined && { mskid: options.accountKeyId }),
      ...options.token?.claims,
    },
  });
  const headers: Record<string, string> = { ...options.headers, 'Approov-Token': token };
  if (options.body !== undefined && options.body.length > 0) {
    const body = Buffer.from(options.body);
    headers['Content-Length'] = String(body.length);
    headers['Content-Digest'] = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
  }
  // As a server reads them: each byte of a UTF-8 value as one character.
  const rawHeaders = Object.entries(headers).flatMap(([name, value]) => [
    name,
    Buffer.from(value, 'utf8').toString('latin1'),
  ]);
  const present = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  const components = [
    '@method',
    '@target-uri',
    'approov-token',
    ...SDK_SIGNED_HEADERS.filter((name) => present.has(name)),
  ];
  const created = Math.floor(now / 1000);
  const target = splitAbsoluteUri(options.url);
  if (target === undefined) throw new TypeError('signApproovRequest: url must be an absolute URL');
  const request: SignedRequest = { method: options.method, ...target, rawHeaders, body: undefined };
  const inputs = new Map<string, InnerList>();
  const signatures = new Map<string, Item>();
  for (const label of labels) {
    const params = new Map<string, BareItem>([
      ['alg', LABEL_ALGORITHMS[label]],
      ['created', created],
      ['expires', created + SDK_SIGNATURE_LIFETIME_SECONDS],
    ]);
    const input: InnerList = [
      components.map((name): Item => [name, new Map<string, BareItem>()]),
      params,
    ];
    const base = signatureBase(request, input);
    if (typeof base !== 'string') throw new TypeError(`signApproovRequest: ${base.failure}`);
    inputs.set(label, input);
    signatures.set(label, [
      signWith(label, base, installKey, options.accountKey),
      new Map<string, BareItem>(),
    ]);
  }
  headers['Signature-Input'] = serializeDictionary(inputs);
  headers['Signature'] = serializeDictionary(signatures);
  return { headers, installKey };
}

function signWith(
  label: 'install' | 'account',
  base: string,
  installKey: ApproovInstallKey,
  accountKey: string | undefined,
): Buffer {
  const data = Buffer.from(base, 'latin1');
  if (label === 'install') {
    return sign('sha256', data, { key: installKey.privateKey, dsaEncoding: 'ieee-p1363' });
  }
  if (accountKey === undefined) {
    throw new TypeError('signApproovRequest: the account label needs accountKey');
  }
  return createHmac('sha256', Buffer.from(accountKey, 'base64url')).update(data).digest();
}
