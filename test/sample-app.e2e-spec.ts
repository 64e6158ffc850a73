import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { AppModule } from '../sample-app/app.module.js';
import { exampleRequests } from '../sample-app/example-requests.js';
import { DUMMY_APPROOV_SECRET, sampleAppSecret } from '../sample-app/sample-secret.js';
import {
  ADAPTERS,
  expectRefused,
  handlerCalls,
  type Headers,
  logs,
  TestApp,
} from './support/test-app.js';

/** The path and headers of a `curl -i <url> -H 'Name: value' ...` line the app prints. */
function parseCurl(line: string): { path: string; headers: Headers } {
  const url = /curl -i (\S+)/.exec(line)![1];
  const headers: Record<string, string> = {};
  for (const [, name, value] of line.matchAll(/-H '([^:]+): ([^']*)'/g)) headers[name] = value;
  return { path: new URL(url).pathname, headers };
}

describe.each(ADAPTERS)('sample app (%s)', (adapter) => {
  let app: TestApp;
  let curls: string[];
  const originalSecret = process.env.APPROOV_BASE64_SECRET;
  beforeAll(async () => {
    // The environment wins over sample-app/.env, which a developer may have filled in.
    process.env.APPROOV_BASE64_SECRET = DUMMY_APPROOV_SECRET;
    app = await TestApp.start(adapter, { imports: [AppModule] }, { recordHandlers: true });
    curls = exampleRequests('http://localhost:8002', DUMMY_APPROOV_SECRET)
      .split('\n')
      .filter((line) => line.includes('curl'));
  });
  afterAll(async () => {
    await app.close();
    if (originalSecret === undefined) delete process.env.APPROOV_BASE64_SECRET;
    else process.env.APPROOV_BASE64_SECRET = originalSecret;
  });

  it('prints a curl line for each route, and each protected one works', async () => {
    const answers: Record<string, number> = {};
    for (const line of curls.slice(0, 4)) {
      const { path, headers } = parseCurl(line);
      const response = await app.get(path, headers);
      answers[path] = response.status;
      expect(handlerCalls).toHaveLength(1);
    }
    expect(answers).toEqual({
      '/': 200,
      '/token-check': 200,
      '/token-binding': 200,
      '/token-double-binding': 200,
    });
  });

  it('refuses the printed request without a token', async () => {
    const { path, headers } = parseCurl(curls[4]);
    expect(path).toBe('/token-check');
    expectRefused(await app.get(path, headers), 'missing_token');
  });

  it('binds /token-binding to Authorization and /token-double-binding to both headers', async () => {
    const binding = parseCurl(curls[2]);
    const withoutAuthorization = { 'Approov-Token': binding.headers['Approov-Token'] };
    expectRefused(await app.get('/token-binding', withoutAuthorization), 'missing_binding_header');
    const double = parseCurl(curls[3]);
    const otherDevice = { ...double.headers, 'X-Device-Id': 'another-device' };
    expectRefused(await app.get('/token-double-binding', otherDevice), 'binding_mismatch');
  });
});

describe('sample app secret', () => {
  beforeAll(() => {
    Logger.overrideLogger(logs);
  });
  afterAll(() => {
    Logger.overrideLogger(true);
  });

  it('uses APPROOV_BASE64_SECRET when it is set', () => {
    expect(sampleAppSecret('c2VjcmV0', 'production')).toBe('c2VjcmV0');
  });

  it('falls back to the dummy secret outside production, with a warning', () => {
    logs.clear();
    expect(sampleAppSecret(undefined, 'development')).toBe(DUMMY_APPROOV_SECRET);
    expect(sampleAppSecret('  ', undefined)).toBe(DUMMY_APPROOV_SECRET);
    expect(logs.lines).toEqual([
      expect.stringContaining('dummy secret'),
      expect.stringContaining('dummy secret'),
    ]);
  });

  it('refuses to start in production without a secret', () => {
    expect(() => sampleAppSecret(undefined, 'production')).toThrow(/APPROOV_BASE64_SECRET/);
  });
});
