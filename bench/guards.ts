import {
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { type CanActivate, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import jsonwebtoken from 'jsonwebtoken';
import type { ApproovInstallKey } from 'nestjs-approov/testing';

/** Approov's published dummy secret: the benchmark's tokens are signed with it. */
export const SECRET =
  'h+CX0tOzdAAR9l15bWAqvq7w9olk66daIH+Xk+IAHhVVHszjDzeGobzNnqyRze3lw/WVyWrc2gZfh3XXfBOmww==';

const tokenOf = (context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
  const token = request.headers['approov-token'];
  if (typeof token !== 'string') throw new UnauthorizedException();
  return token;
};

/** The framework's own cost of a guard. */
export class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/**
 * The cheapest refusal Nest allows: an exception built once, thrown without reading the request.
 * The reference of a stream of forged tokens: what refusing costs before any check.
 */
export class PrebuiltRefusalGuard implements CanActivate {
  canActivate(): boolean {
    throw PREBUILT_REFUSAL;
  }
}

const PREBUILT_REFUSAL = new UnauthorizedException();

const floorKey: KeyObject = createSecretKey(Buffer.from(SECRET, 'base64'));

/** The claims `floorClaims()` reads. */
interface FloorClaims {
  exp?: number;
  ipk?: unknown;
}

/**
 * The physical floor: a minimal HS256 check (split, header compare, HMAC with a KeyObject,
 * constant-time compare, payload parse, exp), with none of the strictness of ApproovGuard.
 * Returns the claims of a valid token.
 */
export function floorClaims(token: string): FloorClaims | undefined {
  const [header, payload, signature] = token.split('.');
  if (header !== 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9' || signature === undefined) return;
  const expected = createHmac('sha256', floorKey).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return;
  return unexpiredClaims(payload);
}

/** The floors' payload check: the claims of `payload` (a segment), if `exp` is in the future. */
function unexpiredClaims(payload: string): FloorClaims | undefined {
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as FloorClaims;
  return typeof claims.exp === 'number' && claims.exp > Date.now() / 1000 ? claims : undefined;
}

/** `floorClaims()` as a yes or no. */
export const floorVerify = (token: string): boolean => floorClaims(token) !== undefined;

/** `floorVerify()` as a guard. */
export class FloorGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (!floorVerify(tokenOf(context))) throw new UnauthorizedException();
    return true;
  }
}

/**
 * The floor of refusing a forged token: `floorVerify()`, then the prebuilt refusal. What any check
 * that verifies each new token's signature must spend at least, the limit of `/rejected`.
 */
export class FloorRefusalGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (!floorVerify(tokenOf(context))) throw PREBUILT_REFUSAL;
    return true;
  }
}

/** The algorithms of the benchmark's keyset keys, and the kid of each one's key. */
export const KEYSET_KIDS = { RS256: 'rs', ES256: 'es' } as const;
export type KeysetAlgorithm = keyof typeof KEYSET_KIDS;

/**
 * The environment variable that gives the app the keyset's public keys, as JSON of PEM texts by
 * algorithm. The pairs are made per run by the load generator (harness.ts), which signs with the
 * private keys: no key file in the repository.
 */
export const KEYSET_PUBLIC_KEYS_VARIABLE = 'BENCH_KEYSET_PUBLIC_KEYS';

/** The variable that gives the app a Redis URL: its replay store is then Redis, not memory. */
export const BENCH_REDIS_URL_VARIABLE = 'BENCH_REDIS_URL';

/**
 * ApproovModule's `cacheSize` in the benchmarked app: the default, stated here so that the pools
 * of distinct tokens (http.ts) can be made larger than it.
 */
export const CACHE_SIZE = 10_000;

/**
 * The physical floor of a token signed with a keyset key, as a hand-written check does it: split,
 * header compared as text with the one the benchmark's tokens have, ONE `crypto.verify` with
 * `publicKey` (parsed once, at startup), payload parse, exp; with none of the strictness of
 * ApproovGuard (segment alphabet, signature length and encoding, key selection by kid).
 */
export function keysetFloor(
  alg: KeysetAlgorithm,
  publicKey: KeyObject,
): (token: string) => boolean {
  const expectedHeader = Buffer.from(
    JSON.stringify({ alg, typ: 'JWT', kid: KEYSET_KIDS[alg] }),
  ).toString('base64url');
  const key = alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
  return (token) => {
    const [header, payload, signature] = token.split('.');
    if (header !== expectedHeader || signature === undefined) return false;
    const signingInput = Buffer.from(`${header}.${payload}`, 'latin1');
    if (!verify('sha256', signingInput, key, Buffer.from(signature, 'base64url'))) return false;
    return unexpiredClaims(payload) !== undefined;
  };
}

/** `keysetFloor()` as a guard. */
export class FloorKeysetGuard implements CanActivate {
  private readonly verify: (token: string) => boolean;

