import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SagaManager } from 'nestjs-events';
import { QUEUE_TRANSPORT } from '../../lib/events.constants.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';
import { FourStepSaga, SagaEvents, SagaProbe } from '../fixtures/saga.fixtures.js';

/*
 * A step (or compensation) that fails for good moves its saga on in the job's failure hook. That
 * move must be stored before the job leaves the stream for the dead letters: a worker killed in
 * between would otherwise leave the saga `running` with no job anywhere (its job dead, its id
 * remembered, so not even the sweeper could store it again). The process-level proof is
 * sagas-processes.e2e-spec.ts; here the order is checked at the moment of the dead-lettering.
 */
describe.each(['memory', 'redis'] as const)('Saga jobs that fail for good on %s', (kind) => {
  const apps = transportApps(kind, 'saga-dead-letter');
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    return () => vi.restoreAllMocks();
  });

  it('store the saga compensating, then failed, before their job is dead-lettered', async () => {
    const app = await apps.start({ providers: [SagaProbe, SagaEvents, FourStepSaga] });
    const sagas = app.get(SagaManager);
    const probe = app.get(SagaProbe);
    const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
    probe.failing.add('c');
    probe.failing.add('undoB');
    // What the saga's record said when each of its jobs went to the dead letters.
    const seen: string[] = [];
    const deadLetter = transport.deadLetter.bind(transport);
    vi.spyOn(transport, 'deadLetter').mockImplementation(async (job: ReservedJob, failure) => {
      const info = await sagas.get('s1');
      seen.push(`${job.listener} ${info?.status} ${info?.history.at(-1)?.outcome}`);
      return deadLetter(job, failure);
    });

    await sagas.start(FourStepSaga, { n: 1 }, { id: 's1' });
    await waitFor(async () => (await sagas.get('s1'))?.status === 'failed');
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([
      // c failed for good: compensation had begun (undoB's job stored with it).
      'saga:four:step:2 compensating failed',
      // undoB failed for good: the saga was `failed`, for `retry`.
      'saga:four:undo:1 failed compensation-failed',
    ]);
    expect(probe.attemptsOf('s1', 'c')).toEqual([1, 2]);
    expect(probe.attemptsOf('s1', 'undoB')).toEqual([1, 2, 3]);
  });
});
