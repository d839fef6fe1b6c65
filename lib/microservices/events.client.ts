import type { ReadPacket, WritePacket } from './microservices.peer.js';
import { throwError, type Observable } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import type {
  EmittedEnvelope,
  EmitPayload,
  TypedEventName,
  UntypedOnly,
} from '../event/event-map.js';
import { createEventId } from '../event/event-id.js';
import { assertEventName } from '../event/event-name.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { runSchema, type EventSchema } from '../event/event-schema.js';
import { EventValidationError } from '../errors/event-validation.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { UnsupportedRequestError } from '../errors/unsupported-request.error.js';
import { resolveEventsOptions, type ResolvedEventsOptions } from '../events.options.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { createRedisQueueTransport } from '../queue/redis/redis-queue.transport.js';
import type { EventTracer } from '../tracing/event-tracer.js';
import { loadOpenTelemetryTracer } from '../tracing/opentelemetry.adapter.js';
import { INBOUND_LISTENER, INBOUND_QUEUE } from './inbound.constants.js';
import { ClientProxy } from './microservices.peer.js';

/** Options of `EventsClient` (the `options` of its `ClientsModule` entry). */
export interface EventsClientOptions {
  /**
   * The Redis of the workers' `EventsModule` (URL, ioredis options or client, cluster options).
   * Env: `EVENTS_REDIS_URL`.
   */
  redis?: string | Record<string, unknown>;
  /** The workers' key prefix. Env: `EVENTS_PREFIX`. @default 'events' */
  prefix?: string;
  /** The largest serialized event accepted, in bytes. @default 1048576 */
  maxPayloadBytes?: number;
  /** The longest a Redis command may take (ms) before `emit` fails. @default 5000 */
  redisCommandTimeout?: number;
  /**
   * Standard Schemas by event name (the workers' `forRoot({ schemas })`): `emit` refuses an
   * invalid payload with `EventValidationError` before anything is stored (an async schema is
   * awaited), stores the payload as given, and emits the envelope carrying the schema's output.
   * @default {}
   */
  schemas?: Readonly<Record<string, EventSchema>>;
}

/**
 * A `ClientProxy` whose `emit(pattern, data)` stores the event durably in Redis, for the queued
 * listeners and `@EventPattern` handlers of every worker app (an `EventsModule` worker or an
 * `EventsServer`) on the same Redis and prefix. The observable emits the stored envelope and
 * completes once Redis has it (it errors if storing failed). `send` is refused with
 * `UnsupportedRequestError`.
 *
 * The producer needs no listener classes: the event is stored once, in the prefix's inbound
 * queue, and a worker app fans it out to one job per listener registered in the prefix's listener
 * directory (see `InboundFanOut`), those registered up to `lateListenerWindow` later included.
 *
 * @example
 * ClientsModule.register([
 *   { name: 'EVENTS', customClass: EventsClient, options: { redis: process.env.EVENTS_REDIS_URL } },
 * ]);
 * await lastValueFrom(this.events.emit('order.created', { id: 'o1' }));
 */
export class EventsClient extends ClientProxy {
  private readonly options: ResolvedEventsOptions;
  private transport: Promise<QueueTransport> | undefined;
  /** Loaded on the first emit: spans when `@opentelemetry/api` is installed, as in `forRoot`. */
  private tracer: Promise<EventTracer | null> | undefined;

