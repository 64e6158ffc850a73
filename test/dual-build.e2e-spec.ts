/**
 * Both builds loaded in one process, as happens when an app and one of its libraries resolve the
 * package differently: the injection tokens and the ws handshake key must be one and the same.
 * And every entry point of the `exports` map loads from both, with the same exports.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs `source` as an ES module in a Node process of its own, in the repository; its JSON output. */
function runModule(source: string): unknown {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

const script = `
  import { createRequire } from 'node:module';
  const esm = await import('./dist/esm/index.js');
  const cjs = createRequire(import.meta.url)('./dist/cjs/index.js');
  const client = {};
  cjs.attachApproovHandshake(client, { rawHeaders: [] });
  console.log(JSON.stringify({
    distinctModules: esm.ApproovModule !== cjs.ApproovModule,
    sameConfigToken: esm.APPROOV_CONFIG === cjs.APPROOV_CONFIG,
    sameHandshakeKey: Object.getOwnPropertySymbols(client)[0] === Symbol.for('nestjs-approov:handshake'),
  }));
`;

describe('the ES module and CommonJS builds together', () => {
  it('share their injection tokens and keys', () => {
    expect(runModule(script)).toEqual({
      distinctModules: true,
      sameConfigToken: true,
      sameHandshakeKey: true,
    });
  });
});

// Outside Jest, whose registry cannot load @nestjs/throttler on Node < 24.9 (tools/test.mjs).
const entryPointsScript = `
  import { readFileSync } from 'node:fs';
  import { createRequire } from 'node:module';
  const require = createRequire(import.meta.url);
  const { exports } = JSON.parse(readFileSync('./package.json', 'utf8'));
  const loaded = {};
  for (const [subpath, conditions] of Object.entries(exports)) {
    if (subpath === './package.json') continue;
    const esm = Object.keys(await import(conditions.import.default)).sort();
    const cjs = Object.keys(require(conditions.require.default)).sort();
    loaded[subpath] = { esm, sameInCjs: JSON.stringify(esm) === JSON.stringify(cjs) };
  }
  console.log(JSON.stringify(loaded));
`;

describe('the entry points', () => {
  it('load from both builds, with the same exports', () => {
    const loaded = runModule(entryPointsScript) as Record<
      string,
      { esm: string[]; sameInCjs: boolean }
    >;
    expect(Object.keys(loaded)).toEqual([
      '.',
      './testing',
      './redis',
      './terminus',
      './opentelemetry',
      './throttler',
    ]);
    for (const { esm, sameInCjs } of Object.values(loaded)) {
      expect(esm.length).toBeGreaterThan(0);
      expect(sameInCjs).toBe(true);
    }
    expect(loaded['./opentelemetry'].esm).toEqual(['withApproovTelemetry']);
    expect(loaded['./throttler'].esm).toEqual(['ApproovThrottlerGuard']);
  });
});
