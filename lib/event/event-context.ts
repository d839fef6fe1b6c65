import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEnvelope } from './event-envelope.js';

/** The context in which code runs: the event being handled, and the metadata it carries. */
export interface EventContextState {
  /** The event whose listener is running, if any. */
  readonly event?: EventEnvelope;
  /** Metadata every event emitted in this context inherits. */
  readonly metadata: Readonly<Record<string, string>>;
}

const storage = new AsyncLocalStorage<EventContextState>();

/**
 * The async context that carries correlation, causation and your own keys (a tenant, a user)
 * from an emitter to every listener, also across `await` and into queued jobs.
 */
export const EventContext = {
  /** The current state, or `undefined` outside any event or `run`. */
  current(): EventContextState | undefined {
    return storage.getStore();
  },

  /** One metadata value of the current context. */
  get(key: string): string | undefined {
    return storage.getStore()?.metadata[key];
  },

  /**
   * Runs `fn` with extra metadata: every event emitted inside it (and by its listeners) carries it.
   *
   * @example
   * EventContext.run({ tenantId: 't1' }, () => bus.emit('order.created', order));
   */
  run<R>(metadata: Record<string, string>, fn: () => R): R {
    const parent = storage.getStore();
    return storage.run(
      { event: parent?.event, metadata: { ...parent?.metadata, ...metadata } },
      fn,
    );
  },

  /** @internal Runs `fn` as the handling of `event`: emits inside it are caused by it. */
  runAs<R>(event: EventEnvelope, fn: () => R): R {
    return storage.run({ event, metadata: event.metadata }, fn);
  },
};
