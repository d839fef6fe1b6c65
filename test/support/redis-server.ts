import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of a private redis-server. */
export interface RedisServerOptions {
  /** Turn on the append-only file (fsync every write), so a restart keeps the data. @default false */
  readonly appendOnly?: boolean;
  /** `maxmemory-policy`, to test what the module says about eviction. @default 'noeviction' */
  readonly maxmemoryPolicy?: string;
  /** RDB snapshot rules (`save`), empty for none. @default '' */
  readonly save?: string;
  /** More `redis-server` arguments, e.g. `['--replicaof', '127.0.0.1', '6390']`. @default [] */
  readonly args?: readonly string[];
}

/** How many free ports a first start tries. */
const START_ATTEMPTS = 5;

/** The server exited while starting (its port taken, most often). */
class ServerExitedError extends Error {
  constructor(code: number | null) {
    super(`redis-server exited (${code}) at start`);
  }
}

/** A free loopback TCP port, as the OS hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A `redis-server` of the test's own, on a free loopback port and in a temp directory:
 * persistence off unless asked, never the machine's shared Redis. `kill()` stops it hard
 * (SIGKILL), `start()` starts it again on the same port and directory.
 */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'nestjs-events-redis-'));
  port = 0;
  private child: ChildProcess | undefined;

  constructor(private readonly options: RedisServerOptions = {}) {}

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (on a new free port the first time) and resolves once it accepts clients. */
  async start(): Promise<void> {
    if (this.port !== 0) return this.spawn();
    // A free port may be taken by a parallel test file before the server binds it: the server
    // then exits, and the first start tries again on a new port.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        return await this.spawn();
      } catch (error) {
        if (attempt === START_ATTEMPTS || !(error instanceof ServerExitedError)) throw error;
      }
    }
  }

  private async spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      this.options.save ?? '',
      '--appendonly',
      this.options.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--maxmemory-policy',
      this.options.maxmemoryPolicy ?? 'noeviction',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      '--logfile',
      join(this.dir, 'redis.log'),
      ...(this.options.args ?? []),
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new ServerExitedError(code))),
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (!(await Promise.race([canConnect(this.port), exited]))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGKILL: no shutdown save, connections drop at once. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  /** SIGSTOP: the server keeps its connections but answers nothing until `resume()`. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after `pause()`. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the server and deletes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a private redis-server (see `RedisServer`). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = new RedisServer(options);
  await server.start();
  return server;
}
