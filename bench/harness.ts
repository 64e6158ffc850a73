import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

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

/** The benchmarked app in a child process, pinned to CPU 0 where possible. */
export interface BenchServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** The child's resident memory, in bytes. */
  rss(): number;
  stop(): Promise<void>;
}

export async function startServer(adapter: 'fastify' | 'express'): Promise<BenchServer> {
  const child = fork(SERVER, [adapter], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execPath: canPin ? 'taskset' : process.execPath,
    execArgv: canPin ? ['-c', '0', process.execPath] : [],
  });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
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
