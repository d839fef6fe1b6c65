import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import type { ListenerContext, ListenerFn } from '../discovery/listener-definition.js';
import { BatchItemsFailedError } from '../errors/batch-items-failed.error.js';
import { failedItems } from '../queue/flow/batch-failures.js';
import type { EventMiddleware, ListenerInfo } from './event-middleware.interface.js';
import { composeMiddleware } from './middleware-chain.js';

/** Where an item's chain hands its envelope to the batch call (a key of its listener context). */
const REACHED = Symbol('nestjs-events:batch-item-reached');

type ItemContext = ListenerContext & {
  readonly [REACHED]: (event: EventEnvelope) => Promise<unknown>;
};

interface Reached {
  readonly event: EventEnvelope;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Wraps a batched listener (`@ShouldQueue({ batch })`) in middleware. Each job of the batch goes
 * through the chain on its own, as a single job does: a middleware sees one envelope as
 * `context.event` and that job's `context.attempt`. The listener is called once, when every
 * item's chain has reached it or ended without it, with the envelopes that reached it (in batch
 * order); each item's `next()` then settles with that item's outcome of the call (its error
 * from a `BatchItemsFailedError`, or the call's error). The call ends with the items whose chain
 * failed (a middleware threw or released, or the listener failed them) named in a
 * `BatchItemsFailedError`, or with their common error when every item failed with the same one,
 * so that each job is settled by its own outcome; an item a middleware skipped is done.
 */
export function composeBatchMiddleware(
  middleware: readonly EventMiddleware[],
  listener: ListenerFn,
  info: ListenerInfo,
): ListenerFn {
  if (middleware.length === 0) return listener;
  const chain = composeMiddleware(
    middleware,
    (event, context) => (context as ItemContext)[REACHED](event),
    info,
  );
  return (batch, context) =>
    runBatch(batch as unknown as readonly EventEnvelope[], context, chain, listener);
}

async function runBatch(
  events: readonly EventEnvelope[],
  context: ListenerContext,
  chain: ListenerFn,
  listener: ListenerFn,
): Promise<void> {
  const reached: (Reached | undefined)[] = events.map(() => undefined);
  let open = events.length;
  // The last chain to reach the listener, or to end without it, starts the one call.
  const arrived = (): void => {
    if (--open === 0) callOnce(reached, context, listener);
  };
  const chains = events.map((event, index) => {
    let isCounted = false;
    const count = (): void => {
      if (isCounted) return;
      isCounted = true;
      arrived();
    };
    const itemContext: ItemContext = {
      ...context,
      attempt: event.attempt ?? context.attempt,
      [REACHED]: (copy) =>
        new Promise<unknown>((resolve, reject) => {
          reached[index] = { event: copy, resolve, reject };
          count();
        }),
    };
    return Promise.resolve()
      .then(() => chain(event, itemContext))
      .finally(count);
  });
  const results = await Promise.allSettled(chains);
  const failures = results.flatMap((result, index) =>
    result.status === 'rejected' ? [{ id: events[index].id, error: result.reason as unknown }] : [],
  );
  if (failures.length === 0) return;
  const common = failures[0].error;
  if (failures.length === events.length && failures.every((f) => f.error === common)) throw common;
  throw new BatchItemsFailedError(failures);
}

/** Calls the listener with the items that reached it and settles each item's `next()`. */
function callOnce(
  reached: readonly (Reached | undefined)[],
  context: ListenerContext,
  listener: ListenerFn,
): void {
  const items = reached.filter((item): item is Reached => item !== undefined);
  if (items.length === 0) return;
  const batch = items.map((item) => item.event);
  Promise.resolve()
    // Outside the context of the item whose chain arrived last: as without middleware, the
    // call has no single cause.
    .then(() => EventContext.runOutside(() => listener(batch as unknown as EventEnvelope, context)))
    .then(
      () => {
        for (const item of items) item.resolve(undefined);
      },
      (error: unknown) => {
        const failed = failedItems(
          batch.map((event) => event.id),
          error,
        );
        for (const item of items) {
          const failure = failed.get(item.event.id);
          if (failure === undefined) item.resolve(undefined);
          else item.reject(failure.error);
        }
      },
    );
}
