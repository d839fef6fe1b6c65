import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext } from '../discovery/listener-definition.js';
import type { SagaStepContext } from './saga-definition.js';

/**
 * The `ctx` of one step or compensation attempt. A class with `signal` on its prototype, like the
 * queue's `AttemptContext`: the attempt's `AbortController` is made only when the step reads the
 * signal, not for every step (most never do).
 */
export class StepContext implements SagaStepContext<unknown, unknown> {
  readonly #attempt: ListenerContext;
  readonly attempt: number;
  readonly stepKey: string;

  constructor(
    readonly sagaId: string,
    readonly input: unknown,
    public state: unknown,
    method: string,
    attempt: ListenerContext,
    readonly event: EventEnvelope | undefined,
  ) {
    this.#attempt = attempt;
    this.attempt = attempt.attempt;
    this.stepKey = `${sagaId}:${method}`;
  }

  get signal(): AbortSignal {
    return this.#attempt.signal;
  }
}
