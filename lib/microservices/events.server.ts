import { Logger } from '@nestjs/common';
import type { CustomTransportStrategy, MessageHandler } from './microservices.peer.js';
import { lastValueFrom } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext, ListenerDefinition } from '../discovery/listener-definition.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidPatternError } from '../errors/invalid-pattern.error.js';
import { EventsServerMismatchError } from '../errors/events-server-mismatch.error.js';
import { type ResolvedEventsOptions } from '../events.options.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';
import { EVENTS_SERVER_LINK, type EventsServerHost } from './events-server.link.js';
import { EventsRpcContext } from './events-rpc.context.js';
import {
  checkServerOptions,
  serverDifferences,
  type CheckedServerOptions,
  type EventsServerOptions,
} from './events-server.options.js';
import { INBOUND_QUEUE } from './inbound.constants.js';
import { createStandaloneHost } from './standalone.host.js';
import { Server } from './microservices.peer.js';

/**
 * Queue options of an `@EventPattern` handler, given as its extras:
 * `@EventPattern('order.created', { queue: 'orders', tries: 3 })`. Unset ones come from
 * `forRoot({ defaults })`.
 */
export interface EventPatternQueueOptions {
  /** @default `defaults.queue` */
  queue?: string;
  /** @default `defaults.tries` */
  tries?: number;
  /** @default `defaults.backoff` */
  backoff?: BackoffOption;
  /** Per-attempt time limit in ms; 0 means none. @default `defaults.timeout` */
  timeout?: number;
}

const EXTRAS = ['queue', 'tries', 'backoff', 'timeout'];

function asError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  // Nest's exception layer turns a handler's error into `{ status, message }`.
  const message = (reason as { message?: unknown } | null)?.message;
  return new Error(typeof message === 'string' ? message : String(reason), { cause: reason });
}

/**
 * A `@nestjs/microservices` transport strategy that turns a Nest app into a worker process: it
 * runs the app's queued listeners (`@ShouldQueue`) and its `@EventPattern` handlers from durable
 * Redis streams, with the worker's policy (tries, backoff, timeouts, dead letters), and fans out
 * the events that `EventsClient.emit` stored. Unlike Nest's Redis transport (pub/sub), nothing
 * sent while no worker runs is lost: it waits in Redis.
 *
 * Like every Nest transport, it is configured in its options: an app that does not import
 * `EventsModule` runs its `@EventPattern` handlers from `new EventsServer({ redis, prefix, ... })`
 * alone. An app that imports `EventsModule.forRoot({ redis })` (for `@OnEvent` listeners, the bus,
 * middleware) has its worker taken over by the server: the worker starts in `listen()`, on the
 * server's `queues` and `concurrency` (also with `worker: false`); options given to both must
 * agree, or `listen()` fails with `EventsServerMismatchError`.
 *
 * @example
 * const app = await NestFactory.createMicroservice(WorkerModule, {
 *   strategy: new EventsServer({ redis: process.env.REDIS_URL, queues: ['emails'], concurrency: 8 }),
 * });
 * app.enableShutdownHooks();
 * await app.listen();
 */
export class EventsServer extends Server implements CustomTransportStrategy {
  // Handler failures are awaited here and retried or dead-lettered by the worker.
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(EventsServer.name);
  private readonly checked: CheckedServerOptions;
  /** @internal Read by the events module of the app when it links to this server. */
  readonly lateListenerWindowMs: number;
  private host: EventsServerHost | undefined;
  private isStandalone = false;
  private readonly registered = new Set<string>();

