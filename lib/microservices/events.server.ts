import { Logger } from '@nestjs/common';
import type { CustomTransportStrategy, MessageHandler } from './microservices.peer.js';
import { lastValueFrom } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext, ListenerDefinition } from '../discovery/listener-definition.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidPatternError } from '../errors/invalid-pattern.error.js';
import { type ResolvedEventsOptions } from '../events.options.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';
import { EVENTS_SERVER_LINK, type EventsServerHost } from './events-server.link.js';
import { EventsRpcContext } from './events-rpc.context.js';
import { INBOUND_QUEUE } from './inbound.listener.js';
import { Server } from './microservices.peer.js';

/** Options of `new EventsServer(...)`. */
export interface EventsServerOptions {
  /**
   * The Redis of the app's `EventsModule.forRoot({ redis })`, repeated as a check: `listen()`
   * refuses to start when it names another server. The module's connection is the one used.
   * @default the module's
   */
  redis?: string | Record<string, unknown>;
  /**
   * The queues this process works on (queued listeners and `@EventPattern` handlers); every server
   * also fans out the events `EventsClient` stored.
   * @default every queue of the app's queued listeners and `@EventPattern` handlers
   */
  queues?: string[];
  /**
   * Jobs run at once per queue: one number for every queue, or per queue name.
   * @default the module's `worker.concurrency` (1)
   */
  concurrency?: number | Record<string, number>;
}

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

/** `host:port/db` of a Redis source, or of its cluster nodes; undefined when not knowable. */
function redisIdentity(source: unknown): string | undefined {
  if (typeof source === 'string') {
    try {
      const url = new URL(source);
      return `${url.hostname}:${url.port || 6379}/${url.pathname.slice(1) || 0}`;
    } catch {
      return undefined;
    }
  }
  if (source === null || typeof source !== 'object') return undefined;
  const options = source as { cluster?: unknown; host?: unknown; port?: unknown; db?: unknown };
  if (typeof (source as { duplicate?: unknown }).duplicate === 'function') return undefined;
  if (Array.isArray(options.cluster)) {
    return `cluster ${options.cluster
      .map((n) => JSON.stringify(n))
      .sort()
      .join(',')}`;
  }
  return `${String(options.host ?? '127.0.0.1')}:${String(options.port ?? 6379)}/${String(options.db ?? 0)}`;
}

/**
 * A `@nestjs/microservices` transport strategy that turns a Nest app into a worker process: it
 * runs the app's queued listeners (`@ShouldQueue`) and its `@EventPattern` handlers from durable
 * Redis streams, with the worker's policy (tries, backoff, timeouts, dead letters), and fans out
 * the events that `EventsClient.emit` stored. Unlike Nest's Redis transport (pub/sub), nothing
 * sent while no worker runs is lost: it waits in Redis.
 *
 * The app imports `EventsModule.forRoot({ redis })` as usual; the server takes over its worker:
 * the worker starts in `listen()`, on the server's `queues` and `concurrency` (also with
 * `worker: false`, so one module can serve an HTTP app that only produces and the workers).
 *
 * @example
 * const app = await NestFactory.createMicroservice(WorkerModule, {
 *   strategy: new EventsServer({ queues: ['emails'], concurrency: 8 }),
 * });
 * app.enableShutdownHooks();
 * await app.listen();
 */
export class EventsServer extends Server implements CustomTransportStrategy {
  // Handler failures are awaited here and retried or dead-lettered by the worker.
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(EventsServer.name);
  private readonly options: EventsServerOptions;
  private host: EventsServerHost | undefined;
  private readonly registered = new Set<string>();

  constructor(options: EventsServerOptions = {}) {
    super();
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new InvalidOptionError('EventsServer options', options, 'an options object');
    }
    for (const key of Object.keys(options)) {
      if (!['redis', 'queues', 'concurrency'].includes(key)) {
        throw new InvalidOptionError(
          `EventsServer.${key}`,
          (options as Record<string, unknown>)[key],
          'no such option (allowed: redis, queues, concurrency)',
        );
      }
    }
    if (options.queues !== undefined) {
      if (!Array.isArray(options.queues) || options.queues.length === 0) {
        throw new InvalidOptionError(
          'EventsServer.queues',
          options.queues,
          'a non-empty array of queue names',
        );
      }
      options.queues.forEach((q) => assertName('EventsServer.queues', q));
    }
    const c = options.concurrency;
    if (typeof c === 'number') assertInteger('EventsServer.concurrency', c, 1, 10_000);
    else if (c !== undefined && c !== null && typeof c === 'object' && !Array.isArray(c)) {
      for (const [queue, n] of Object.entries(c)) {
        assertName('EventsServer.concurrency (queue name)', queue);
        assertInteger(`EventsServer.concurrency.${queue}`, n, 1, 10_000);
      }
    } else if (c !== undefined) {
      throw new InvalidOptionError(
        'EventsServer.concurrency',
        c,
        'an integer >= 1, or { [queue]: integer }',
      );
    }
    this.options = { ...options, queues: options.queues && [...options.queues] };
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

  /** Starts the worker on this server's queues; Nest calls it from `app.listen()`. */
  listen(callback: (error?: unknown) => void): void {
    try {
      const host = this.host;
      if (!host) {
        throw new InvalidOptionError(
          'strategy',
          'EventsServer',
          'an application that imports EventsModule.forRoot({ redis }) (none found)',
        );
      }
      this.assertSameRedis(host.options);
      if (!host.transport.isDurable) {
        throw new InvalidOptionError(
          'redis',
          undefined,
          'EventsModule.forRoot({ redis }) in an EventsServer app: it works from durable Redis streams, not the embedded transport',
        );
      }
      this.registerHandlers(host);
      const queues = this.options.queues && [...new Set([INBOUND_QUEUE, ...this.options.queues])];
      host.start({ queues, concurrency: this.options.concurrency });
      this._status$.next('connected');
      callback();
    } catch (error) {
      callback(error);
    }
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
        'an EventsServer linked to its app (after init)',
      );
    }
    return this.host.transport as T;
  }

  private assertSameRedis(module: ResolvedEventsOptions): void {
    if (this.options.redis === undefined || module.redis === undefined) return;
    const mine = redisIdentity(this.options.redis);
    const theirs = redisIdentity(module.redis);
    if (mine !== undefined && theirs !== undefined && mine !== theirs) {
      throw new InvalidOptionError(
        'EventsServer.redis',
        mine,
        `the Redis of EventsModule.forRoot({ redis }) (${theirs}), or no redis option`,
      );
    }
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
    const id = `EventPattern(${pattern})`;
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