  constructor(options: EventsClientOptions = {}) {
    super();
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new InvalidOptionError('EventsClient options', options, 'an options object');
    }
    const { redis, prefix, maxPayloadBytes, redisCommandTimeout, schemas, ...rest } = options;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw new InvalidOptionError(
        `EventsClient.${unknown}`,
        (rest as Record<string, unknown>)[unknown],
        'no such option (allowed: redis, prefix, maxPayloadBytes, redisCommandTimeout, schemas)',
      );
    }
    this.options = resolveEventsOptions({
      redis,
      prefix,
      maxPayloadBytes,
      redisCommandTimeout,
      schemas,
      worker: false,
    });
    if (this.options.redis === undefined) {
      throw new InvalidOptionError(
        'EventsClient.redis',
        undefined,
        "the workers' Redis (a URL, ioredis options or client), or EVENTS_REDIS_URL",
      );
    }
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  /** Connects to Redis (also done by the first `emit`). @throws TransportError */
  connect(): Promise<QueueTransport> {
    if (!this.transport) {
      const options = this.options;
      this.transport = createRedisQueueTransport(options);
      this.transport.then(
        () => this._status$.next('connected'),
        () => {
          this.transport = undefined;
        },
      );
    }
    return this.transport;
  }

  /** Closes the connections (Nest calls it at application shutdown). Idempotent. */
  async close(): Promise<void> {
    const transport = this.transport;
    this.transport = undefined;
    if (!transport) return;
    await (await transport.catch(() => undefined))?.close();
    this._status$.next('disconnected');
  }

  /** The queue transport, once connected. */
  unwrap<T>(): T {
    if (!this.transport) {
      throw new InvalidOptionError(
        'unwrap',
        undefined,
        'a connected EventsClient (call connect() first)',
      );
    }
    return this.transport as T;
  }

  /**
   * Stores the event for the workers: the observable emits the stored envelope and completes
   * once Redis has it. Once the event map is declared, `pattern` and `data` are checked against it.
   */
  override emit<TResult = EventEnvelope, TInput = unknown>(
    pattern: UntypedOnly<unknown>,
    data: TInput,
  ): Observable<TResult>;
  override emit<N extends TypedEventName>(
    pattern: N,
    data: EmitPayload<N>,
  ): Observable<EmittedEnvelope<N, unknown>>;
  override emit(pattern: unknown, data: unknown): Observable<unknown> {
    return super.emit(pattern, data);
  }

  /** Refused: events are one-way. @returns an observable that errors with `UnsupportedRequestError`. */
  override send<TResult = never, TInput = unknown>(
    pattern: unknown,
    _data: TInput,
  ): Observable<TResult> {
    return throwError(() => new UnsupportedRequestError(this.patternName(pattern)));
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new UnsupportedRequestError(this.patternName(packet.pattern)) });
    return () => undefined;
  }

  /** Stores the event in the inbound queue; resolves to its envelope once Redis has it. */
  protected async dispatchEvent<T = EventEnvelope>(packet: ReadPacket): Promise<T> {
    const name = this.patternName(packet.pattern);
    assertEventName(name);
    const envelope = this.envelope(name, packet);
    const tracer = await (this.tracer ??= loadOpenTelemetryTracer(this.options.tracing, 'redis'));
    // Traced as `EventBus.emit` is: a PRODUCER span whose context the stored event carries.
    const store = () => this.store(envelope);
    return (
      tracer === null ? store() : tracer.send(envelope, [INBOUND_QUEUE], store)
    ) as Promise<T>;
  }

  /** Stores `envelope` in the inbound queue; resolves to it (with its schema's output). */
  private async store(envelope: EventEnvelope): Promise<EventEnvelope> {
    // Stored as given (a schema's input): the workers run the schema and hand its output.
    const payload = serializeEnvelope(envelope, this.options.maxPayloadBytes);
    const emitted = await this.validated(envelope);
    const transport = await this.connect();
    await transport.enqueue([
      {
        id: `${envelope.id}:inbound`,
        queue: INBOUND_QUEUE,
        listener: INBOUND_LISTENER,
        payload,
        delayMs: 0,
      },
    ]);
    return emitted;
  }

  /** The envelope with its schema's output; throws `EventValidationError` when it refuses it. */
  private async validated(envelope: EventEnvelope): Promise<EventEnvelope> {
    const schema = this.options.schemas.get(envelope.name);
    if (schema === undefined) return envelope;
    let outcome = runSchema(schema, envelope.data);
    if (outcome instanceof Promise) outcome = await outcome;
    if (outcome.violations) throw new EventValidationError(envelope.name, outcome.violations);
    return { ...envelope, data: outcome.value };
  }

  private patternName(pattern: unknown): string {
    return typeof pattern === 'string' ? pattern : this.normalizePattern(pattern as never);
  }

  /** The envelope, with the metadata of the current event context (as `EventBus.emit` does). */
  private envelope(name: string, packet: ReadPacket): EventEnvelope {
    const id = createEventId();
    const parent = EventContext.current();
    const metadata: Record<string, string> = {};
    const extra = {
      ...parent?.metadata,
      ...(packet as { metadata?: Record<string, unknown> }).metadata,
    };
    for (const [key, value] of Object.entries(extra)) {
      if (typeof value === 'string' && key !== '__proto__') metadata[key] = value;
    }
    if (parent?.event) {
      metadata.causationId = parent.event.id;
      metadata.correlationId = parent.event.metadata.correlationId ?? parent.event.id;
    }
    metadata.correlationId ??= id;
    return { id, name, data: packet.data as unknown, metadata, timestamp: Date.now() };
  }
}
