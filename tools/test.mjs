// `npm test [-- <jest arguments>]`: Jest in ESM mode. @nestjs/throttler is CommonJS that requires
// Nest's ES modules, which Jest can load only on Node.js 24.9 or later (plain Node 20 can), so
// below 24.9 the suites that load it (the throttler's and the sample app's) run on the pinned
// Node 24 (tools/node-runtimes.mjs): after the rest when no arguments are given (the whole suite),
// alone when the arguments name one, not at all otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jestConfig from '../jest.config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const NODE24_SUITES = ['test/throttler.e2e-spec.ts', 'test/sample-app.e2e-spec.ts'];
const args = process.argv.slice(2);

/** Runs Jest with `jestArgs` on the Node.js in `bin` (this one by default); its exit code. */
function jest(jestArgs, bin) {
  const node = bin === undefined ? process.execPath : path.join(bin, 'node');
  const env =
    bin === undefined ? process.env : { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const run = spawnSync(
    node,
    ['--experimental-vm-modules', path.join(root, 'node_modules/jest/bin/jest.js'), ...jestArgs],
    { cwd: root, env, stdio: 'inherit' },
  );
  return run.status ?? 1;
}

const node24 = () =>
  execFileSync(process.execPath, [path.join(root, 'tools/node-runtimes.mjs'), '24'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .toString()
    .trim();

/** Whether an argument that may be a path pattern (positional, or an `--option=value`) names one. */
const namesNode24Suite = args.some((arg) => {
  const pattern = !arg.startsWith('-')
    ? arg
    : arg.includes('=')
      ? arg.slice(arg.indexOf('=') + 1)
      : '';
  if (pattern === '') return false;
  try {
    // As Jest reads path patterns: case-insensitive, against absolute paths.
    const regExp = new RegExp(pattern, 'i');
    return NODE24_SUITES.some((suite) => regExp.test(path.join(root, suite)));
  } catch {
    return false;
  }
});

const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 24 || (major === 24 && minor >= 9)) {
  process.exit(jest(args));
}
if (namesNode24Suite) {
  console.log(`Node ${process.version}: Jest cannot load @nestjs/throttler here; on Node 24:`);
  process.exit(jest(args, node24()));
}
// The CLI's patterns replace the configuration's (Jest's default: node_modules).
const ignored = [
  ...(jestConfig.testPathIgnorePatterns ?? ['/node_modules/']),
  ...NODE24_SUITES.map((suite) => `/${suite.replaceAll('.', '\\.')}$`),
];
const status = jest([...args, '--testPathIgnorePatterns', ...ignored]);
if (args.length > 0) {
  console.log(
    `Not run: ${NODE24_SUITES.join(', ')} (Jest loads @nestjs/throttler on Node 24.9 or later only)`,
  );
  process.exit(status);
}
console.log(
  `Then ${NODE24_SUITES.join(', ')} on Node 24: Jest cannot load @nestjs/throttler on ${process.version}`,
);
const node24Status = jest(NODE24_SUITES, node24());
process.exit(status !== 0 ? status : node24Status);
