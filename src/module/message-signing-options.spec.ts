import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ApproovConfigError } from './config-error.js';
import {
  checkRouteSigningOptions,
  DEFAULT_SIGNING_POLICY,
  mergeSigningPolicy,
  resolveMessageSigning,
} from './message-signing-options.js';

const accountKey = randomBytes(32).toString('base64url');

/** The error `resolve` throws, checked for the option it names and the problem it states. */
function expectConfigError(resolve: () => unknown, option: string, problem: string): void {
  let error: unknown;
  try {
    resolve();
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(ApproovConfigError);
  expect((error as ApproovConfigError).option).toBe(option);
  expect((error as Error).message).toContain(`"${option}" ${problem}`);
}

describe('resolveMessageSigning', () => {
  it('is off without the option, and applies the defaults with it', () => {
    expect(resolveMessageSigning(undefined)).toEqual({});
    const { policy, accountKey: key } = resolveMessageSigning({});
    expect(policy).toEqual(DEFAULT_SIGNING_POLICY);
    expect(key).toBeUndefined();
    expect(DEFAULT_SIGNING_POLICY).toEqual({
      labels: ['install'],
      components: ['@method', '@target-uri', 'approov-token'],
      requireContentDigest: true,
      maxAgeSeconds: 60,
      clockToleranceSeconds: 15,
      allowMissingIpk: false,
      replay: false,
    });
  });

  it('decodes the account key, base64url or base64, and lowers header names', () => {
    const bytes = randomBytes(32);
    for (const text of [bytes.toString('base64url'), bytes.toString('base64')]) {
      const signing = resolveMessageSigning({ accountKey: text, accountKeyId: 'k1' });
      expect(signing.accountKey?.key.export()).toEqual(bytes);
      expect(signing.accountKey?.keyId).toBe('k1');
    }
    const { policy } = resolveMessageSigning({ components: ['@method', 'Content-Type'] });
    expect(policy?.components).toEqual(['@method', 'content-type']);
  });

  it.each([
    [{ labels: [] }, 'messageSigning.labels', 'must list "install", "account" or both'],
    [{ labels: ['install', 'install'] }, 'messageSigning.labels', 'must list'],
    [{ labels: ['device'] }, 'messageSigning.labels', 'must list'],
    [{ labels: 'install' }, 'messageSigning.labels', 'must list'],
    [{ components: [] }, 'messageSigning.components', 'must list at least one component'],
    [{ components: ['@status'] }, 'messageSigning.components[0]', 'is neither a derived component'],
    [{ components: ['@query-param'] }, 'messageSigning.components[0]', 'is neither'],
    [{ components: ['@method', 'bad header'] }, 'messageSigning.components[1]', 'is neither'],
    [
      { components: ['Authorization', 'authorization'] },
      'messageSigning.components',
      'names "authorization" twice',
    ],
    [
      { requireContentDigest: 'yes' },
      'messageSigning.requireContentDigest',
      'must be true or false',
    ],
    [{ allowMissingIpk: 1 }, 'messageSigning.allowMissingIpk', 'must be true or false'],
    [
      { maxAgeSeconds: 0 },
      'messageSigning.maxAgeSeconds',
      'must be a number of seconds from 1 to 3600',
    ],
    [{ maxAgeSeconds: '60' }, 'messageSigning.maxAgeSeconds', 'must be a number'],
    [
      { clockToleranceSeconds: 301 },
      'messageSigning.clockToleranceSeconds',
      'must be a number of seconds from 0 to 300',
    ],
    [
      { clockToleranceSeconds: NaN },
      'messageSigning.clockToleranceSeconds',
      'must be a number of seconds from 0 to 300',
    ],
    [{ accountKey: '' }, 'messageSigning.accountKey', 'must be the base64url key'],
    [{ accountKey: 'AAAA' }, 'messageSigning.accountKey', 'decodes to 3 bytes'],
    [{ accountKey: `${accountKey}!` }, 'messageSigning.accountKey', 'is not base64'],
    [{ accountKeyId: '' }, 'messageSigning.accountKeyId', 'must be a non-empty string'],
    [{ targetUri: 'https://example.com' }, 'messageSigning.targetUri', 'must be a function'],
    [{ label: ['install'] }, 'messageSigning.label', 'is not an option here'],
    [[], 'messageSigning', 'must be an object'],
  ])('refuses %j, naming %s', (options, option, problem) => {
    expectConfigError(() => resolveMessageSigning(options), option, problem);
  });

  it('never quotes the account key', () => {
    const key = `${randomBytes(16).toString('base64url')}`;
    try {
      resolveMessageSigning({ accountKey: key });
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
    }
    expect.assertions(1);
  });
});

describe('route settings', () => {
  it('refuses keys and targetUri in a decorator, and checks the rest the same way', () => {
    expectConfigError(
      () => checkRouteSigningOptions({ accountKey }, '@ApproovMessageSigning()'),
      '@ApproovMessageSigning().accountKey',
      'is not an option here',
    );
    expectConfigError(
      () => checkRouteSigningOptions({ labels: ['x'] }, '@ApproovMessageSigning()'),
      '@ApproovMessageSigning().labels',
      'must list',
    );
  });

  it('merge over a policy field by field', () => {
    const merged = mergeSigningPolicy(DEFAULT_SIGNING_POLICY, {
      labels: ['account'],
      maxAgeSeconds: 30,
    });
    expect(merged).toEqual({ ...DEFAULT_SIGNING_POLICY, labels: ['account'], maxAgeSeconds: 30 });
  });
});
