// `npm run test:consumers`: install the packed library, as a user would, into two new apps, a
// Nest 11 CommonJS app (jest in its default CommonJS mode) and a Nest 12 ES-module app, and run
// the same e2e suites (tools/consumer-app.e2e-spec.ts, tools/consumer-jwks.e2e-spec.ts) in each,
// on Express and Fastify.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'nestjs-approov-consumers-'));
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: 'inherit' });
const writeJson = (path, value) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);

const shared = {
  'reflect-metadata': '0.2.2',
  rxjs: '7.8.2',
  jest: '30.5.2',
  'ts-jest': '29.4.15',
  '@types/jest': '30.0.0',
  '@types/node': '20.19.11',
  supertest: '7.3.2',
  '@types/supertest': '7.2.1',
};
const nest = (major) =>
  major === 11
    ? {
        '@nestjs/common': '11.2.10',
        '@nestjs/core': '11.2.10',
        '@nestjs/platform-express': '11.2.10',
        '@nestjs/platform-fastify': '11.2.8',
        '@nestjs/testing': '11.2.6',
        typescript: '5.9.3',
      }
    : {
        '@nestjs/common': '12.5.1',
        '@nestjs/core': '12.5.1',
        '@nestjs/platform-express': '12.5.1',
        '@nestjs/platform-fastify': '12.5.0',
        '@nestjs/testing': '12.1.1',
        typescript: '6.0.3',
      };

const APPS = [
  {
    name: 'nest11-commonjs',
    major: 11,
    type: 'commonjs',
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
    jest: { testEnvironment: 'node', transform: { '^.+\\.ts$': 'ts-jest' } },
    // The library loads in CommonJS jest as is; an app with a JWKS URL loads `jose`, an ES module,
    // which CommonJS jest can import on Node < 24.9 only with the VM modules flag.
    runs: [
      ['node_modules/jest/bin/jest.js', 'test/app'],
      ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', 'test/jwks'],
    ],
  },
  {
    name: 'nest12-esm',
    major: 12,
    type: 'module',
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', isolatedModules: true },
    jest: {
      testEnvironment: 'node',
      extensionsToTreatAsEsm: ['.ts'],
      transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
    },
    runs: [['--experimental-vm-modules', 'node_modules/jest/bin/jest.js']],
  },
];

try {
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
  for (const app of APPS) {
    const folder = join(work, app.name);
    mkdirSync(join(folder, 'test'), { recursive: true });
    writeJson(join(folder, 'package.json'), {
      name: app.name,
      private: true,
      type: app.type,
      dependencies: {
        ...nest(app.major),
        ...shared,
        'nestjs-approov': `file:${join(work, tarball)}`,
      },
      jest: { ...app.jest, testMatch: ['**/test/**/*.e2e-spec.ts'] },
    });
    writeJson(join(folder, 'tsconfig.json'), {
      compilerOptions: {
        target: 'ES2022',
        ...app.compilerOptions,
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ['node', 'jest'],
      },
    });
    for (const suite of ['app', 'jwks']) {
      copyFileSync(
        join(root, `tools/consumer-${suite}.e2e-spec.ts`),
        join(folder, `test/${suite}.e2e-spec.ts`),
      );
    }
    console.log(`\n${app.name}: installing Nest ${app.major} and the packed nestjs-approov`);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], folder);
    console.log(`${app.name}: running its e2e suites`);
    for (const args of app.runs) run(process.execPath, args, folder);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
