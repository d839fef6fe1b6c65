import type { EventEnvelope } from '../event/event-envelope.js';
import type { ResolvedListeners } from '../discovery/listener.registry.js';
import type { EmitOptions } from './emit-options.js';
import type { PreparedEmit } from './emit-preparer.js';

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
