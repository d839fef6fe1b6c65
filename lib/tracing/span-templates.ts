/** Event names, queues and listeners whose span names and attributes are kept for reuse. */
const MAX_CACHED = 1000;

/** Span attributes as OpenTelemetry takes them (the types this library sets). */
export type SpanAttributes = Readonly<Record<string, string | number | undefined>>;

/** The span names of an event (`send <event>`, `process <event>`), made once per name. */
export interface SpanNames {
  readonly send: string;
  readonly process: string;
}

/**
 * The names and creation attributes of the bus's spans, made once per event name, queue and
 * listener instead of per span. The SDK copies creation attributes (`sanitizeAttributes`) before
 * a sampler or a processor may change them, so one frozen object serves every span. Bounded:
 * past `MAX_CACHED` distinct keys, the rest are made per span as before.
 */
export class SpanTemplates {
  private readonly names = new Map<string, SpanNames>();
  private readonly sends = new Map<string, SpanAttributes>();
  private readonly attempts = new Map<string, SpanAttributes>();

  /** @param system the `messaging.system` attribute: `redis` or `memory` */
  constructor(private readonly system: string) {}

  spanNames(event: string): SpanNames {
    let names = this.names.get(event);
    if (names === undefined) {
      names = { send: `send ${event}`, process: `process ${event}` };
      if (this.names.size < MAX_CACHED) this.names.set(event, names);
    }
    return names;
  }

  /** A PRODUCER span's: `distinct` are the queues of `count` jobs, without repeats. */
  send(distinct: readonly string[], count: number): SpanAttributes {
    const isShared = distinct.length === 1 && count === 1;
    const cached = isShared ? this.sends.get(distinct[0]) : undefined;
    if (cached !== undefined) return cached;
    // The conventions: a batch count only on an operation on several messages, a destination
    // name only when they all go to one.
    const made: Record<string, string | number> = {
      'messaging.system': this.system,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
    };
    if (count > 1) made['messaging.batch.message_count'] = count;
    if (distinct.length === 1) made['messaging.destination.name'] = distinct[0];
    Object.freeze(made);
    if (isShared && this.sends.size < MAX_CACHED) this.sends.set(distinct[0], made);
    return made;
  }

  /** A CONSUMER span's, for one attempt of `listener` on `queue`. */
  attempt(queue: string, listener: string): SpanAttributes {
    const cached = this.attempts.get(listener);
    if (cached !== undefined && cached['messaging.destination.name'] === queue) return cached;
    const made = Object.freeze({
      'messaging.system': this.system,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': queue,
      'nestjs_events.listener': listener,
    });
    // A listener renamed or moved to another queue: the newer one is kept.
    if (cached !== undefined || this.attempts.size < MAX_CACHED) this.attempts.set(listener, made);
    return made;
  }
}
