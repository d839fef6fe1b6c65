// A private redis-server for the benchmarks, the soak and the fault drills: a free loopback port,
// a temp dir, persistence off unless asked. Never the machine's shared Redis.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function isListening(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts redis-server and resolves once it accepts connections. `appendOnly: true` keeps an AOF
 * with `appendfsync always`, so a kill -9 loses nothing that was acknowledged.
 * Returns `{ port, url, pid, kill(), start(), pause(), resume(), stop() }`: `kill` is SIGKILL, `start`
 * starts it again on the same port and directory (resolves once it listens), `pause`/`resume` are
 * SIGSTOP/SIGCONT, `stop` kills it and deletes its directory.
 */
export async function startRedis({ appendOnly = false } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'always');
  let child;
  const server = {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** The running server's process id (e.g. for `chrt -p`). */
    get pid() {
      return child?.pid;
    },
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      while (!(await isListening(port))) await sleep(5);
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    stop() {
      child?.kill('SIGCONT');
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
