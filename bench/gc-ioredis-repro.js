// Profiling aid for the queue worker's GC (issue 15): a plain ioredis loop, no Nest and no
// nestjs-events. It reads a pre-filled stream with XREADGROUP COUNT 10 (a macrotask between reads)
// and, with SECOND=ping|ack, sends one more command per read. Run it with a small young generation
// so that many scavenges happen, and read the last ones (the steady state):
//
//   node --max-semi-space-size=2 --trace-gc-nvp bench/gc-ioredis-repro.js | sed -n '/^MARK/,$p' \
//     | grep -o 'gc=s .*' | grep -o 'promoted=[0-9]*'
//
// Seen on Node 20.20 (ioredis 6.0 and 5.11 alike, real-time priority, see README): reads alone
// promote ~2 KB per scavenge; with SECOND=ping (awaited or not) or SECOND=ack, ~400 KB, mostly the
// reads' reply strings and the Command objects. The cause here is V8's allocation-site
// pretenuring: the pipelined fill keeps 1,000 commands queued, so the site of ioredis's
// `commandQueue.push({ command, stream, select })` literal is marked "tenure" (every object of it
// found alive); from then on each queue item is allocated in old space and, once shifted, still
// points at its Command (its promise, its reply) until the next mark-compact. `node
// --no-allocation-site-pretenuring` makes it clean (checked with %InYoungGeneration on that
// literal: about half of them old). In the worker that site is not tenured, but another one of
// ioredis's read path is: with the flag, the worker cut down to its reads (bench/README.md) goes
// from ~160 to ~3 KB per scavenge; the full worker only from ~140 to ~100 KB (its acks and job
// runner keep something else alive). SECOND=script acks through an ioredis script command
// (`defineCommand`), the way the worker did before issue 15's fix: see bench/README.md for what
// that kept alive, and for the XREADGROUP replies V8 pretenures.
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';

const TOTAL = Number(process.env.TOTAL ?? 20_000);
const SECOND = process.env.SECOND ?? 'none';
const redis = await startRedis();
const cmd = new Redis({ port: redis.port });
const reader = new Redis({ port: redis.port });
await cmd.xgroup('CREATE', 's', 'g', '0', 'MKSTREAM');
for (let from = 0; from < TOTAL; from += 1000) {
  const pipeline = cmd.pipeline();
  for (let i = from; i < from + 1000; i++) {
    pipeline.xadd('s', '*', 'p', JSON.stringify({ i, pad: 'x'.repeat(180) }));
  }
  await pipeline.exec();
}
cmd.defineCommand('ackScript', {
  numberOfKeys: 1,
  lua: "return redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))",
});
console.log('MARK');
let handled = 0;
while (handled < TOTAL) {
  await new Promise((resolve) => setTimeout(resolve, 0));
  const reply = await reader.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', 's', '>');
  if (!reply?.[0]) continue;
  handled += reply[0][1].length;
  if (SECOND === 'ping') await cmd.ping();
  else if (SECOND === 'ack') await cmd.xack('s', 'g', ...reply[0][1].map(([entry]) => entry));
  else if (SECOND === 'script')
    await cmd.ackScript('s', 'g', ...reply[0][1].map(([entry]) => entry));
  else if (SECOND === 'timer') await new Promise((resolve) => setTimeout(resolve, 0));
}
cmd.disconnect();
reader.disconnect();
await redis.stop();
