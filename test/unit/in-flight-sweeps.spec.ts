import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { InFlight } from '../../lib/queue/in-flight.js';
import { InFlightSweeps } from '../../lib/queue/in-flight-sweeps.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { waitFor } from '../support/wait-for.js';

/** A transport whose heartbeats resolve when the test says so, and whose link can "come back". */
function transport() {
  const beats: { jobs: number; done: () => void }[] = [];
  let reconnected: (() => void) | undefined;
  const t = {
    heartbeat: (jobs: readonly ReservedJob[]) =>
      new Promise<readonly ReservedJob[]>((resolve) => {
        beats.push({ jobs: jobs.length, done: () => resolve([]) });
      }),
    onReconnect: (listener: () => void) => {
      reconnected = listener;
      return () => (reconnected = undefined);
    },
  } as unknown as QueueTransport;
  return { t, beats, reconnect: () => reconnected?.(), isSubscribed: () => !!reconnected };
}

const job = { id: 'j', queue: 'q', receipt: 'q/1-0/1' } as ReservedJob;
let sweeps: InFlightSweeps | undefined;
afterEach(() => sweeps?.stop());

describe('InFlightSweeps', () => {
  it('heartbeats at once when the transport reconnects, not a heartbeat interval later', async () => {
    const { t, beats, reconnect } = transport();
    const inFlight = new InFlight();
    inFlight.ahead.add(job);
    sweeps = new InFlightSweeps(t, inFlight, new Logger('test'));
    sweeps.start(600_000, 0); // interval: 200 s
    reconnect();
    expect(beats.map((b) => b.jobs)).toEqual([1]);
  });

  it('runs the beat a reconnect asked for after the one in flight, and unsubscribes on stop', async () => {
    const { t, beats, reconnect, isSubscribed } = transport();
    const inFlight = new InFlight();
    inFlight.ahead.add(job);
    sweeps = new InFlightSweeps(t, inFlight, new Logger('test'));
    sweeps.start(600_000, 0);
    reconnect();
    reconnect(); // while the first beat is in flight: one more after it, not dropped
    expect(beats).toHaveLength(1);
    beats[0].done();
    await waitFor(() => beats.length === 2);
    beats[1].done();
    sweeps.stop();
    expect(isSubscribed()).toBe(false);
  });
});
