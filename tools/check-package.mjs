// `npm run check:package`: pack the library as `npm publish` would, and check the tarball with
// publint and Are the Types Wrong (every entry point, for ESM and CommonJS consumers).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });
const tarball = execFileSync('npm', ['pack', '--silent'], { cwd: root, encoding: 'utf8' }).trim();
try {
  run('npx', ['--no-install', 'publint', '--strict', tarball]);
  run('npx', ['--no-install', 'attw', tarball]);
} finally {
  rmSync(`${root}${tarball}`);
}
