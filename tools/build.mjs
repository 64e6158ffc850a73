// `npm run build`: the library as ES modules (dist/esm) and as CommonJS (dist/cjs), from the same
// sources, each folder marked with its module type, behind one `exports` map.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = (project) =>
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', project], {
    cwd: root,
    stdio: 'inherit',
  });
const markType = (folder, type) =>
  writeFileSync(`${root}${folder}/package.json`, `${JSON.stringify({ type })}\n`);

rmSync(`${root}dist`, { recursive: true, force: true });
tsc('tsconfig.build.json');
markType('dist/esm', 'module');
// The `bin` entry: npm makes it executable on install, but `npx` in this repository runs it as is.
chmodSync(`${root}dist/esm/cli/main.js`, 0o755);

// TypeScript decides a file's module type from the nearest package.json: compile a copy of the
// sources in a folder marked CommonJS.
const staging = `${root}dist/cjs-src`;
cpSync(`${root}src`, staging, {
  recursive: true,
  filter: (path) => !path.endsWith('.spec.ts'),
});
markType('dist/cjs-src', 'commonjs');
tsc('tsconfig.build-cjs.json');
rmSync(staging, { recursive: true, force: true });
markType('dist/cjs', 'commonjs');
