import { describe, expect, it } from '@jest/globals';
import { generateApproovSecret } from '../testing/index.js';
import { ApproovConfigError } from './config-error.js';
import { type ApproovModuleOptions, resolveApproovConfig } from './options.js';

const secret = generateApproovSecret();

describe('resolveApproovConfig', () => {
  it('applies the defaults and decodes the secret', () => {
    const config = resolveApproovConfig({ secret });
    expect(config).toMatchObject({
      tokenHeader: 'approov-token',
      tokenBinding: [],
      allowMissingPay: false,
      clockToleranceSeconds: 0,
    });
    expect(config.keys).toHaveLength(1);
    expect(config.keys[0]).toMatchObject({ alg: 'HS256', kid: undefined });
    expect(config.keys[0].key.export()).toEqual(Buffer.from(secret, 'base64'));
  });

  it('keeps the defaults of the rollout and response options', () => {
    expect(resolveApproovConfig({ secret })).toMatchObject({
      mode: 'enforce',
      logLevel: 'warn',
      logRate: 10,
      missingTokenStatus: 401,
      missingBindingStatus: 401,
      tokenPrefix: '',
    });
  });

  it('lower-cases header names', () => {
    const config = resolveApproovConfig({
      secret,
      tokenHeader: 'X-Approov',
      tokenBinding: ['Authorization', 'X-Device-Id'],
    });
    expect(config.tokenHeader).toBe('x-approov');
    expect(config.tokenBinding).toEqual(['authorization', 'x-device-id']);
  });

  it.each([
    ['options', null, 'must be an object'],
    ['tokenbinding', { tokenbinding: [] }, 'is not an option'],
    ['tokenHeader', { tokenHeader: '' }, 'is not a valid HTTP header name'],
    ['tokenHeader', { tokenHeader: 'Approov-Token:' }, 'is not a valid HTTP header name'],
    ['tokenBinding', { tokenBinding: 'Authorization' }, 'must be a list of header names'],
    [
      'tokenBinding[1]',
      { tokenBinding: ['Authorization', 'X Device'] },
      'is not a valid HTTP header',
    ],
    [
      'tokenBinding',
      { tokenBinding: ['Authorization', 'authorization'] },
      'names "authorization" twice',
    ],
    ['tokenBinding', { tokenBinding: ['approov-token'] }, 'includes the token header itself'],
    ['allowMissingPay', { allowMissingPay: 1 }, 'must be true or false'],
    [
      'clockToleranceSeconds',
      { clockToleranceSeconds: -1 },
      'must be a number of seconds from 0 to 300',
    ],
    [
      'clockToleranceSeconds',
      { clockToleranceSeconds: 301 },
      'must be a number of seconds from 0 to 300',
    ],
    [
      'clockToleranceSeconds',
      { clockToleranceSeconds: NaN },
      'must be a number of seconds from 0 to 300',
    ],
    [
      'clockToleranceSeconds',
      { clockToleranceSeconds: '5' },
      'must be a number of seconds from 0 to 300',
    ],
    ['secret', { secret: undefined }, 'is missing'],
    ['mode', { mode: 'observe' }, 'must be "enforce" or "monitor"'],
    ['onResult', { onResult: 'console.log' }, 'must be a function'],
    [
      'logLevel',
      { logLevel: 'info' },
      'must be "error", "warn", "log", "debug", "verbose" or false',
    ],
    ['logLevel', { logLevel: true }, 'must be "error"'],
    ['logRate', { logRate: -1 }, 'must be a whole number of lines per second from 0, or Infinity'],
    ['logRate', { logRate: 2.5 }, 'must be a whole number of lines per second from 0, or Infinity'],
    [
      'logRate',
      { logRate: '10' },
      'must be a whole number of lines per second from 0, or Infinity',
    ],
    ['missingTokenStatus', { missingTokenStatus: 403 }, 'must be 401 or 400'],
    ['missingBindingStatus', { missingBindingStatus: '400' }, 'must be 401 or 400'],
    ['exceptionFactory', { exceptionFactory: {} }, 'must be a function'],
    [
      'missingTokenStatus',
      { missingTokenStatus: 400, exceptionFactory: () => new Error() },
      'conflicts with "exceptionFactory"',
    ],
    [
      'tokenPrefix',
      { tokenPrefix: ' Bearer ' },
      'must be text that does not start with white space',
    ],
    ['tokenPrefix', { tokenPrefix: 5 }, 'must be text'],
    ['allowQueryToken', { allowQueryToken: 'approov token' }, 'must be a query parameter name'],
    ['allowQueryToken', { allowQueryToken: '' }, 'must be a query parameter name'],
    ['cacheSize', { cacheSize: -1 }, 'must be a whole number from 0 to 1000000'],
    ['cacheSize', { cacheSize: 1.5 }, 'must be a whole number'],
    ['cacheSize', { cacheSize: '100' }, 'must be a whole number'],
  ])('refuses a bad %s: %j', (option, options, problem) => {
    const full = options === null ? null : { secret, ...options };
    let error: unknown;
    try {
      resolveApproovConfig(full as unknown as ApproovModuleOptions);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ApproovConfigError);
    expect((error as ApproovConfigError).option).toBe(option);
    expect((error as Error).message).toContain(`"${option}" ${problem}`);
  });
});

describe('the secret option', () => {
  it('fails with the problem, how to get the secret, and never the text given', () => {
    const truncated = secret.slice(0, 41);
    let error: unknown;
    try {
      resolveApproovConfig({ secret: truncated });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ApproovConfigError);
    const { message, option } = error as ApproovConfigError;
    expect(option).toBe('secret');
    expect(message).toMatch(/"secret" (has a length|is not canonical|decodes to \d+ bytes)/);
    expect(message).toContain('approov secret -get base64');
    expect(message).not.toContain(truncated);
  });
});