  constructor(options: EventsServerOptions = {}) {
    super();
    this.checked = checkServerOptions(options);
    this.lateListenerWindowMs = this.checked.lateListenerWindow;
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  /** @internal Called by the events module of the app (see `EVENTS_SERVER_LINK`). */
  [EVENTS_SERVER_LINK](host: EventsServerHost): void {
    this.host = host;
    // Nest registered the app's handlers before module init: their listeners exist before
    // anything is emitted in this app.
    this.registerHandlers(host);
  }

  /**
   * Starts the worker on this server's queues; Nest calls it from `app.listen()`. In an app
   * without `EventsModule`, it first connects to Redis from the server's own options.
   */
  listen(callback: (error?: unknown) => void): void {
    this.start().then(() => callback(), callback);
  }

  /** Stops taking jobs and drains running ones (also done by the app's shutdown hooks). */
  async close(): Promise<void> {
    await this.host?.stop();
    this._status$.next('disconnected');
  }

  /** This transport emits no events of its own. */
  on(): void {}

  /** The queue transport the server works from. */
  unwrap<T>(): T {
    if (!this.host) {
      throw new InvalidOptionError(
        'unwrap',
        undefined,
        'an EventsServer linked to its app (after init), or listening (without EventsModule)',
      );
    }
    return this.host.transport as T;
  }

  private async start(): Promise<void> {
    let host = this.host;
    if (host) {
      const differences = serverDifferences(this.checked, host.options);
      if (differences.length > 0) throw new EventsServerMismatchError(differences);
      if (!host.transport.isDurable) {
        throw new InvalidOptionError(
          'redis',
          undefined,
          'EventsModule.forRoot({ redis }) in an EventsServer app: it works from durable Redis streams, not the embedded transport',
        );
      }
    } else {
      const options = this.checked.resolved;
      if (options.redis === undefined) {
        throw new InvalidOptionError(
          'EventsServer.redis',
          undefined,
          'the Redis to work from (a URL, ioredis options or client) or EVENTS_REDIS_URL, in an app that does not import EventsModule',
        );
      }
      host = await createStandaloneHost(options, this.lateListenerWindowMs);
      this.host = host;
      this.isStandalone = true;
    }
    this.registerHandlers(host);
    const { queues, concurrency } = this.checked.given;
    await host.start({
      queues: queues && [...new Set([INBOUND_QUEUE, ...queues])],
      concurrency,
    });
    this._status$.next('connected');
  }

  private registerHandlers(host: EventsServerHost): void {
    for (const [pattern, handler] of this.getHandlers()) {
      if (this.registered.has(pattern)) continue;
      if (!handler.isEventHandler) {
        this.registered.add(pattern);
        this.logger.warn(
          `@MessagePattern(${pattern}) is not served by EventsServer: it carries one-way events (use @EventPattern)`,
        );
        continue;
      }
      try {
        parsePattern(pattern);
      } catch (error) {
        if (error instanceof InvalidPatternError) {
          throw new InvalidOptionError(
            '@EventPattern',
            pattern,
            'an event name or pattern (dot-separated segments, "*" and "**" wildcards)',
          );
        }
        throw error;
      }
      host.addListener(this.definition(pattern, handler, host.options));
      this.registered.add(pattern);
    }
  }

  private definition(
    pattern: string,
    handler: MessageHandler,
    module: ResolvedEventsOptions,
  ): ListenerDefinition {
    const name = this.checked.given.name;
    const id = name === undefined ? `EventPattern(${pattern})` : `EventPattern(${pattern})@${name}`;
    const extras = (handler.extras ?? {}) as EventPatternQueueOptions & Record<string, unknown>;
    for (const key of Object.keys(extras)) {
      if (!EXTRAS.includes(key)) {
        throw new InvalidOptionError(
          `@EventPattern(${pattern}) ${key}`,
          extras[key],
          `no such option (allowed: ${EXTRAS.join(', ')})`,
        );
      }
    }
    const queue = extras.queue ?? module.defaults.queue;
    assertName(`@EventPattern(${pattern}) queue`, queue);
    const tries = extras.tries ?? module.defaults.tries;
    assertInteger(`@EventPattern(${pattern}) tries`, tries, 1, 1000);
    const backoff = extras.backoff ?? module.defaults.backoff;
    assertBackoff(`@EventPattern(${pattern}) backoff`, backoff);
    const timeout = extras.timeout ?? module.defaults.timeout;
    assertInteger(`@EventPattern(${pattern}) timeout`, timeout, 0);
    return {
      id,
      patterns: [pattern],
      priority: 0,
      info: { id, className: 'EventPattern', methodName: pattern, isQueued: true },
      invoke: (event, context) => this.call(handler, event, context),
      queue: { queue, tries, backoff, delay: 0, timeout },
      eventClasses: [],
    };
  }

  /** Runs a Nest event handler (and those chained on the same pattern) to completion. */
  private async call(
    handler: MessageHandler,
    event: EventEnvelope,
    context: ListenerContext,
  ): Promise<unknown> {
    try {
      const result: unknown = await handler(event.data, new EventsRpcContext([event, context]));
      return await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
    } catch (error) {
      throw asError(error);
    }
  }
}
