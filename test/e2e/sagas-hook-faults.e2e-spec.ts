import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SagaManager } from 'nestjs-events';
import { SAGA_STORE } from '../../lib/sagas/saga.constants.js';
import type { SagaRecord } from '../../lib/sagas/saga-definition.js';
import type { SagaStore } from '../../lib/sagas/saga.store.js';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';
import { FourStepSaga, SagaEvents, SagaProbe } from '../fixtures/saga.fixtures.js';

/**
 * Makes the store refuse, `times` times each, the writes that move a saga to `status` (both
 * ways a store writes: `update`, and `updateWithJob` where it has one). Returns the refusal count.
 */
function failWritesTo(store: SagaStore, status: string, times: number): { count: number } {
  const refused = { count: 0 };
  const refuse = (record: SagaRecord): void => {
    if (record.status === status && refused.count < times) {
      refused.count++;
      throw new Error(`store down (${refused.count})`);
    }
  };
  const update = store.update.bind(store);
  vi.spyOn(store, 'update').mockImplementation((record, expected) => {
    refuse(record);
    return update(record, expected);
  });
  const withJob = store.updateWithJob;
  if (withJob !== undefined) {
    Object.assign(store, {
      updateWithJob: (...args: Parameters<typeof withJob>) => {
        refuse(args[0]);
        return withJob(...args);
      },
    });
  }
  return refused;
}

/*
 * The failure hook of a saga job stores the saga's move to compensation (or to `failed`) before
 * the job is dead-lettered. When that write fails (the store down for a while), the job must not
 * go to the dead letters: the saga would stay `running` with no job, for ever. The worker keeps
 * the job and runs the hook again (not the step: no attempt is added) until the write succeeds.
 */
describe.each(['memory', 'redis'] as const)('A saga failure hook that throws on %s', (kind) => {
  const apps = transportApps(kind, 'saga-hook-faults');
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    return () => vi.restoreAllMocks();
  });

  it('is run again until the saga is stored compensating, and the saga compensates', async () => {
    const app = await apps.start({ providers: [SagaProbe, SagaEvents, FourStepSaga] });
    const sagas = app.get(SagaManager);
    const probe = app.get(SagaProbe);
    const events = app.get(SagaEvents);
    const refused = failWritesTo(app.get<SagaStore>(SAGA_STORE), 'compensating', 3);
    probe.failing.add('c');

    const outcome = await sagas.execute(FourStepSaga, { n: 1 }, { id: 'h1' });

    expect(refused.count).toBe(3);
    expect(outcome.status).toBe('compensated');
    // The step ran its 2 tries, no more; each compensation once, last first.
    expect(probe.attemptsOf('h1', 'c')).toEqual([1, 2]);
    expect(probe.calls).toEqual(['a', 'b', 'undoB', 'undoA']);
    await waitFor(() => events.named('saga.four.compensated').length === 1);
  });

  it('is run again until the saga is stored failed after a compensation failed', async () => {
    const app = await apps.start({ providers: [SagaProbe, SagaEvents, FourStepSaga] });
    const sagas = app.get(SagaManager);
    const probe = app.get(SagaProbe);
    const refused = failWritesTo(app.get<SagaStore>(SAGA_STORE), 'failed', 2);
    probe.failing.add('c');
    probe.failing.add('undoB');

    const outcome = await sagas.execute(FourStepSaga, { n: 1 }, { id: 'h2' });

    expect(refused.count).toBe(2);
    expect(outcome.status).toBe('failed');
    expect(probe.attemptsOf('h2', 'undoB')).toEqual([1, 2, 3]);
    expect((await sagas.get('h2'))?.history.at(-1)?.outcome).toBe('compensation-failed');
  });
});
