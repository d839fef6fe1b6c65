import { setImmediate } from 'node:timers';

/**
 * The promise `emit` returns while storing is in flight: a plain promise to its caller (`await`,
 * `.then`, `.catch`, `Promise.all` all see its value or its rejection), whose rejection Node never
 * reports as unhandled. It notes whether anyone subscribed to it (`await` and `Promise.all` call
 * `then` on a subclass), so an emit that nobody handles can be reported instead.
 */
class EmitPromise<T> extends Promise<T> {
  // Promises derived from this one (`.then`, `.catch`) are plain promises: a chain the caller
  // builds is theirs, with Node's usual rules.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  isObserved = false;

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.isObserved = true;
    return super.then(onFulfilled, onRejected);
  }
}

// The original `then`: subscribing through it does not count as the caller observing the promise.
const subscribe = Promise.prototype.then;

/**
 * Returns `work` as a promise whose rejection never reaches Node's `unhandledRejection` (whose
 * default mode ends the process). When nobody had subscribed to it by the turn of the event loop
 * after it rejected, `onUnhandled` receives the error (to log it); a caller that awaits it gets
 * the rejection as usual and `onUnhandled` is not called.
 */
export function guardEmit<T>(work: Promise<T>, onUnhandled: (error: unknown) => void): Promise<T> {
  const guarded = new EmitPromise<T>((resolve, reject) => {
    work.then(resolve, reject);
  });
  subscribe.call(guarded, undefined, (error: unknown) => {
    // Node decides "unhandled" once the microtasks of this turn ran; wait a little longer, so a
    // caller that subscribes in this turn (an `await` after a synchronous rejection) is seen.
    setImmediate(() => {
      if (!guarded.isObserved) onUnhandled(error);
    });
  });
  return guarded;
}
