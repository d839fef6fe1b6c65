import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { EventContext } from '../event/event-context.js';
import { createEventId } from '../event/event-id.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { EVENT_TRACER, type EventTracer } from '../tracing/event-tracer.js';

/** A correlation id taken from a request: visible ASCII, no spaces, at most 200 characters. */
const CORRELATION_ID = /^[\x21-\x7e]{1,200}$/;

interface HttpRequest {
  readonly headers: Readonly<Record<string, unknown>>;
}

/** Express (`setHeader`) and Fastify (`header`) responses. */
interface HttpResponse {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/**
 * Starts the event context of every HTTP request with its correlation id: the request's
 * `X-Correlation-ID` (the `correlation.header` option), or a new id when it has none (or one that
 * is not visible ASCII of at most 200 characters). The id is echoed in the response header, and
 * every event emitted while handling the request, every job and every follow-up event carries it
 * as `metadata.correlationId`. With tracing on, the request's W3C `traceparent`/`tracestate` join
 * the context too: the emits' spans continue the caller's trace (an active span, from an HTTP
 * instrumentation, is preferred).
 *
 * @example
 * @Module({
 *   imports: [EventsModule.forRoot({ correlation: { header: 'X-Request-ID' } })],
 *   providers: [{ provide: APP_INTERCEPTOR, useClass: EventCorrelationInterceptor }],
 * })
 * export class AppModule {}
 */
@Injectable()
export class EventCorrelationInterceptor implements NestInterceptor {
  private readonly header: string;
  private readonly requestHeader: string;

  constructor(
    @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions,
    @Optional() @Inject(EVENT_TRACER) private readonly tracer: EventTracer | null = null,
  ) {
    this.header = options.correlation.header;
    // Node lowercases the names of incoming headers.
    this.requestHeader = this.header.toLowerCase();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const response = http.getResponse<HttpResponse>();
    const correlationId = this.correlationIdOf(request.headers[this.requestHeader]);
    if (typeof response.setHeader === 'function') response.setHeader(this.header, correlationId);
    else response.header?.(this.header, correlationId);
    const metadata = { ...this.tracer?.incoming(request.headers), correlationId };
    // Subscribed inside the context: the handler (run on subscription) and all it awaits see it.
    return new Observable((subscriber) =>
      EventContext.run(metadata, () => next.handle().subscribe(subscriber)),
    );
  }

  private correlationIdOf(value: unknown): string {
    const given = Array.isArray(value) ? (value as unknown[])[0] : value;
    return typeof given === 'string' && CORRELATION_ID.test(given) ? given : createEventId();
  }
}
