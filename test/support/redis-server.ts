import { describe, it } from '@jest/globals';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { type EventEmitter, once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const HOST = '127.0.0.1';
/** How long a server may take to start, and a cluster to agree: far more than either needs. */
const START_DEADLINE_MS = 10_000;
const READY_LINE = 'Ready to accept connections';
/** The end of a server's output kept for the error when it fails to start. */
const KEPT_OUTPUT_CHARS = 4000;

/** Servers still running, stopped when the test process exits however it exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Whether `command --version` runs: the binary is installed and on the PATH. */
function installed(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

let canStartRedis: boolean | undefined;
/** Whether these tests can start their own servers (and clusters): redis-server and redis-cli. */
function redisInstalled(): boolean {
  return (canStartRedis ??= installed('redis-server') && installed('redis-cli'));
}

/**
 * What a suite needs: `shared` runs against `REDIS_URL` when it is set, or a server of its own;
 * `own` stops, pauses or reconfigures its server, so it always starts one.
 */
export type RedisNeed = 'shared' | 'own';

/** Whether CI is running the tests (`CI` set, and not to "false" as some setups do). */
const inCi = (): boolean => {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false';
};

/**
 * `describe()` for a suite that needs Redis. Without it (no redis-server, and no `REDIS_URL` for
 * a `shared` suite), the suite is skipped under a name that says why and how to run it, except in
 * CI, where it fails: CI must never pass by skipping.
 */
export function describeWithRedis(name: string, need: RedisNeed, suite: () => void): void {
  if (redisInstalled() || (need === 'shared' && process.env.REDIS_URL)) {
    describe(name, suite);
    return;
  }
  const install = "install Debian's redis-server (apt-get install redis-server)";
  const why =
    need === 'own'
      ? `redis-server or redis-cli not found; ${install} (REDIS_URL is not enough: these tests stop or pause their own server)`
      : `redis-server or redis-cli not found and REDIS_URL unset; ${install} or set REDIS_URL`;
  if (inCi()) {
    describe(name, () => {
      it(`cannot run: ${why}`, () => {
        throw new Error(`${name} needs Redis in CI: ${why}`);
      });
    });
  } else {
    describe.skip(`${name} [SKIPPED: ${why}]`, suite);
  }
}

/** A TCP port on loopback that nothing listens on (the system's pick for a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resolves at the next `event` of `emitter`. Unlike `events.once`, an `error` event meanwhile does
 * not reject it: an ioredis client emits one for each failed reconnection before it is `ready`.
 */
export function nextEvent(emitter: EventEmitter, event: string): Promise<void> {
  return new Promise((resolve) => emitter.once(event, () => resolve()));
}

/** Calls `check` until it returns true, every few milliseconds, failing after `deadlineMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  deadlineMs = START_DEADLINE_MS,
): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A redis-server of the test's own, on a free loopback port, without persistence, in its own
 * temporary directory. The test can stop it, restart it on the same port, pause it, and send it
 * commands on connections of their own.
 */
export class RedisServer {
  readonly host = HOST;
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: readonly string[],
  ) {}

  /** Starts a server, with `extraArgs` after the test settings; resolves once it takes commands. */
  static async start(extraArgs: readonly string[] = []): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'approov-redis-'));
    const server = new RedisServer(await freePort(), dir, extraArgs);
    try {
      await server.launch();
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  /** `redis://host:port`. */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** Stops the server (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    running.delete(child);
  }

  /** Starts the server again on the same port; resolves once it takes commands. */
  restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('the Redis server is running');
    return this.launch();
  }

  /** Sends one command on a connection of its own, and closes it. */
  async command(...args: (string | number)[]): Promise<unknown> {
    const admin = new Redis({
      host: this.host,
      port: this.port,
      lazyConnect: true,
      // A test's own command fails at once rather than retry a server the test stopped.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    // The failure reaches the caller as the rejection; the event would only be printed.
    admin.on('error', () => {});
    try {
      await admin.connect();
      const [name, ...rest] = args;
      return await admin.call(String(name), ...rest);
    } finally {
      admin.disconnect();
    }
  }

  /**
   * Holds every write command (`SET` among them) from every client until `unpause()`, or for at
   * most `ms`; reads and `PING` still answer.
   */
  async pauseWrites(ms = START_DEADLINE_MS): Promise<void> {
    await this.command('CLIENT', 'PAUSE', ms, 'WRITE');
  }

  /** Ends a pause of writes. */
  async unpause(): Promise<void> {
    await this.command('CLIENT', 'UNPAUSE');
  }

  /**
   * Holds every command from every client, `PING` and `CLIENT UNPAUSE` included, for `ms`: the
   * pause ends by itself only. `untilAnswering()` waits for its end.
   */
  async pauseAll(ms: number): Promise<void> {
    await this.command('CLIENT', 'PAUSE', ms, 'ALL');
  }

  /** Resolves once the server answers a PING: a pause of every command has ended. */
  async untilAnswering(): Promise<void> {
    await this.command('PING');
  }

  /** Stops the server and removes its directory. */
  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        this.host,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--logfile',
        '',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS);
    };
    // Read for as long as the server runs: a full pipe would block its logging, and the server.
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`redis-server did not start in ${START_DEADLINE_MS} ms`)),
          START_DEADLINE_MS,
        );
        const onData = () => {
          if (!output.includes(READY_LINE)) return;
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.off('exit', onExit);
          resolve();
        };
        const onExit = (code: number | null) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited (${code}) before it was ready`));
        };
        child.stdout.on('data', onData);
        child.once('exit', onExit);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
    } catch (error) {
      running.delete(child);
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}; its output:\n${output}`, { cause: error });
    }
    this.child = child;
  }
}

/**
 * How long a cluster may take to form: `redis-cli --cluster create` checks that the nodes agree
 * once a second, which takes it from one to several seconds.
 */
export const CLUSTER_START_DEADLINE_MS = 20_000;

/** A Redis Cluster of three masters on loopback, each a `RedisServer`, every slot assigned. */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  static async start(): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes);
    try {
      for (let started = 0; started < 3; started++) {
        nodes.push(
          await RedisServer.start([
            '--cluster-enabled',
            'yes',
            // In the server's own directory.
            '--cluster-config-file',
            'nodes.conf',
            // The bus port is the client port + 10000 unless set: that one may be taken, or > 65535.
            '--cluster-port',
            String(await freePort()),
          ]),
        );
      }
      await promisify(execFile)(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map(({ host, port }) => `${host}:${port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { timeout: CLUSTER_START_DEADLINE_MS },
      );
      await waitUntil('every node says cluster_state:ok', async () => {
        const infos = await Promise.all(nodes.map((node) => node.command('CLUSTER', 'INFO')));
        return infos.every((info) => String(info).includes('cluster_state:ok'));
      });
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Where an ioredis `Cluster` starts: every node. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map(({ host, port }) => ({ host, port }));
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.close()));
  }
}

/** The Redis of tests that only share one: `REDIS_URL`'s, or a server of their own. */
export interface SharedRedis {
  readonly url: string;
  close(): Promise<void>;
}

/** `REDIS_URL` when set, otherwise a new `RedisServer`. */
export async function sharedRedis(): Promise<SharedRedis> {
  const { REDIS_URL } = process.env;
  if (REDIS_URL) return { url: REDIS_URL, close: () => Promise.resolve() };
  const server = await RedisServer.start();
  return { url: server.url, close: () => server.close() };
}
