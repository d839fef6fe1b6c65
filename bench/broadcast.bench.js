// Broadcasting benchmark: messages/s delivered to 100 connected socket.io clients, nestjs-events
// (immediate broadcasts, and queued ones through the Redis transport) against plain socket.io
// `server.to(room).emit`. Each server runs in its own process (bench/broadcast/server-process.js);
// the same 100 clients (this process) receive from each. Prints a markdown section on stdout.
//
//   npm run build && node bench/broadcast.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// Rate: clients x messages / (first emit -> last delivery). Latency: emit -> receive, per delivery
// (one machine, so both clocks are this machine's). Targets: immediate >= 70% and queued >= 40%
// of plain socket.io's rate.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, URL } from 'node:url';
import { io } from 'socket.io-client';
import { startRedis } from './redis-server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const CLIENTS = Number(process.env.BENCH_BROADCAST_CLIENTS ?? 100);
const MESSAGES = Number(process.env.BENCH_BROADCAST_MESSAGES ?? (QUICK ? 200 : 2000));
const TARGETS = { immediate: 0.7, queued: 0.4 };
const log = (message) => process.stderr.write(`[broadcast.bench] ${message}\n`);
const now = () => performance.timeOrigin + performance.now();
const SERVER = fileURLToPath(new URL('./broadcast/server-process.js', import.meta.url));

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

const nextMessage = (child) => new Promise((resolve) => child.once('message', resolve));

async function run(mode, redisUrl) {
  const child = fork(SERVER, [mode, redisUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await nextMessage(child);
  const sockets = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
      await new Promise((resolve) => socket.once('connect', resolve));
      const ack = await socket.emitWithAck('subscribe', { channel: 'bench' });
      if (!ack.ok) throw new Error(`${mode}: subscribe refused`);
      return socket;
    }),
  );
  const expected = CLIENTS * MESSAGES;
  const latencies = new Float64Array(expected);
  let received = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  for (const socket of sockets) {
    socket.on('tick', ({ data }) => {
      latencies[received] = now() - data.at;
      if (++received === expected) resolveDone();
    });
  }
  const start = performance.now();
  child.send({ emit: MESSAGES });
  await done;
  const seconds = (performance.now() - start) / 1000;
  sockets.forEach((s) => s.disconnect());
  child.kill('SIGTERM');
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return { rate: expected / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const redis = await startRedis();
try {
  const results = {};
  for (const mode of ['plain', 'immediate', 'queued']) {
    log(`${mode}: ${CLIENTS} clients x ${MESSAGES} messages`);
    results[mode] = await run(mode, redis.url);
  }
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const lines = [
    '## Broadcasting (socket.io, 100 clients)',
    '',
    `${CLIENTS} clients subscribed to one channel, ${MESSAGES} messages each; nestjs-events on Redis (redis adapter; queued: Redis Streams transport).`,
    '',
    '| server | deliveries/s | emit→receive p50 (ms) | p99 (ms) | vs plain | target |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const [mode, r] of Object.entries(results)) {
    const ratio = r.rate / results.plain.rate;
    const target = TARGETS[mode];
    const verdict =
      target === undefined ? '' : `${target * 100}%: ${ratio >= target ? 'met' : 'MISSED'}`;
    const name = mode === 'plain' ? 'plain socket.io `to(room).emit`' : `nestjs-events ${mode}`;
    lines.push(
      `| ${name} | ${fmt(r.rate)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${(ratio * 100).toFixed(0)}% | ${verdict} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await redis.stop();
}
