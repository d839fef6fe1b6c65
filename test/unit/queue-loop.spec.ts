import { describe, expect, it } from 'vitest';
import { InFlight } from '../../lib/queue/in-flight.js';
import type { JobRunner } from '../../lib/queue/job-runner.js';
import type { JobSettler } from '../../lib/queue/job-settler.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import { QueueLoop } from '../../lib/queue/queue-loop.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';

/**
 * A loop over a fake transport that hands `max` fresh jobs per read, with sync handlers (the
 * worker runs a whole read in one go and reads ahead). `onRead(call, max)` runs at each read.
 */
function harness(isGrouped: boolean, onRead: (call: number, max: number) => void) {
  let next = 0;
  let calls = 0;
  const started: ReservedJob[] = [];
  const released: ReservedJob[] = [];
  const transport = {
    reserve: (_queue: string, max: number): Promise<ReservedJob[]> => {
      onRead(++calls, max);
      const jobs = Array.from({ length: max }, (): ReservedJob => {
        const id = `j${++next}`;
        return {
          id,
          queue: 'q',
          listener: 'L.handle',
          payload: '{}',
          attempt: 1,
          enqueuedAt: 0,
          receipt: `${id}/1`,
          ...(isGrouped && { group: `g${next % 3}` }),
        };
      });
      return Promise.resolve(jobs);
    },
  } as unknown as QueueTransport;
  const runner = {
    processNow: (job: ReservedJob) => void started.push(job),
    reportUnsettled: () => undefined,
  } as unknown as JobRunner;
  const settler = {
    release: (job: ReservedJob) => (released.push(job), Promise.resolve()),
  } as unknown as JobSettler;
  const inFlight = new InFlight();
  // Jobs wait in read-ahead for up to ten minutes: only the stop itself may end the loop.
  const loop = new QueueLoop('q', 2, transport, runner, settler, inFlight, 600_000, isGrouped);
  return { loop, started, released, inFlight, taken: () => next };
}

/**
 * Runs the loop and stops it right when its second read past the slots is sent: that read is
 * sent from inside a read being run, while the loop lets it go out (answered at once).
 */
async function stoppedWhileReading(isGrouped: boolean) {
  const controller = new AbortController();
  let bigReads = 0;
  const h = harness(isGrouped, (_call, max) => {
    if (max > 2 && ++bigReads === 2) queueMicrotask(() => controller.abort());
  });
  await h.loop.run(controller.signal);
  expect(controller.signal.aborted).toBe(true);
  return h;
}

describe('QueueLoop: stopping while sync handlers run a read', () => {
  it('returns at once when the stop comes while the next read goes out', async () => {
    const h = await stoppedWhileReading(false);
    // Every job taken either ran or went back; none ran after the stop.
    expect(h.started.length + h.released.length).toBe(h.taken());
    expect(h.released.length).toBeGreaterThan(0);
    expect(h.inFlight.ahead.size).toBe(0);
  }, 10_000);

  it('gives grouped jobs back last taken first, so that each group keeps its order', async () => {
    const h = await stoppedWhileReading(true);
    const order = h.released.map((job) => Number(job.id.slice(1)));
    expect(order.length).toBeGreaterThan(1);
    // Each release goes to the head of its group: the last taken must go first.
    expect(order).toEqual([...order].sort((a, b) => b - a));
  }, 10_000);
});
