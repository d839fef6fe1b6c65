// A BullMQ process for the fault drills (bench/drills.js), with BullMQ's defaults: the same roles
// and stdout protocol as events-process.js.
import { createInterface } from 'node:readline';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { Queue, Worker } from 'bullmq';

const { REDIS_URL, PREFIX = 'drill', ROLE = 'worker' } = process.env;
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const url = new URL(REDIS_URL);
const connection = { host: url.hostname, port: Number(url.port) };
const say = (line) => process.stdout.write(`${line}\n`);

if (ROLE === 'worker') {
  const worker = new Worker(
    'drill',
    async (job) => {
      const { key, ms } = job.data;
      say(`START ${key} ${Date.now()}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      say(`END ${key} ${Date.now()}`);
    },
    { connection, prefix: PREFIX, concurrency: CONCURRENCY },
  );
  worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
  worker.on('failed', (job, error) =>
    process.stderr.write(`job ${job?.id} failed: ${error.message}\n`),
  );
  await worker.waitUntilReady();
  process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
} else {
  const queue = new Queue('drill', {
    connection,
    prefix: PREFIX,
    defaultJobOptions: { attempts: 5, removeOnComplete: true },
  });
  queue.on('error', () => undefined);
  await queue.waitUntilReady();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, key, ms] = line.trim().split(' ');
    if (command === 'EMIT') {
      queue.add('job', { key, ms: Number(ms) }).then(
        () => say(`EMITTED ${key} ok ${Date.now()}`),
        (error) => say(`EMITTED ${key} fail ${Date.now()} ${error?.name ?? 'Error'}`),
      );
    } else if (command === 'COUNTS') {
      queue.getJobCounts('wait', 'delayed', 'active', 'paused', 'prioritized').then(
        (c) => say(`COUNTS ${Object.values(c).reduce((a, b) => a + b, 0)}`),
        () => say('COUNTS -1'),
      );
    }
  });
}
say('READY');
