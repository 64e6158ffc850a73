/**
 * Both builds loaded in one process, as happens when an app and one of its libraries resolve the
 * package differently: the injection tokens and the ws handshake key must be one and the same.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = fileURLToPath(new URL('..', import.meta.url));

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
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      distinctModules: true,
      sameConfigToken: true,
      sameHandshakeKey: true,
    });
  });
});
