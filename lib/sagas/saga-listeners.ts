import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ResolvedSaga } from './saga-definition.js';
import type { SagaJobData } from './saga-jobs.js';
import { sagaListener, sagaListenerId } from './saga-jobs.js';
import type { SagaManager } from './saga.manager.js';

/** Saga jobs whose own failure must not be lost: a few tries before the dead letters. */
const CONTROL_TRIES = 5;
const CONTROL_BACKOFF = [100, 1000, 5000];

/**
 * The queued listeners that run a saga: one per step and per compensation (each with the step's
 * tries, backoff and timeout; its failure hook moves the saga on), the timeouts, and the
 * listeners of its `startOn` and `waitFor` events (queued: an event is kept until a worker took
 * it, even when no process of the app was running when it was emitted).
 */
export function sagaListeners(saga: ResolvedSaga, manager: SagaManager): ListenerDefinition[] {
  const engine = manager.engine;
  const control = { tries: CONTROL_TRIES, backoff: CONTROL_BACKOFF, timeout: 0 };
  const listeners: ListenerDefinition[] = [];
  for (const step of saga.steps) {
    const options = {
      tries: step.tries,
      backoff: step.backoff,
      timeout: step.waitFor ? 0 : step.timeout,
    };
    /** A step's or a compensation's job: the step's tries; failing for good moves the saga on. */
    const work = (
      kind: 'step' | 'undo',
      run: typeof engine.runStep,
      failed: typeof engine.stepFailed,
    ): ListenerDefinition =>
      sagaListener(
        saga,
        sagaListenerId(saga.name, kind, step.index),
        {
          ...options,
          onFailed: (event, error) => failed.call(engine, saga, event.data as SagaJobData, error),
          // The hook is the saga's move to compensation (or to `failed`): stored before the job
          // leaves the stream, so that a worker dying in between cannot strand the saga.
          isHookBeforeDeadLetter: true,
        },
        (event, context) => run.call(engine, saga, event.data as SagaJobData, context),
      );
    listeners.push(work('step', engine.runStep, engine.stepFailed));
    if (step.compensate !== undefined) {
      listeners.push(work('undo', engine.runUndo, engine.undoFailed));
    }
    if (step.waitFor !== undefined) {
      listeners.push(
        sagaListener(saga, sagaListenerId(saga.name, 'wait', step.index), control, (event) =>
          engine.waitTimedOut(saga, event.data as SagaJobData),
        ),
        sagaListener(
          saga,
          sagaListenerId(saga.name, 'event', step.index),
          control,
          (event) => engine.received(saga, step.index, event),
          [step.waitFor],
        ),
      );
    }
  }
  if (saga.timeout > 0) {
    listeners.push(
      sagaListener(saga, sagaListenerId(saga.name, 'deadline'), control, (event) =>
        engine.deadline(saga, event.data as SagaJobData),
      ),
    );
  }
  if (saga.startOn.length > 0) {
    listeners.push(
      sagaListener(
        saga,
        sagaListenerId(saga.name, 'start'),
        control,
        (event) => manager.start(saga.name, event.data, { id: saga.key!(event) }),
        saga.startOn,
      ),
    );
  }
  return listeners;
}