  constructor(alg: KeysetAlgorithm, publicKey: KeyObject) {
    this.verify = keysetFloor(alg, publicKey);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.verify(tokenOf(context))) throw new UnauthorizedException();
    return true;
  }
}

/**
 * An EC P-256 key pair derived from `seed`: the load generator signs with it and the app's
 * floor verifies with it, each process deriving the same key, with no key file in the repository.
 */
function installKeyFrom(seed: string): ApproovInstallKey {
  // A SHA-256 digest is a valid P-256 scalar but with negligible probability (>= the order).
  const d = createHash('sha256').update(seed).digest();
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 || x || y
  const privateKey = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
  });
  const ipk = createPublicKey(privateKey)
    .export({ format: 'der', type: 'spki' })
    .toString('base64');
  return { privateKey, ipk };
}

/** The installation key of the benchmark's one client: its `ipk` goes into the signed tokens. */
export const INSTALL_KEY = installKeyFrom('nestjs-approov bench: installation key');

/** The account message-signing key (32 bytes, base64url), for `account` signatures. */
export const ACCOUNT_KEY = createHash('sha256')
  .update('nestjs-approov bench: account message-signing key')
  .digest('base64url');

/** The installation public key, parsed once, at startup. */
const floorInstallKey: KeyObject = createPublicKey({
  key: Buffer.from(INSTALL_KEY.ipk, 'base64'),
  format: 'der',
  type: 'spki',
});

/** The part of Express's and Fastify's requests that `floorVerifySigned()` reads. */
export interface FloorRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** The account key, as a key object made once, at startup. */
const floorAccountKey: KeyObject = createSecretKey(Buffer.from(ACCOUNT_KEY, 'base64url'));

/** The SDKs' `expires` is `created` + 15; the guard's default tolerance is 15 s more. */
const FLOOR_TOLERANCE_SECONDS = 15;

/**
 * The physical floor of a message signature: `floorClaims()`, then ONE signature check with a
 * key made at startup: an ECDSA P-256 `crypto.verify` for `install` (the token's `ipk` must be
 * the benchmark's key), an HMAC-SHA256 compared in constant time for `account`; over a base
 * concatenated for the components the benchmark's client signs: `@method`, `@target-uri` (plain
 * http, the `Host` header as received) and `approov-token`. Besides `expires`, it checks no
 * parameter: a request that signs anything else fails to verify.
 */
export function floorVerifySigned(
  label: 'install' | 'account',
  { method, url, headers }: FloorRequest,
): boolean {
  const token = headers['approov-token'];
  const input = headers['signature-input'];
  const signature = headers['signature'];
  if (typeof token !== 'string' || typeof input !== 'string' || typeof signature !== 'string') {
    return false;
  }
  const claims = floorClaims(token);
  if (claims === undefined || (label === 'install' && claims.ipk !== INSTALL_KEY.ipk)) return false;
  if (!input.startsWith(`${label}=`) || !signature.startsWith(`${label}=:`)) return false;
  const params = input.slice(label.length + 1);
  const expires = Number(params.slice(params.lastIndexOf(';expires=') + ';expires='.length));
  if (!(expires + FLOOR_TOLERANCE_SECONDS > Date.now() / 1000)) return false;
  const base =
    `"@method": ${method}\n"@target-uri": http://${String(headers.host)}${url}\n` +
    `"approov-token": ${token}\n"@signature-params": ${params}`;
  const given = Buffer.from(signature.slice(label.length + 2, -1), 'base64');
  if (label === 'install') {
    return verify(
      'sha256',
      Buffer.from(base, 'latin1'),
      { key: floorInstallKey, dsaEncoding: 'ieee-p1363' },
      given,
    );
  }
  const expected = createHmac('sha256', floorAccountKey).update(base, 'latin1').digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `floorVerifySigned()` as a guard, for one label. */
export class FloorSignedGuard implements CanActivate {
  constructor(private readonly label: 'install' | 'account') {}

  canActivate(context: ExecutionContext): boolean {
    if (!floorVerifySigned(this.label, context.switchToHttp().getRequest<FloorRequest>())) {
      throw new UnauthorizedException();
    }
    return true;
  }
}

/** What Approov's published NestJS quickstart does: jsonwebtoken with a Buffer secret. */
export class QuickstartGuard implements CanActivate {
  private readonly secret = Buffer.from(SECRET, 'base64');

  canActivate(context: ExecutionContext): boolean {
    try {
      const claims = jsonwebtoken.verify(tokenOf(context), this.secret, {
        algorithms: ['HS256'],
      }) as { exp?: number };
      if (!(typeof claims.exp === 'number' && claims.exp > Date.now() / 1000)) {
        throw new UnauthorizedException();
      }
      return true;
    } catch {
      throw new UnauthorizedException();
    }
  }
}
