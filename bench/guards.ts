import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import jsonwebtoken from 'jsonwebtoken';

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

const floorKey: KeyObject = createSecretKey(Buffer.from(SECRET, 'base64'));

/**
 * The physical floor: a minimal HS256 check (split, header compare, HMAC with a KeyObject,
 * constant-time compare, payload parse, exp), with none of the strictness of ApproovGuard.
 */
export function floorVerify(token: string): boolean {
  const [header, payload, signature] = token.split('.');
  if (header !== 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9' || signature === undefined) return false;
  const expected = createHmac('sha256', floorKey).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp?: number };
  return typeof claims.exp === 'number' && claims.exp > Date.now() / 1000;
}

/** `floorVerify()` as a guard. */
export class FloorGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (!floorVerify(tokenOf(context))) throw new UnauthorizedException();
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
