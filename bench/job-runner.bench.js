// The worker's own cost per job, without Redis: JobRunner.process over no-op jobs (a plain sync
// listener, metrics and tracing off) with a transport that acknowledges at once, 10 at a time.
// Prints CPU time per job (process.cpuUsage, median and best of 5 rounds of 100,000 jobs).
//
//   npm run build && node bench/job-runner.bench.js        (ASYNC=1: an async listener)
//
// It measures what the queue bench cannot separate from Redis and the socket: the path from a
// reserved job to its ack request (decode, bookkeeping, context, call, outcome). On a loaded
// machine compare two builds in the same session (ROOT=<dir with dist/>), taking turns.
import 'reflect-metadata';
import { resolve } from 'node:path';
import { pathToFileURL, URL } from 'node:url';

const root = pathToFileURL(resolve(process.env.ROOT ?? new URL('..', import.meta.url).pathname));
const load = (path) => import(new URL(`dist/${path}`, `${root}/`).href);
const { ListenerRegistry } = await load('discovery/listener.registry.js');
const { serializeEnvelope } = await load('event/event.serializer.js');
const { InFlight } = await load('queue/in-flight.js');
const { JobRunner } = await load('queue/job-runner.js');
const { JobSettler } = await load('queue/job-settler.js');

const ROUND = 100_000;
const WIDTH = 10;
const registry = new ListenerRegistry();
registry.add({
  id: 'Bench.handle',
  patterns: ['bench.event'],
  priority: 0,
  info: { id: 'Bench.handle', isQueued: true },
  invoke: process.env.ASYNC === '1' ? async () => undefined : () => undefined,
  isAsync: process.env.ASYNC === '1',
  queue: { queue: 'bench', tries: 3, backoff: 0, timeout: 0, delay: 0 },
  eventClasses: [],
});
const inFlight = new InFlight();
const transport = { ack: () => Promise.resolve() };
// The settler's give-up signal: never fired here (no settle fails).
const settler = new JobSettler(transport, { aborted: false });
const runner = new JobRunner(settler, registry, inFlight, { unknownListenerGraceMs: 0 }, () => {});
const payload = serializeEnvelope(
  {
    id: 'e1',
    name: 'bench.event',
    data: { i: 1 },
    metadata: { correlationId: 'e1' },
    timestamp: 1,
  },
  1 << 20,
);
const jobs = Array.from({ length: 1000 }, (_, n) => ({
  id: `e${n}:Bench.handle`,
  queue: 'bench',
  listener: 'Bench.handle',
  payload,
  attempt: 1,
  enqueuedAt: 1,
  receipt: `1-${n}/1`,
}));

async function round(count) {
  for (let k = 0; k < count; k += WIDTH) {
    const running = [];
    for (let j = 0; j < WIDTH; j++) running.push(runner.process(jobs[(k + j) % jobs.length]));
    await Promise.all(running);
  }
  while (inFlight.settling.size > 0) await Promise.all([...inFlight.settling.keys()]);
}

await round(ROUND / 2);
const nsPerJob = [];
for (let r = 0; r < 5; r++) {
  const cpu = process.cpuUsage();
  await round(ROUND);
  const used = process.cpuUsage(cpu);
  nsPerJob.push(Math.round(((used.user + used.system) * 1000) / ROUND));
}
nsPerJob.sort((a, b) => a - b);
const [loadAverage] = (await import('node:os')).loadavg();
console.log(
  `JobRunner alone (${process.env.ASYNC === '1' ? 'async' : 'sync'} no-op listener): ` +
    `${nsPerJob[2]} ns CPU per job (median of 5 x ${ROUND}), best ${nsPerJob[0]}; ` +
    `load average ${loadAverage.toFixed(1)}`,
);
