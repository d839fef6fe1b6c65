import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext, type EventContextState } from '../event/event-context.js';
import type { ListenerContext, ListenerDefinition } from '../discovery/listener-definition.js';
import type { ResolvedListeners } from '../discovery/listener.registry.js';
import type { ListenerFailure } from '../errors/listeners-failed.error.js';

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** The outcome of `collect`: one result slot per listener that ran, and the failures. */
export interface DispatchOutcome {
  readonly results: unknown[];
  readonly failures: ListenerFailure[];
}

/**
 * Calls in-process listeners. Sync listeners are called directly inside a sync context frame;
 * only listeners that may go on after returning (async methods, middleware, per-event
 * providers) run inside AsyncLocalStorage, and only they pay for a promise. A failure is
 * isolated, logged, and never stops the listeners after it.
 */
export class InProcessDispatcher {
  private readonly logger = new Logger('EventBus');

  /** Fire and forget: errors, sync or async, are logged. */
  dispatch(event: EventEnvelope, listeners: ResolvedListeners): void {
    const { inProcess, contexts } = listeners;
    const loop = (): void => {
      for (let i = 0; i < inProcess.length; i++) {
        const listener = inProcess[i];
        try {
          if (listener.filter !== undefined && !listener.filter(event)) continue;
          const result = listener.invoke(event, contexts[i]);
          if (isPromiseLike(result)) {
            result.then(undefined, (error: unknown) => this.report(event, listener, error));
          }
        } catch (error) {
          this.report(event, listener, error);
        }
      }
    };
    if (listeners.hasAsync) EventContext.runAs(event, loop);
    else EventContext.runSync({ event, metadata: event.metadata }, loop);
  }

  /**
   * Calls every listener in order (without waiting in between) and collects their results.
   * Returns the outcome directly when every listener was sync, a promise otherwise.
   */
  collect(
    event: EventEnvelope,
    listeners: ResolvedListeners,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    const { inProcess, contexts } = listeners;
    const results: unknown[] = [];
    const failures: (ListenerFailure & { index: number })[] = [];
    const settled: PromiseLike<unknown>[] = [];
    const fail = (index: number, error: unknown): void => {
      failures.push({ listener: inProcess[index].id, error, index });
      this.report(event, inProcess[index], error);
    };
    const loop = (): void => {
      for (let i = 0; i < inProcess.length; i++) {
        const listener = inProcess[i];
        try {
          if (listener.filter !== undefined && !listener.filter(event)) continue;
          const slot = results.push(undefined) - 1;
          const result = listener.invoke(event, contexts[i]);
          if (isPromiseLike(result)) {
            settled.push(
              result.then(
                (value) => {
                  results[slot] = value;
                },
                (error: unknown) => fail(i, error),
              ),
            );
          } else {
            results[slot] = result;
          }
        } catch (error) {
          fail(i, error);
        }
      }
    };
    // All listeners of one event share one context: one frame for the whole loop, in the async
    // storage only when a listener may go on after returning.
    if (listeners.hasAsync) EventContext.runAs(event, loop);
    else EventContext.runSync({ event, metadata: event.metadata }, loop);
    const outcome = (): DispatchOutcome => {
      // Failures are listed in call order, whatever order they settled in.
      if (failures.length > 1) failures.sort((a, b) => a.index - b.index);
      return { results, failures: failures.map(({ listener, error }) => ({ listener, error })) };
    };
    if (settled.length === 0) return outcome();
    if (settled.length === 1) return Promise.resolve(settled[0]).then(outcome);
    return new Promise((resolve) => {
      let left = settled.length;
      const done = (): void => {
        if (--left === 0) resolve(outcome());
      };
      for (const promise of settled) promise.then(done, done);
    });
  }

  /** Calls listeners one after the other until one returns something other than `undefined`. */
  async untilFirst(
    event: EventEnvelope,
    listeners: ResolvedListeners,
  ): Promise<{ found: boolean; value: unknown; failures: ListenerFailure[] }> {
    const { inProcess, contexts } = listeners;
    const failures: ListenerFailure[] = [];
    const state: EventContextState = { event, metadata: event.metadata };
    for (let i = 0; i < inProcess.length; i++) {
      const listener = inProcess[i];
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        const value = await EventContext.runSync(state, () =>
          this.call(listener, event, contexts[i]),
        );
        if (value !== undefined) return { found: true, value, failures };
      } catch (error) {
        failures.push({ listener: listener.id, error });
        this.report(event, listener, error);
      }
    }
    return { found: false, value: undefined, failures };
  }

  private call(
    listener: ListenerDefinition,
    event: EventEnvelope,
    context: ListenerContext,
  ): unknown {
    if (listener.isAsync === false) return listener.invoke(event, context);
    return EventContext.runAs(event, () => listener.invoke(event, context));
  }

  private report(event: EventEnvelope, listener: ListenerDefinition, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `Listener ${listener.id} failed on "${event.name}" (${event.id}): ${message}`,
      error instanceof Error ? error.stack : undefined,
    );
  }
}
