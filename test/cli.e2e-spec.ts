/** The real CLI, `dist/esm/cli/main.js` as `npm run build` emits it, run as a child process. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { generateApproovSecret } from 'nestjs-approov/testing';
import { SECRET, vectors } from './support/tokens.js';

const CLI = fileURLToPath(new URL('../dist/esm/cli/main.js', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'approov-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs the CLI with `args`, without a secret in the environment unless `env` gives one. */
function cli(args: string[], { env = {}, cwd = folder }: { env?: object; cwd?: string } = {}) {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('APPROOV_BASE64_SECRET' in env)) delete environment.APPROOV_BASE64_SECRET;
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: environment,
    encoding: 'utf8',
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const mint = (...args: string[]) => cli(['token', '--secret', SECRET, ...args]).out.split('\n')[0];

describe('nestjs-approov CLI', () => {
  it('prints help, and exits 2 without a command or with an unknown one', () => {
    expect(cli([])).toMatchObject({ code: 2, out: expect.stringContaining('Commands:') });
    expect(cli(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('Commands:') });
    expect(cli(['mint'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('Unknown command'),
    });
    for (const command of ['token', 'check', 'hash']) {
      expect(cli([command, '--help'])).toMatchObject({
        code: 0,
        out: expect.stringContaining(`Usage: nestjs-approov ${command}`),
      });
    }
  });

  it('mints a token and a curl line that sends it; check accepts it and shows its claims', () => {
    const { code, out } = cli([
      'token',
      '--secret',
      SECRET,
      '--claim',
      'did=device-1',
      '--claim',
      'n=5',
    ]);
    expect(code).toBe(0);
    const [token, curl] = out.split('\n');
    expect(curl).toBe(`curl -i http://localhost:8002/token-check -H 'Approov-Token: ${token}'`);
    const checked = cli(['check', token, '--secret', SECRET]);
    expect(checked.code).toBe(0);
    expect(checked.out).toContain('"did": "device-1"');
    expect(checked.out).toContain('"n": 5');
    expect(checked.out).toMatch(/expires in 4 min 5\d s/);
    expect(checked.out.trim().split('\n').at(-1)).toBe('valid');
  });

  it('says why a token is rejected, and exits 1', () => {
    const expired = cli(['check', mint('--expired'), '--secret', SECRET]);
    expect(expired.code).toBe(1);
    expect(expired.out).toMatch(/expired 1 min( \d s)? ago/);
    expect(expired.out).toContain('rejected: expired');
    const other = cli(['check', mint(), '--secret', generateApproovSecret()]);
    expect(other).toMatchObject({ code: 1, out: 'rejected: bad_signature\n' });
    expect(cli(['check', 'garbage', '--secret', SECRET])).toMatchObject({
      code: 1,
      out: 'rejected: malformed_token\n',
    });
    const noExp = cli(['check', mint('--claim', 'exp=null'), '--secret', SECRET]);
    expect(noExp).toMatchObject({ code: 1, out: expect.stringContaining('rejected: invalid_exp') });
  });

  it('binds to several values in order, and checks the binding', () => {
    const token = mint('--bind', 'Bearer myauth_token', '--bind', 'my-device-id');
    const bound = ['--bind', 'Bearer myauth_token', '--bind', 'my-device-id'];
    expect(cli(['check', token, '--secret', SECRET, ...bound]).code).toBe(0);
    const swapped = ['--bind', 'my-device-id', '--bind', 'Bearer myauth_token'];
    expect(cli(['check', token, '--secret', SECRET, ...swapped]).out).toContain(
      'rejected: binding_mismatch',
    );
    expect(cli(['check', mint(), '--secret', SECRET, '--bind', 'x']).out).toContain(
      'rejected: missing_pay',
    );
  });

  it("computes the pay claim of Approov's published vectors", () => {
    expect(cli(['hash', 'Bearer myauth_token', 'my-device-id'])).toMatchObject({
      code: 0,
      out: '71tnS3rSq2lanEWrKz4MoexiOMtv7w0fspfM8BAQKNU=\n',
    });
    expect(cli(['hash']).code).toBe(2);
  });

  it("checks Approov's published tokens like the guard", () => {
    const { quickstarts } = vectors;
    const secret = ['--secret', quickstarts.secret_base64];
    for (const vector of quickstarts.cases.filter((c) => c.token)) {
      const { code } = cli(['check', vector.token!, ...secret]);
      expect({ name: vector.name, code }).toEqual({
        name: vector.name,
        code: vector.expect === 200 ? 0 : 1,
      });
    }
  });

  it('reads the secret from the flag, the environment, then ./.env', () => {
    const token = mint();
    expect(cli(['check', token], { env: { APPROOV_BASE64_SECRET: SECRET } }).code).toBe(0);
    const withDotEnv = mkdtempSync(join(folder, 'dotenv-'));
    writeFileSync(join(withDotEnv, '.env'), `# comment\nAPPROOV_BASE64_SECRET="${SECRET}"\n`);
    expect(cli(['check', token], { cwd: withDotEnv }).code).toBe(0);
    const missing = cli(['check', token]);
    expect(missing).toMatchObject({ code: 2, err: expect.stringContaining('No secret') });
  });

  it('explains a bad secret or flag with exit code 2, without echoing the secret', () => {
    const short = SECRET.slice(0, 24);
    const bad = cli(['token', '--secret', short]);
    expect(bad).toMatchObject({
      code: 2,
      err: expect.stringContaining('"secret" decodes to 18 bytes'),
    });
    expect(bad.err).not.toContain(short);
    expect(cli(['token', '--secret', SECRET, '--ttl', 'soon'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--ttl wants a number'),
    });
    expect(cli(['token', '--bogus'])).toMatchObject({
      code: 2,
      err: expect.stringContaining("'--bogus'"),
    });
  });
});
