import type { ResolvedEventsOptions } from '../events.options.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import type { WorkerPlan } from '../queue/worker.js';

/**
 * The handshake between an `EventsServer` and the events module of the app it serves. It lives
 * apart from the server so that the module never loads `@nestjs/microservices` (an optional peer).
 *
 * Nest registers a microservice's strategy as an RPC target of the app's container;
 * `EventsServerBinding` (a provider of the events module) finds every target that carries this
 * symbol at module init, puts the app's `Worker` under the server's control, and hands the server
 * an `EventsServerHost`. The server then registers its `@EventPattern` handlers as queued
 * listeners and, in `listen()`, starts the worker on its own queues and concurrency.
 */
export const EVENTS_SERVER_LINK = Symbol.for('nestjs-events:events-server-link');

/** What the events module hands to the `EventsServer` of its app. */
export interface EventsServerHost {
  /** The module's resolved options (Redis, prefix, queue defaults). */
  readonly options: ResolvedEventsOptions;
  /** The module's queue transport. */
  readonly transport: QueueTransport;
  /** Registers a queued listener (an `@EventPattern` handler). */
  addListener(definition: ListenerDefinition): void;
  /**
   * Starts the worker of this process on the server's queues and concurrency, and registers its
   * queued listeners in the prefix's listener directory (see `InboundFanOut`).
   */
  start(plan: WorkerPlan): Promise<void>;
  /** Stops taking jobs and drains running ones (the worker's shutdown). Idempotent. */
  stop(): Promise<void>;
}

/** An object the events module links to (an `EventsServer`). */
export interface EventsServerLinkTarget {
  /** How long (ms) an `EventsClient` event waits for a listener (`lateListenerWindow`). */
  readonly lateListenerWindowMs?: number;
  [EVENTS_SERVER_LINK](host: EventsServerHost): void;
}

/** Whether an RPC target of the app is an `EventsServer`. */
export function isEventsServerLinkTarget(value: unknown): value is EventsServerLinkTarget {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Partial<EventsServerLinkTarget>)[EVENTS_SERVER_LINK] === 'function'
  );
}
