import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { closeSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { generateApproovKeyPair, mintApproovToken } from 'nestjs-approov/testing';
import {
  BENCH_REDIS_URL_VARIABLE,
  KEYSET_KIDS,
  KEYSET_PUBLIC_KEYS_VARIABLE,
  type KeysetAlgorithm,
} from './guards.js';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

/** Whether `taskset` can pin processes here (Linux with util-linux). */
export const canPin = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Pins this process, the load generator, to CPU 1, away from the app. */
export function pinLoadToCpu1(): void {
  if (canPin)
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
}

/** An amount of log output. */
export interface LogVolume {
  lines: number;
  bytes: number;
}

/** Counts the lines of a growing file, reading only what was added since the last call. */
function logCounter(path: string): () => LogVolume {
  const volume = { lines: 0, bytes: 0 };
  const chunk = Buffer.alloc(1 << 20);
  return () => {
    const fd = openSync(path, 'r');
    try {
      for (let read; (read = readSync(fd, chunk, 0, chunk.length, volume.bytes)) > 0;) {
        for (let at = chunk.indexOf(10); at >= 0 && at < read; at = chunk.indexOf(10, at + 1)) {
          volume.lines += 1;
        }
        volume.bytes += read;
      }
    } finally {
      closeSync(fd);
    }
    return { ...volume };
  };
}

/**
 * `count` distinct tokens signed with `key`, each naming its own device and valid for an hour: a
 * stream in which every request is a first sighting for the guard's caches.
 */
export function mintDistinctTokens(
  count: number,
  key: Parameters<typeof mintApproovToken>[0],
): string[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    mintApproovToken({ ...key, now, ttlSeconds: 3600, claims: { did: `device-${i}` } }),
  );
}

/** The benchmarked app in a child process, pinned to CPU 0 where possible. */
export interface BenchServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** The child's resident memory, in bytes. */
  rss(): number;
  /** The file the app's stdout (Nest's logger) goes to, as in production. */
  readonly logFile: string;
  /** How much the app has written to its log file so far: lines and bytes. */
  logged(): LogVolume;
  /**
   * Waits until the app has worked off what the last load left it: pipelined requests already
   * read go on running after the load generator stops (100 connections x 10 of `/quickstart`
   * are more than a second of work), and would slow the next route's load. Returns when the
   * child's CPU time stops growing (at most 10% of a CPU over 100 ms), after 10 s at most.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The CPU time of process `pid` so far, in clock ticks (usually 100 a second). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function settle(pid: number): Promise<void> {
  let last: number;
  try {
    last = cpuTicks(pid);
  } catch {
    await sleep(2000); // No /proc: a pause long enough for `/quickstart`'s backlog.
    return;
  }
  for (let waited = 0; waited < 10_000; waited += 100) {
    await sleep(100);
    const now = cpuTicks(pid);
    if (now - last <= 1) return;
    last = now;
  }
}

type KeyPair = ReturnType<typeof generateApproovKeyPair>;
let keysetPairs: Record<KeysetAlgorithm, KeyPair> | undefined;

/**
 * The keyset key pairs of this run, made on first use in this process, which signs the tokens;
 * `startServer()` gives the app their public keys.
 */
export function keysetKeyPairs(): Record<KeysetAlgorithm, KeyPair> {
  keysetPairs ??= Object.fromEntries(
    Object.keys(KEYSET_KIDS).map((alg) => [alg, generateApproovKeyPair(alg as KeysetAlgorithm)]),
  ) as Record<KeysetAlgorithm, KeyPair>;
  return keysetPairs;
}

/**
 * Starts the app on `adapter`; with `redisUrl`, its replay store is the Redis there instead of
 * its memory.
 */
export async function startServer(
  adapter: 'fastify' | 'express',
  redisUrl?: string,
): Promise<BenchServer> {
  const publicKeys = Object.fromEntries(
    Object.entries(keysetKeyPairs()).map(([alg, { publicKey }]) => [
      alg,
      publicKey.export({ format: 'pem', type: 'spki' }),
    ]),
  );
  const logFile = `${os.tmpdir()}/nestjs-approov-bench-${adapter}-${process.pid}.log`;
  const log = openSync(logFile, 'w');
  const child = fork(SERVER, [adapter], {
    // A file, not a pipe: Node writes to it synchronously, as a production app logging to a file.
    stdio: ['ignore', log, 'inherit', 'ipc'],
    execPath: canPin ? 'taskset' : process.execPath,
    execArgv: canPin ? ['-c', '0', process.execPath] : [],
    env: {
      ...process.env,
      [KEYSET_PUBLIC_KEYS_VARIABLE]: JSON.stringify(publicKeys),
      ...(redisUrl !== undefined && { [BENCH_REDIS_URL_VARIABLE]: redisUrl }),
    },
  });
  closeSync(log);
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    logFile,
    logged: logCounter(logFile),
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
    },
    settle: () => settle(child.pid!),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          rmSync(logFile, { force: true });
          resolve();
        });
        child.kill();
      }),
  };
}

/** A Redis for the replay store's routes, and how to stop it if this run started it. */
export interface BenchRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The Redis of this run: REDIS_URL's, or a `redis-server` started on a free loopback port without
 * persistence (pinned beside the load generator, away from the app, at a higher priority than the
 * load generator); `undefined` when there is neither, and the Redis variant is left out.
 */
export async function startRedis(): Promise<BenchRedis | undefined> {
  const given = process.env.REDIS_URL;
  if (given !== undefined) return { url: given, stop: () => Promise.resolve() };
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  let child: ChildProcess;
  try {
    // Beside the load generator, ahead of it: as on a machine of its own, Redis answers at once.
    const command = ['nice', '-n', '-10', 'redis-server', ...args];
    const pinned = canPin ? ['taskset', '-c', '1', ...command] : command;
    child = spawn(pinned[0], pinned.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
  } catch (error) {
    process.stderr.write(`no Redis (${String(error)}): the Redis variant is left out\n`);
    return undefined;
  }
  child.stdout!.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** A TCP port free on loopback now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** What the results were measured on. */
export function environment(): Record<string, unknown> {
  const versionOf = (name: string): string => {
    const path = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  };
  return {
    date: new Date().toISOString(),
    node: process.version,
    openssl: process.versions.openssl,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    pinned: canPin ? 'server on CPU 0, load from CPU 1' : 'not pinned (no taskset)',
    packages: Object.fromEntries(
      [
        '@nestjs/core',
        '@nestjs/platform-fastify',
        '@nestjs/platform-express',
        '@nestjs/jwt',
        'jsonwebtoken',
        'fastify',
        'express',
        'autocannon',
      ].map((name) => [name, versionOf(name)]),
    ),
  };
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
