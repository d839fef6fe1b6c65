import { EventsError } from './events.error.js';

/**
 * `EventsClient.send` (request-response) was called: events are one-way and durable, and a reply
 * over them would be neither. Use `emit`, or a request-response transport for `@MessagePattern`.
 */
export class UnsupportedRequestError extends EventsError {
  constructor(readonly pattern: string) {
    super(
      'EVENTS_UNSUPPORTED_REQUEST',
      `EventsClient.send("${pattern}") is not supported: the events transport carries one-way, durable events. ` +
        'Use emit() for @EventPattern handlers and queued listeners, and a request-response transport (TCP, NATS, ...) for @MessagePattern.',
    );
  }
}
