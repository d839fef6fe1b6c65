import type { ListenerContext } from '../discovery/listener-definition.js';
import type { AttemptAbort } from './attempt-abort.js';

/**
 * The `context` a queued listener gets for one attempt. A class, not an object literal with a
 * `get signal()`: a literal's getter is a new closure per job, and V8 builds such a literal in
 * the runtime with a fresh accessor pair each time, which costs microseconds and garbage on
 * every job. The signal is read through the prototype, so its `AbortController` is only made
 * when a listener or middleware asks for it (see `AttemptAbort`).
 */
export class AttemptContext implements ListenerContext {
  readonly #abort: AttemptAbort;

  constructor(
    abort: AttemptAbort,
    readonly attempt: number,
    readonly queue: string,
    readonly listener: string,
  ) {
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}
