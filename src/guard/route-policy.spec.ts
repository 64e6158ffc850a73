import { describe, expect, it } from '@jest/globals';
import { Reflector } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { DEFAULT_SIGNING_POLICY } from '../module/message-signing-options.js';
import { type ApproovModuleOptions, resolveApproovConfig } from '../module/options.js';
import { generateApproovSecret } from '../testing/index.js';
import { ApproovMessageSigning } from './decorators.js';
import { readRoutePolicy } from './route-policy.js';

const secret = generateApproovSecret();
const reflector = new Reflector();
const signingOf = (options: Partial<ApproovModuleOptions>, target: object, name: string) =>
  readRoutePolicy(
    reflector,
    resolveApproovConfig({ secret, ...options }),
    (target as Record<string, () => unknown>)[name],
    target.constructor as never,
  ).signing;

@ApproovMessageSigning(false)
class OffController {
  plain(): void {}

  @ApproovMessageSigning({ maxAgeSeconds: 30 })
  onAgain(): void {}
}

@ApproovMessageSigning({ labels: ['account'] })
class AccountController {
  plain(): void {}

  @ApproovMessageSigning({ labels: ['install'], clockToleranceSeconds: 0 })
  install(): void {}

  @ApproovMessageSigning(false)
  off(): void {}
}

class PlainController {
  plain(): void {}
}

const moduleSigning = { components: ['@method', 'authorization'], maxAgeSeconds: 20 };
const accountKey = randomBytes(32).toString('base64url');

describe('readRoutePolicy: message signing', () => {
  it('follows the module, or is off without it', () => {
    expect(signingOf({}, new PlainController(), 'plain')).toBeUndefined();
    expect(signingOf({ messageSigning: moduleSigning }, new PlainController(), 'plain')).toEqual({
      ...DEFAULT_SIGNING_POLICY,
      ...moduleSigning,
    });
  });

  it('merges handler over controller over module, field by field', () => {
    const options = { messageSigning: { ...moduleSigning, accountKey } };
    expect(signingOf(options, new AccountController(), 'plain')).toMatchObject({
      labels: ['account'],
      components: ['@method', 'authorization'],
      maxAgeSeconds: 20,
    });
    expect(signingOf(options, new AccountController(), 'install')).toMatchObject({
      labels: ['install'],
      clockToleranceSeconds: 0,
      maxAgeSeconds: 20,
    });
    expect(signingOf(options, new AccountController(), 'off')).toBeUndefined();
  });

  it('turns a route on again under a controller that is off, from the module settings', () => {
    const options = { messageSigning: moduleSigning };
    expect(signingOf(options, new OffController(), 'plain')).toBeUndefined();
    expect(signingOf(options, new OffController(), 'onAgain')).toEqual({
      ...DEFAULT_SIGNING_POLICY,
      ...moduleSigning,
      maxAgeSeconds: 30,
    });
    expect(signingOf({}, new OffController(), 'onAgain')).toEqual({
      ...DEFAULT_SIGNING_POLICY,
      maxAgeSeconds: 30,
    });
  });

  it('fails for a route that requires the account signature without an account key', () => {
    expect(() => signingOf({}, new AccountController(), 'plain')).toThrow(
      '"@ApproovMessageSigning() on AccountController.plain" requires the "account" signature',
    );
  });
});
