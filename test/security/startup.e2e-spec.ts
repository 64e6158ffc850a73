/**
 * Bad configuration stops the app at startup, on both adapters, with a message that names the
 * option and never quotes the secret. (Every option's checks are unit-tested in
 * src/module/options.spec.ts; these go through a real app. The sample app's own refusals are in
 * test/sample-app.e2e-spec.ts.)
 */
import { describe, expect, it } from '@jest/globals';
import { ApproovConfigError, ApproovModule, type ApproovModuleOptions } from 'nestjs-approov';
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
