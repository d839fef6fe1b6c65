import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import type { AttemptAbort } from '../attempt-abort.js';
import type { NewJob, ReservedJob } from '../queue-job.js';

/** What the worker asks flow control about an attempt (`FlowControl`, set by `Worker.useFlow`). */
export interface AttemptGate {
  /** Whether `listener` has flow rules when it runs (the hot path asks nothing else otherwise). */
  applies(listener: ListenerDefinition): boolean;
  /**
   * Runs `run` under the listener's rules; resolves without calling it when the job must not run
   * (it is then acknowledged). `run(events)` hands the handler `events` (debounce `collect`)
   * instead of the job's event.
   */
  around(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
    run: (events?: readonly EventEnvelope[]) => Promise<unknown> | undefined,
  ): Promise<unknown>;
}

/** What the producer asks flow control about the jobs of an emit (`QueueProducer.flow`). */
export interface JobAdmission {
  /** Whether any of `jobs` is subject to flow rules at emit. */
  applies(jobs: readonly NewJob[]): boolean;
  /** The jobs to store; the others are dropped (as if stored) or acted upon. */
  admit(jobs: readonly NewJob[]): Promise<NewJob[]>;
}
