import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext, ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerFailure } from '../errors/listeners-failed.error.js';

// In-process calls have no timeout and no shutdown abort: one signal that never fires serves all.
const NEVER_ABORTED = new AbortController().signal;
const contexts = new WeakMap<ListenerDefinition, ListenerContext>();

function contextOf(listener: ListenerDefinition): ListenerContext {
  let context = contexts.get(listener);
  if (!context) {
    context = Object.freeze({ signal: NEVER_ABORTED, attempt: 1, listener: listener.id });
    contexts.set(listener, context);
  }
  return context;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** The outcome of `dispatchAndCollect`: one result slot per listener that ran. */
export interface DispatchOutcome {
  readonly results: unknown[];
  readonly failures: ListenerFailure[];
}

/**
 * Calls in-process listeners. Sync listeners are called directly and async ones only pay for
 * the promise they return: no wrapper promise, no microtask per listener. A failure is
 * isolated, logged and never stops the listeners after it.
 */
export class InProcessDispatcher {
  private readonly logger = new Logger('EventBus');

  /** Fire and forget: errors, sync or async, are logged. */
  dispatch(event: EventEnvelope, listeners: readonly ListenerDefinition[]): void {
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i];
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        const result = listener.invoke(event, contextOf(listener));
        if (isPromiseLike(result)) {
          result.then(undefined, (error: unknown) => this.report(event, listener, error));
        }
      } catch (error) {
        this.report(event, listener, error);
      }
    }
  }

  /** Calls every listener (in order, without waiting in between) and awaits them all. */
  async dispatchAndCollect(
    event: EventEnvelope,
    listeners: readonly ListenerDefinition[],
  ): Promise<DispatchOutcome> {
    const results: unknown[] = [];
    const failures: ListenerFailure[] = [];
    const pending: Promise<void>[] = [];
    for (const listener of listeners) {
      const slot = results.length;
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        results.push(undefined);
        const result = listener.invoke(event, contextOf(listener));
        if (isPromiseLike(result)) {
          pending.push(
            Promise.resolve(result).then(
              (value) => {
                results[slot] = value;
              },
              (error: unknown) => {
                failures.push({ listener: listener.id, error });
                this.report(event, listener, error);
              },
            ),
          );
        } else {
          results[slot] = result;
        }
      } catch (error) {
        failures.push({ listener: listener.id, error });
        this.report(event, listener, error);
      }
    }
    if (pending.length > 0) await Promise.all(pending);
    return { results, failures };
  }

  /** Calls listeners one after the other until one returns something other than `undefined`. */
  async untilFirst(
    event: EventEnvelope,
    listeners: readonly ListenerDefinition[],
  ): Promise<{ found: boolean; value: unknown; failures: ListenerFailure[] }> {
    const failures: ListenerFailure[] = [];
    for (const listener of listeners) {
      try {
        if (listener.filter !== undefined && !listener.filter(event)) continue;
        const value = await listener.invoke(event, contextOf(listener));
        if (value !== undefined) return { found: true, value, failures };
      } catch (error) {
        failures.push({ listener: listener.id, error });
        this.report(event, listener, error);
      }
    }
    return { found: false, value: undefined, failures };
  }

  private report(event: EventEnvelope, listener: ListenerDefinition, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `Listener ${listener.id} failed on "${event.name}" (${event.id}): ${message}`,
      error instanceof Error ? error.stack : undefined,
    );
  }
}
