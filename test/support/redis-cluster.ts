import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

interface ClusterNodeProcess {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
}

function cli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
  });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} not reached in 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** How many fresh port pairs a node gets when another process took its port meanwhile. */
const NODE_ATTEMPTS = 5;

/**
 * One cluster-enabled redis-server on free loopback ports, up and answering. The ports are free
 * when asked for, yet another process (a parallel test file) may take one before the server
 * binds it: the server then exits, and the node starts again on new ports.
 */
async function startNode(): Promise<ClusterNodeProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // The cluster bus gets a free port of its own (the default, port + 10000, may be taken).
    const busPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-events-cluster-'));
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--cluster-port',
        String(busPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
        '--loglevel',
        'warning',
        '--logfile',
        join(dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    const node = { port, dir, child };
    const isGone = (): boolean => child.exitCode !== null || child.signalCode !== null;
    // Our own process answering, not another test's server that took the port.
    const isOurs = (): boolean => cli(port, 'INFO', 'server').includes(`process_id:${child.pid}`);
    await until(`node ${port} up or gone`, () => isGone() || isOurs());
    if (!isGone()) return node;
    rmSync(dir, { recursive: true, force: true });
    if (attempt === NODE_ATTEMPTS)
      throw new Error(`redis cluster: no node started in ${NODE_ATTEMPTS} attempts`);
  }
}

/**
 * A Redis Cluster of the test's own: three masters (no replicas) on free loopback ports, each
 * in a temp directory with persistence off. Never the machine's shared Redis.
 */
export class RedisCluster {
  readonly nodes: ClusterNodeProcess[] = [];

  /** Startup nodes for ioredis / `forRoot({ redis: { cluster } })`. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** Starts the three masters, creates the cluster, and resolves once every node says `ok`. */
  async start(masters = 3): Promise<void> {
    for (let i = 0; i < masters; i++) this.nodes.push(await startNode());
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${created.stdout}${created.stderr}`);
    for (const node of this.nodes) {
      await until(`cluster_state:ok on ${node.port}`, () =>
        cli(node.port, 'CLUSTER', 'INFO').includes('cluster_state:ok'),
      );
    }
  }

  /** The master that owns `key`'s slot now. */
  ownerOf(key: string): number {
    const slot = Number(cli(this.nodes[0].port, 'CLUSTER', 'KEYSLOT', key).trim());
    for (const node of this.nodes) {
      const shards = cli(node.port, 'CLUSTER', 'MYID').trim();
      const lines = cli(node.port, 'CLUSTER', 'NODES').split('\n');
      const mine = lines.find((l) => l.startsWith(shards));
      const ranges = mine?.split(' ').slice(8) ?? [];
      for (const range of ranges) {
        const [from, to] = range.split('-').map(Number);
        if (slot >= from && slot <= (to ?? from)) return node.port;
      }
    }
    throw new Error(`no node owns slot ${slot}`);
  }

  /** Kills every node and deletes their directories. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    for (const { dir } of this.nodes.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a private three-master Redis Cluster (see `RedisCluster`). */
export async function startRedisCluster(): Promise<RedisCluster> {
  const cluster = new RedisCluster();
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
