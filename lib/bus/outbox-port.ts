import type { EventEnvelope } from '../event/event-envelope.js';
import type { ResolvedListeners } from '../discovery/listener.registry.js';
import type { EmitOptions } from './emit-options.js';
import type { PreparedEmit } from './emit-preparer.js';
import type { EmitFailures } from './emit-failures.js';
import type { EventDelivery } from './event-delivery.js';
import { OutboxNotConfiguredError } from '../errors/outbox-not-configured.error.js';

/** @internal How an emit reaches the transactional outbox (lib/outbox/ implements it). */
export interface OutboxRouter {
  /**
   * Takes a prepared emit that belongs to a transaction (the `transaction` option, or the
   * transaction of the current async context): resolves once its row is written. `undefined`
   * when the emit belongs to no transaction and goes the usual way.
   * @throws typed errors (a bad `transaction`) before anything is written.
   */
  route(prepared: PreparedEmit, kind: 'emit' | 'emitAsync'): Promise<unknown[]> | undefined;
}

/** @internal What the outbox needs of the bus once its rows are committed. */
export interface OutboxBusPort {
  /** Whether the test facade takes the event instead (it is then neither written nor run). */
  intercepted(envelope: EventEnvelope, options: EmitOptions | undefined): boolean;
  /** Runs in-process listeners and stream subscribers of a committed event, now or at `dueAt`. */
  runCommitted(envelope: EventEnvelope, listeners: ResolvedListeners, dueAt: number): void;
}

/**
 * An emit inside a transaction becomes an outbox row (see lib/outbox/): `emit` resolves to the
 * envelope once the row is written, `emitAsync` to the results of its `afterCommit: false`
 * listeners. `undefined` when the emit belongs to no transaction and goes the usual way.
 * A `transaction` option without an outbox is refused with `OutboxNotConfiguredError`.
 */
export function routeToOutbox(
  router: OutboxRouter | undefined,
  failures: EmitFailures,
  prepared: PreparedEmit,
  kind: 'emit',
): Promise<EventEnvelope> | undefined;
export function routeToOutbox(
  router: OutboxRouter | undefined,
  failures: EmitFailures,
  prepared: PreparedEmit,
  kind: 'emitAsync',
): Promise<unknown[]> | undefined;
export function routeToOutbox(
  router: OutboxRouter | undefined,
  failures: EmitFailures,
  prepared: PreparedEmit,
  kind: 'emit' | 'emitAsync',
): Promise<EventEnvelope | unknown[]> | undefined {
  const { envelope } = prepared;
  let routed: Promise<unknown[]> | undefined;
  try {
    if (router === undefined) throw new OutboxNotConfiguredError('The transaction emit option');
    routed = router.route(prepared, kind);
  } catch (error) {
    return failures.refused(error, envelope.name, envelope.id);
  }
  if (routed === undefined || kind === 'emitAsync') return routed;
  return failures.watch(routed, envelope, envelope.name, envelope.id);
}

/** The port the bus gives the outbox once it attaches (see `EventBus.attachOutbox`). */
export function outboxBusPort(delivery: EventDelivery): OutboxBusPort {
  return {
    intercepted: (envelope, options) => delivery.interceptor?.(envelope, 'emit', options) === true,
    runCommitted: (envelope, listeners, dueAt) =>
      void delivery.runStored(envelope, listeners, 'emit', dueAt),
  };
}
