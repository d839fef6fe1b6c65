import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext, swapSyncFrame } from '../event/event-context.js';
import type { ListenerContext, ListenerDefinition } from '../discovery/listener-definition.js';
import type { ResolvedListeners } from '../discovery/listener.registry.js';
import { ListenersFailedError, type ListenerFailure } from '../errors/listeners-failed.error.js';
import { isThenable } from '../is-thenable.js';

function invoke(
  listener: ListenerDefinition,
  event: EventEnvelope,
  context: ListenerContext,
): unknown {
  return listener.invoke(event, context);
}

function one(value: unknown): unknown[] {
  return [value];
}

/**
 * Calls in-process listeners. Sync listeners are called directly inside a sync context frame;
 * only listeners that may go on after returning (async methods, middleware, per-event
 * providers) run inside AsyncLocalStorage, and only they pay for a promise. A failure is
 * isolated, logged, and never stops the listeners after it.
 */
export class InProcessDispatcher {
  private readonly logger = new Logger('EventBus');

  /**
   * @param isAsyncContext false: async listeners get the sync context frame only (the
   *   `asyncContext` option), so in-process dispatch never enables AsyncLocalStorage.
   */
  constructor(private readonly isAsyncContext = true) {}

  /** Fire and forget: errors, sync or async, are logged. */
  dispatch(event: EventEnvelope, listeners: ResolvedListeners): void {
    if (listeners.hasAsync && this.isAsyncContext) {
      EventContext.runAs(event, this.dispatchAll, event, listeners);
      return;
    }
    const previous = swapSyncFrame(event);
    try {
      this.dispatchAll(event, listeners);
    } finally {
      swapSyncFrame(previous);
    }
  }

  /**
   * Calls every listener in order (without waiting in between) and collects their results, in
   * call order. Returns them directly when every listener was sync, a promise otherwise; throws
   * (or rejects with) `ListenersFailedError` listing every listener that failed, once all settled.
   * All listeners of one event share one context frame, in the async storage only when a
   * listener may go on after returning; one listener (the common case) costs one `.then`.
   */
  collect(event: EventEnvelope, listeners: ResolvedListeners): unknown[] | Promise<unknown[]> {
    if (listeners.inProcess.length === 1) return this.collectOne(event, listeners);
    const state: Collection = { results: [], failures: [], left: 0, done: undefined };
    if (listeners.hasAsync && this.isAsyncContext) {
      EventContext.runAs(event, this.collectAll, event, listeners, state);
    } else {
      const previous = swapSyncFrame(event);
      try {
        this.collectAll(event, listeners, state);
      } finally {
        swapSyncFrame(previous);
      }
    }
    if (state.left === 0) return this.outcome(event, state);
    // Reactions run in later microtasks: `done` is in place before the first one settles.
    return new Promise((resolve, reject) => {
      // A local first, not `state.done = () => ...`: V8 allocates a function literal assigned
      // straight to a property in the old generation (made for `Foo.prototype.bar = function`).
      // One such closure per emit kept that emit's young objects alive through young collections:
      // the heap grew by megabytes per collection until a full one.
      const done = (): void => {
        try {
          resolve(this.outcome(event, state));
        } catch (error) {
          reject(error);
        }
      };
      state.done = done;
    });
  }

  /** Calls listeners one after the other until one returns something other than `undefined`. */
  async untilFirst(
    event: EventEnvelope,
    listeners: ResolvedListeners,
  ): Promise<{ found: boolean; value: unknown; failures: ListenerFailure[] }> {
    const { inProcess, contexts } = listeners;
    const failures: ListenerFailure[] = [];
    for (let i = 0; i < inProcess.length; i++) {
      const listener = inProcess[i];
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        const value = await EventContext.runSync(event, () =>
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

  // Arrow properties: the context runs them with their arguments, no closure per emit.
  private readonly dispatchAll = (event: EventEnvelope, listeners: ResolvedListeners): void => {
    const { inProcess, contexts } = listeners;
    for (let i = 0; i < inProcess.length; i++) {
      const listener = inProcess[i];
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        const result = listener.invoke(event, contexts[i]);
        if (isThenable(result)) {
          result.then(undefined, (error: unknown) => this.report(event, listener, error));
        }
      } catch (error) {
        this.report(event, listener, error);
      }
    }
  };

  /** `collect` of a single listener: no bookkeeping, one `.then` when it returns a promise. */
  private collectOne(
    event: EventEnvelope,
    listeners: ResolvedListeners,
  ): unknown[] | Promise<unknown[]> {
    const listener = listeners.inProcess[0];
    const fail = (error: unknown, results: unknown[] = [undefined]): never => {
      this.report(event, listener, error);
      throw new ListenersFailedError(event.name, [{ listener: listener.id, error }], results);
    };
    if (listener.filter !== undefined) {
      try {
        if (!listener.filter(event)) return [];
      } catch (error) {
        // A filter that threw ran no listener: no result slot, as with several listeners.
        return fail(error, []);
      }
    }
    let result: unknown;
    const context = listeners.contexts[0];
    try {
      if (listeners.hasAsync && this.isAsyncContext) {
        result = EventContext.runAs(event, invoke, listener, event, context);
      } else {
        const previous = swapSyncFrame(event);
        try {
          result = listener.invoke(event, context);
        } finally {
          swapSyncFrame(previous);
        }
      }
    } catch (error) {
      return fail(error);
    }
    if (!isThenable(result)) return [result];
    return Promise.resolve(result).then(one, fail);
  }

  private readonly collectAll = (
    event: EventEnvelope,
    listeners: ResolvedListeners,
    state: Collection,
  ): void => {
    const { inProcess, contexts } = listeners;
    const { results, failures } = state;
    for (let i = 0; i < inProcess.length; i++) {
      const listener = inProcess[i];
      let result: unknown;
      let slot: number;
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        slot = results.push(undefined) - 1;
        result = listener.invoke(event, contexts[i]);
      } catch (error) {
        failures.push({ listener: listener.id, error, index: i });
        this.report(event, listener, error);
        continue;
      }
      if (!isThenable(result)) results[slot] = result;
      else {
        // One reaction per listener: it stores the value (or the failure) and counts down.
        state.left++;
        result.then(
          (value) => {
            results[slot] = value;
            if (--state.left === 0) state.done?.();
          },
          (error: unknown) => {
            failures.push({ listener: listener.id, error, index: i });
            this.report(event, listener, error);
            if (--state.left === 0) state.done?.();
          },
        );
      }
    }
  };

  /** The results, or `ListenersFailedError` with the failures in call order. */
  private outcome(event: EventEnvelope, state: Collection): unknown[] {
    const { results, failures } = state;
    if (failures.length === 0) return results;
    // Failures are listed in call order, whatever order they settled in.
    if (failures.length > 1) failures.sort((a, b) => a.index - b.index);
    throw new ListenersFailedError(
      event.name,
      failures.map(({ listener, error }) => ({ listener, error })),
      results,
    );
  }

  private call(
    listener: ListenerDefinition,
    event: EventEnvelope,
    context: ListenerContext,
  ): unknown {
    if (listener.isAsync === false || !this.isAsyncContext) return listener.invoke(event, context);
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

/** The state of one `collect` over several listeners. */
interface Collection {
  readonly results: unknown[];
  readonly failures: (ListenerFailure & { index: number })[];
  /** Listeners whose promise has not settled yet. */
  left: number;
  /** Settles the promise `collect` returned, once `left` is back to 0. */
  done: (() => void) | undefined;
}
