import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { resolveEventsOptions } from 'nestjs-events';
import { createRedisQueueTransport } from '../../lib/queue/redis/redis-queue.transport.js';
import type { NewJob, ReservedJob } from '../../lib/queue/queue-job.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';

/** Commands Redis ran since the last RESETSTAT, those run by scripts included. */
export async function commandCount(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info' && m[1] !== 'config|resetstat') calls += Number(m[2]);
  }
  return calls;
}

/** Job `i` of `queue`, in `group` (none when undefined) with its concurrency and weight. */
export function groupJob(
  queue: string,
  i: number,
  group?: string,
  concurrency = 2,
  weight = 1,
): NewJob {
  return {
    id: `${queue}-${group ?? 'none'}-${i}`,
    queue,
    listener: 'L.handle',
    payload: JSON.stringify({ i }),
    delayMs: 0,
    ...(group !== undefined && {
      group: { id: group, weight, concurrency, rateMax: 0, rateMs: 0 },
    }),
  };
}

/** Reserves until `count` jobs are held (each read waits at most 2 s). */
export async function reserveAll(
  transport: QueueTransport,
  queue: string,
  count: number,
  isGrouped: boolean,
): Promise<ReservedJob[]> {
  const reserved: ReservedJob[] = [];
  while (reserved.length < count) {
    const signal = AbortSignal.timeout(2000);
    reserved.push(
      ...(await transport.reserve(queue, count - reserved.length, signal, { isGrouped })),
    );
  }
  return reserved;
}

/**
 * One more take, as a running worker makes: a group without limits whose last job a take started
 * stays in the rotation until a take finds it empty and drops it.
 */
export async function takeAgain(transport: QueueTransport, queue: string): Promise<void> {
  expect(await transport.reserve(queue, 1, AbortSignal.timeout(200), { isGrouped: true })).toEqual(
    [],
  );
}

/** A Redis transport on `url` with its own prefix for one test, closed after it. */
export async function withTransport(
  url: string,
  prefix: string,
  test: (transport: QueueTransport) => Promise<void>,
): Promise<void> {
  const transport = await createRedisQueueTransport(
    resolveEventsOptions({ redis: url, prefix }, {}),
  );
  try {
    await test(transport);
  } finally {
    await transport.close();
  }
}
