// BullMQ's side of the queue benches: `events` jobs stored with addBulk (in chunks of `chunk`),
// then one worker at `concurrency` drains them to a no-op handler. `onDrain` as in ours-drain.js.
// Resolves to jobs per second.
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { Queue, Worker } from 'bullmq';

export async function bullmqDrain(url, prefix, { events, concurrency, chunk, onDrain }) {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new Queue(prefix, { connection });
  const opts = { removeOnComplete: true, removeOnFail: true };
  for (let from = 0; from < events; from += chunk) {
    await queue.addBulk(
      Array.from({ length: chunk }, (_, k) => ({ name: 'job', data: { i: from + k }, opts })),
    );
  }
  let handled = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  await onDrain?.before();
  const startedAt = performance.now();
  const worker = new Worker(
    prefix,
    async () => {
      if (++handled === events) resolveDone();
    },
    { connection, concurrency },
  );
  await done;
  const seconds = (performance.now() - startedAt) / 1000;
  await onDrain?.after();
  await worker.close();
  await queue.close();
  return events / seconds;
}
