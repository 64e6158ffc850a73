/**
 * Bad configuration stops the app at startup, on both adapters, with a message that names the
 * option and never quotes the secret. (Every option's checks are unit-tested in
 * src/module/options.spec.ts; these go through a real app.)
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ApproovConfigError, ApproovModule, type ApproovModuleOptions } from 'nestjs-approov';
import { AppModule } from '../../sample-app/app.module.js';
import { DUMMY_APPROOV_SECRET } from '../../sample-app/sample-secret.js';
import { ADAPTERS, TestApp } from '../support/test-app.js';
import { SECRET } from '../support/tokens.js';

const start = (adapter: (typeof ADAPTERS)[number], options: unknown) =>
  TestApp.start(adapter, { imports: [ApproovModule.forRoot(options as ApproovModuleOptions)] });

describe.each(ADAPTERS)('startup validation (%s)', (adapter) => {
  it.each([
    ['approov_base64_secret_here', 'is made of words: a placeholder'],
    ['your-approov-secret', 'is made of words: a placeholder'],
    ['CHANGE_ME', 'is made of words: a placeholder'],
    ['', 'is empty'],
    ['====', 'is not base64'],
    ['!!!!', 'is not base64'],
    [SECRET.slice(0, 40), 'decodes to 30 bytes'],
  ])('refuses the secret %j', async (secret, problem) => {
    const failure = start(adapter, { secret });
    await expect(failure).rejects.toThrow(ApproovConfigError);
    await expect(failure).rejects.toThrow(`"secret" ${problem}`);
    if (secret.length > 12) await expect(failure).rejects.not.toThrow(secret);
  });

  it.each([
    ['tokenHeader', { tokenHeader: 42 }],
    ['tokenHeader', { tokenHeader: 'Approov Token' }],
    ['tokenBinding[0]', { tokenBinding: [42] }],
    ['tokenBinding', { tokenBinding: ['Approov-Token'] }],
    ['allowMissingPay', { allowMissingPay: 'false' }],
    ['clockToleranceSeconds', { clockToleranceSeconds: '0' }],
    ['mode', { mode: 'report' }],
    ['onResult', { onResult: true }],
    ['logLevel', { logLevel: 'info' }],
    ['missingTokenStatus', { missingTokenStatus: 403 }],
    ['missingBindingStatus', { missingBindingStatus: 400, exceptionFactory: () => new Error() }],
    ['tokenPrefix', { tokenPrefix: ['Bearer '] }],
    ['allowQueryToken', { allowQueryToken: 1 }],
    ['cacheSize', { cacheSize: -1 }],
    ['tokenheader', { tokenheader: 'Approov-Token' }],
  ])('refuses a bad %s', async (option, options) => {
    await expect(start(adapter, { secret: SECRET, ...options })).rejects.toThrow(`"${option}"`);
  });
});

describe('the sample app in production', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it.each(ADAPTERS)(
    'refuses to start without a secret, or with the dummy one (%s)',
    async (adapter) => {
      process.env.NODE_ENV = 'production';
      // Set, so that a developer's sample-app/.env cannot fill it in.
      process.env.APPROOV_BASE64_SECRET = '';
      await expect(TestApp.start(adapter, { imports: [AppModule] })).rejects.toThrow(
        /APPROOV_BASE64_SECRET is not set/,
      );
      process.env.APPROOV_BASE64_SECRET = DUMMY_APPROOV_SECRET;
      await expect(TestApp.start(adapter, { imports: [AppModule] })).rejects.toThrow(
        /published dummy secret/,
      );
    },
  );
});
